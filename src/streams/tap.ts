import { type MonoTypeOperatorFunction, tap } from 'rxjs';
import type { Logger } from '../log';

/**
 * Which named streams are tapped into the log: RX_TAP=signals,exits,... names them, `all` or
 * -debug taps every one. Tapping is how a lifecycle is debugged: one line per event.
 */
export class Taps {
  private readonly names: Set<string>;
  private readonly all: boolean;

  constructor(spec: string | undefined, debug: boolean, private readonly log: Logger) {
    this.names = new Set((spec ?? '').split(',').map((s) => s.trim()).filter(Boolean));
    this.all = debug || this.names.has('all');
  }

  enabled(name: string): boolean {
    return this.all || this.names.has(name);
  }

  /** An operator that logs every value (and the end) of the stream `name` when it is tapped. */
  tap<T>(name: string): MonoTypeOperatorFunction<T> {
    if (!this.enabled(name)) return (source) => source;
    const log = this.log;
    return tap({
      next: (value) => log.info({ stream: name, event: 'next', value: printable(value) }, `${name}$ next`),
      error: (err) => log.info({ stream: name, event: 'error', err: String(err) }, `${name}$ error`),
      complete: () => log.info({ stream: name, event: 'complete' }, `${name}$ complete`),
    });
  }
}

function printable(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = Buffer.isBuffer(v) ? `<${v.length} bytes>` : v;
    return out;
  }
  return value;
}
