import { bindService, type RpcTable } from '../ttrpc/binding';
import type { Handler } from '../ttrpc/services';
import type { SandboxService } from './service';

/** The Sandbox service's name on the wire (api@v1.11.1 runtime/sandbox/v1/sandbox.proto). */
export const SANDBOX_SERVICE = 'containerd.runtime.sandbox.v1.Sandbox';

const P = 'containerd.runtime.sandbox.v1.';

/** sandbox.proto's service Sandbox: rpc -> SandboxService method. */
const methods: Record<string, keyof SandboxService & string> = {
  CreateSandbox: 'createSandbox',
  StartSandbox: 'startSandbox',
  Platform: 'platform',
  StopSandbox: 'stopSandbox',
  WaitSandbox: 'waitSandbox',
  SandboxStatus: 'sandboxStatus',
  PingSandbox: 'pingSandbox',
  ShutdownSandbox: 'shutdownSandbox',
  SandboxMetrics: 'sandboxMetrics',
};

/** Each rpc's messages are <rpc>Request and <rpc>Response, but PingSandbox's: PingRequest, PingResponse. */
const messages = (rpc: string) => P + (rpc === 'PingSandbox' ? 'Ping' : rpc);

const rpcs: RpcTable<keyof SandboxService & string> = Object.fromEntries(
  Object.entries(methods).map(([rpc, method]) => [rpc, [`${messages(rpc)}Request`, `${messages(rpc)}Response`, method] as const]),
);

/** The ttrpc binding of the sandbox service: its handlers, each handing the call's signal to the method. */
export function sandboxHandlers(service: SandboxService): Record<string, Handler> {
  return bindService(service, rpcs);
}
