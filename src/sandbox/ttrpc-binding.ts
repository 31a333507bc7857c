import { invalidArgument } from '../errors';
import { decode, encode } from '../proto';
import type { CallContext } from '../ttrpc/services';
import type { SandboxService } from './service';

/** The Sandbox service's name on the wire (api@v1.11.1 runtime/sandbox/v1/sandbox.proto). */
export const SANDBOX_SERVICE = 'containerd.runtime.sandbox.v1.Sandbox';

const P = 'containerd.runtime.sandbox.v1.';

type Method = 'createSandbox' | 'startSandbox' | 'platform' | 'stopSandbox' | 'waitSandbox' | 'sandboxStatus' | 'pingSandbox' | 'shutdownSandbox' | 'sandboxMetrics';

/** rpc name -> [request type, response type, service method] (sandbox.proto's service Sandbox). */
const methods: Record<string, [string, string, Method]> = {
  CreateSandbox: ['CreateSandboxRequest', 'CreateSandboxResponse', 'createSandbox'],
  StartSandbox: ['StartSandboxRequest', 'StartSandboxResponse', 'startSandbox'],
  Platform: ['PlatformRequest', 'PlatformResponse', 'platform'],
  StopSandbox: ['StopSandboxRequest', 'StopSandboxResponse', 'stopSandbox'],
  WaitSandbox: ['WaitSandboxRequest', 'WaitSandboxResponse', 'waitSandbox'],
  SandboxStatus: ['SandboxStatusRequest', 'SandboxStatusResponse', 'sandboxStatus'],
  PingSandbox: ['PingRequest', 'PingResponse', 'pingSandbox'],
  ShutdownSandbox: ['ShutdownSandboxRequest', 'ShutdownSandboxResponse', 'shutdownSandbox'],
  SandboxMetrics: ['SandboxMetricsRequest', 'SandboxMetricsResponse', 'sandboxMetrics'],
};

/** Handlers for the ttrpc registry: bytes in, bytes out; errors stay ShimError values. */
export function sandboxHandlers(service: SandboxService): Record<string, (payload: Buffer, ctx?: CallContext) => Promise<Buffer>> {
  const out: Record<string, (payload: Buffer, ctx?: CallContext) => Promise<Buffer>> = {};
  for (const [rpc, [reqType, resType, method]] of Object.entries(methods)) {
    out[rpc] = async (payload: Buffer) => {
      let req: object;
      try {
        req = decode(P + reqType, payload);
      } catch (err) {
        throw invalidArgument(`${rpc}: request is not a valid ${P + reqType}: ${(err as Error).message}`);
      }
      const res = await (service[method] as (r: object) => Promise<object>).call(service, req);
      return encode(P + resType, res ?? {});
    };
  }
  return out;
}
