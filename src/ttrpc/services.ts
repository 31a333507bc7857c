import { Code, toStatus, ShimError } from '../errors';
import type { Request, Status } from './wire';

export interface CallContext {
  service: string;
  method: string;
  metadata: Map<string, string[]>;
  /** ms since the epoch, when the caller set timeout_nano. */
  deadline?: number;
  /** Aborted at the deadline, or when the caller's connection goes away. */
  signal: AbortSignal;
}

export type Handler = (payload: Buffer, ctx: CallContext) => Promise<Buffer>;

/**
 * service name -> method name -> handler (containerd/ttrpc services.go). The one place a
 * handler's error becomes a status, through src/errors.ts toStatus.
 */
export class ServiceRegistry {
  private readonly services = new Map<string, Map<string, Handler>>();

  register(service: string, methods: Record<string, Handler>): void {
    if (this.services.has(service)) throw new Error(`duplicate service ${service} registered`);
    this.services.set(service, new Map(Object.entries(methods)));
  }

  async dispatch(req: Request, signal: AbortSignal): Promise<{ status: Status; payload: Buffer }> {
    const methods = this.services.get(req.service);
    if (!methods) return fail(Code.Unimplemented, `service ${req.service} not found`);
    const handler = methods.get(req.method);
    if (!handler) return fail(Code.Unimplemented, `method ${req.method} not found`);

    const metadata = new Map<string, string[]>();
    for (const [k, v] of req.metadata) metadata.set(k, [...(metadata.get(k) ?? []), v]);
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const ctx: CallContext = { service: req.service, method: req.method, metadata, signal: controller.signal };
    const calls: Array<Promise<Buffer>> = [handler(req.payload, ctx)];
    if (req.timeoutNano > 0) {
      const ms = Math.max(1, Math.ceil(req.timeoutNano / 1e6));
      ctx.deadline = Date.now() + ms;
      calls.push(
        new Promise<Buffer>((_, reject) => {
          timer = setTimeout(() => {
            const err = new ShimError('DeadlineExceeded', `${req.service}/${req.method}: context deadline exceeded`);
            controller.abort(err);
            reject(err);
          }, ms);
        }),
      );
    }
    try {
      const payload = await Promise.race(calls);
      return { status: { code: Code.OK, message: '' }, payload };
    } catch (err) {
      const s = toStatus(err);
      return { status: s, payload: Buffer.alloc(0) };
    } finally {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }
}

function fail(code: number, message: string) {
  return { status: { code, message }, payload: Buffer.alloc(0) };
}
