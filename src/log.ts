/**
 * Structured logs (pino JSON). The serving process writes them to the bundle's `log` fifo, which
 * containerd copies into its own log; every other path logs to stderr.
 */
import { writeSync } from 'node:fs';
import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Where log lines go: one non-blocking write each, straight to the fd. The reader of the log
 * fifo is containerd, and containerd restarts: while it is away a write meets EPIPE (or EAGAIN
 * when the pipe is full) and that line is dropped and counted; when a new containerd opens the
 * fifo again, the same fd reaches it. (pino's own destination gives up for good after an error.)
 */
export class LogSink {
  dropped = 0;
  /** After EPIPE, no write is tried before this time (ms): see write(). */
  private quietUntil = 0;

  constructor(
    private readonly fd: number,
    private readonly retryMs = 1000,
    private readonly now: () => number = Date.now,
    private readonly writeFd: (fd: number, line: string) => unknown = writeSync,
  ) {}

  write(line: string): boolean {
    // Each write to a fifo nobody reads raises SIGPIPE, and a tapped signals$ logs that signal:
    // without a pause the two feed each other and the event loop never gets out. So after EPIPE
    // lines are dropped without a syscall until the next try, once a second.
    if (this.now() < this.quietUntil) {
      this.dropped++;
      return true;
    }
    try {
      this.writeFd(this.fd, line);
    } catch (err) {
      this.dropped++;
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') this.quietUntil = this.now() + this.retryMs;
    }
    return true;
  }

  flush(cb?: (err?: Error) => void): void {
    cb?.();
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
