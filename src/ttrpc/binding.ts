import { invalidArgument, unimplemented } from '../errors';
import { decode, encode } from '../proto';
import type { CallContext, Handler } from './services';

/** rpc name -> [request type, response type (full proto names), service method; null answers Unimplemented]. */
export type RpcTable<M extends string> = Record<string, readonly [request: string, response: string, method: M | null]>;

/** A service method as the binding calls it: the decoded request and the call's signal. */
type Method = (request: object, signal: AbortSignal) => Promise<object | undefined>;

/**
 * A service's handlers for the registry (services.ts), from its rpc table: bytes in, bytes out.
 * Each decodes its request (bytes that are not the type are InvalidArgument naming it), calls the
 * method with the request and the call's AbortSignal (aborted at the call's deadline or when its
 * connection closes), and encodes the answer; errors stay ShimError values for the registry.
 */
export function bindService<S extends object>(service: S, rpcs: RpcTable<keyof S & string>): Record<string, Handler> {
  const out: Record<string, Handler> = {};
  for (const [rpc, [reqType, resType, method]] of Object.entries(rpcs)) {
    out[rpc] = async (payload: Buffer, ctx: CallContext) => {
      if (!method) throw unimplemented(`${rpc} is not implemented by containerd-shim-rx yet`);
      let req: object;
      try {
        req = decode(reqType, payload);
      } catch (err) {
        throw invalidArgument(`${rpc}: request is not a valid ${reqType}: ${(err as Error).message}`);
      }
      const res = await (service[method] as Method).call(service, req, ctx.signal);
      return encode(resType, res ?? {});
    };
  }
  return out;
}
