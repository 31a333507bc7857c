/**
 * Structured logs (pino JSON). The serving process writes them to the bundle's `log` fifo, which
 * containerd copies into its own log; every other path logs to stderr.
 */
import { writeSync } from 'node:fs';
import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Where log lines go: one non-blocking write each, straight to the fd. The reader of the log
 * fifo is containerd, and containerd restarts. While it is away a write meets EPIPE, and each
 * such write raises SIGPIPE, which a tapped signals$ logs — a loop, if every line were written
 * at once. So after EPIPE lines are held (the last `keep` of them) and tried again once per
 * `retryMs` on a timer; when a new containerd opens the fifo they reach it, in order. Lines
 * beyond `keep`, and lines a slow reader has no room for (EAGAIN), are dropped and counted.
 * (pino's own destination gives up for good after an error.)
 */
export class LogSink {
  dropped = 0;
  private held: string[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly fd: number,
    private readonly retryMs = 1000,
    private readonly writeFd: (fd: number, line: string) => unknown = writeSync,
    private readonly keep = 1000,
  ) {}

  write(line: string): boolean {
    if (this.timer) {
      this.hold(line);
      return true;
    }
    this.held.push(line);
    this.flush();
    return true;
  }

  flush(cb?: (err?: Error) => void): void {
    while (this.held.length > 0) {
      try {
        this.writeFd(this.fd, this.held[0]);
        this.held.shift();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EPIPE') {
          this.timer ??= setTimeout(() => {
            this.timer = undefined;
            this.flush();
          }, this.retryMs).unref();
          break;
        }
        this.held.shift();
        this.dropped++;
      }
    }
    cb?.();
  }

  /** Lines waiting for a reader. */
  get waiting(): number {
    return this.held.length;
  }

  private hold(line: string): void {
    this.held.push(line);
    if (this.held.length > this.keep) {
      this.held.shift();
      this.dropped++;
    }
  }
}

export function createLogger(opts: { fd?: number; debug?: boolean; bindings?: Record<string, unknown> } = {}): Logger {
  const sink = new LogSink(opts.fd ?? 2);
  return pino({ level: opts.debug ? 'debug' : 'info', base: { pid: process.pid, ...opts.bindings } }, sink);
}

/** A logger that drops everything, for tests and for paths that must stay silent. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
