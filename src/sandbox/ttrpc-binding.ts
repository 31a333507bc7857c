import { bindService, type RpcTable } from '../ttrpc/binding';
import type { Handler } from '../ttrpc/services';
import type { SandboxService } from './service';

/** The Sandbox service's name on the wire (api@v1.11.1 runtime/sandbox/v1/sandbox.proto). */
export const SANDBOX_SERVICE = 'containerd.runtime.sandbox.v1.Sandbox';

const P = 'containerd.runtime.sandbox.v1.';

/** sandbox.proto's service Sandbox: rpc -> [request, response, SandboxService method]. */
const rpcs: RpcTable<keyof SandboxService & string> = {
  CreateSandbox: [P + 'CreateSandboxRequest', P + 'CreateSandboxResponse', 'createSandbox'],
  StartSandbox: [P + 'StartSandboxRequest', P + 'StartSandboxResponse', 'startSandbox'],
  Platform: [P + 'PlatformRequest', P + 'PlatformResponse', 'platform'],
  StopSandbox: [P + 'StopSandboxRequest', P + 'StopSandboxResponse', 'stopSandbox'],
  WaitSandbox: [P + 'WaitSandboxRequest', P + 'WaitSandboxResponse', 'waitSandbox'],
  SandboxStatus: [P + 'SandboxStatusRequest', P + 'SandboxStatusResponse', 'sandboxStatus'],
  PingSandbox: [P + 'PingRequest', P + 'PingResponse', 'pingSandbox'],
  ShutdownSandbox: [P + 'ShutdownSandboxRequest', P + 'ShutdownSandboxResponse', 'shutdownSandbox'],
  SandboxMetrics: [P + 'SandboxMetricsRequest', P + 'SandboxMetricsResponse', 'sandboxMetrics'],
};

/** The ttrpc binding of the sandbox service: its handlers, each handing the call's signal to the method. */
export function sandboxHandlers(service: SandboxService): Record<string, Handler> {
  return bindService(service, rpcs);
}
