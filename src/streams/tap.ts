import { type MonoTypeOperatorFunction, tap } from 'rxjs';
import type { Logger } from '../log';

/** Where every tapped value also goes, whether the log taps it or not (the debug hub). */
export type TapSink = (name: string, value: unknown) => void;

/**
 * Which named streams are tapped into the log: RX_TAP=signals,exits,... names them, `all` or
 * -debug taps every one. Tapping is how a lifecycle is debugged: one line per event. With a
 * sink, every stream is tapped into it too, so a debug socket can watch one live without a
 * restart (the sink decides what it keeps).
 */
export class Taps {
  private readonly names: Set<string>;
  private readonly all: boolean;

  constructor(spec: string | undefined, debug: boolean, private readonly log: Logger, private readonly sink?: TapSink) {
    this.names = new Set((spec ?? '').split(',').map((s) => s.trim()).filter(Boolean));
    this.all = debug || this.names.has('all');
  }

  enabled(name: string): boolean {
    return this.all || this.names.has(name);
  }

  /** An operator that logs every value (and the end) of the stream `name` when it is tapped. */
  tap<T>(name: string): MonoTypeOperatorFunction<T> {
    const logged = this.enabled(name);
    const sink = this.sink;
    if (!logged && !sink) return (source) => source;
    const log = this.log;
    return tap({
      next: (value) => {
        if (logged) log.info({ stream: name, event: 'next', value: printable(value) }, `${name}$ next`);
        sink?.(name, value);
      },
      error: (err) => logged && log.info({ stream: name, event: 'error', err: String(err) }, `${name}$ error`),
      complete: () => logged && log.info({ stream: name, event: 'complete' }, `${name}$ complete`),
    });
  }
}

/** Buffers as their length: a tap shows that bytes passed, never the bytes (stdin, secrets). */
export function printable(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = Buffer.isBuffer(v) ? `<${v.length} bytes>` : v;
    return out;
  }
  return value;
}
