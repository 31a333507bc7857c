import { Code, ShimError, toStatus } from '../errors';
import { within } from '../deadline';
import type { Request, Status } from './wire';

export interface CallContext {
  service: string;
  method: string;
  /** The request's metadata; a key sent more than once keeps every value, in order. */
  metadata: Map<string, string[]>;
  /** ms since the epoch, when the caller set timeout_nano. */
  deadline?: number;
  /** Aborted at the deadline (reason: a DeadlineExceeded ShimError), or when the caller goes away. */
  signal: AbortSignal;
}

export type Handler = (payload: Buffer, ctx: CallContext) => Promise<Buffer>;

export interface DispatchResult {
  status: Status;
  payload: Buffer;
}

const OK: Status = { code: Code.OK, message: '' };
const EMPTY = Buffer.alloc(0);

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

  /**
   * Runs one request to its status. Never rejects. `callerGone` is the connection's signal:
   * when it aborts, so does the handler's.
   */
  async dispatch(req: Request, callerGone?: AbortSignal): Promise<DispatchResult> {
    const handler = this.services.get(req.service)?.get(req.method);
    // Go says "service X" / "method Y" (services.go resolve); "not found" makes the log line read.
    if (!this.services.has(req.service)) return failed(Code.Unimplemented, `service ${req.service} not found`);
    if (!handler) return failed(Code.Unimplemented, `method ${req.method} not found`);

    const controller = new AbortController();
    const onGone = () => controller.abort(callerGone?.reason);
    if (callerGone?.aborted) onGone();
    else callerGone?.addEventListener('abort', onGone, { once: true });

    const ctx: CallContext = { service: req.service, method: req.method, metadata: metadataOf(req), signal: controller.signal };
    // timeout_nano: 0 is none; a negative one has already passed (Go's context.WithTimeout).
    const budgetMs = req.timeoutNano === 0 ? null : Math.max(0, Math.ceil(req.timeoutNano / 1e6));
    if (budgetMs !== null) ctx.deadline = Date.now() + budgetMs;
    try {
      // Called inside the try: a handler that throws before returning its promise is still a status.
      const answer = Promise.resolve().then(() => handler(req.payload, ctx));
      if (budgetMs !== null && (await within(answer, budgetMs)) === 'missed') {
        // The handler runs on with its signal aborted (its runc is killed); the caller is answered now.
        const err = new ShimError('DeadlineExceeded', `${req.service}/${req.method}: context deadline exceeded`);
        controller.abort(err);
        return { status: toStatus(err), payload: EMPTY };
      }
      const payload = await answer;
      if (payload == null) return failed(Code.Internal, 'ttrpc: marshal called with nil');
      return { status: OK, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload as Uint8Array) };
    } catch (err) {
      return { status: toStatus(err), payload: EMPTY };
    } finally {
      callerGone?.removeEventListener('abort', onGone);
    }
  }
}

function metadataOf(req: Request): Map<string, string[]> {
  const md = new Map<string, string[]>();
  for (const [k, v] of req.metadata) {
    const values = md.get(k);
    if (values) values.push(v);
    else md.set(k, [v]);
  }
  return md;
}

function failed(code: number, message: string): DispatchResult {
  return { status: { code, message }, payload: EMPTY };
}
