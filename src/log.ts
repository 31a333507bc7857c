/**
 * Structured logs (pino JSON). The serving process writes them to the bundle's `log` fifo, which
 * containerd copies into its own log; every other path logs to stderr.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(opts: { fd?: number; debug?: boolean; bindings?: Record<string, unknown> } = {}): Logger {
  const dest = pino.destination({ fd: opts.fd ?? 2, sync: false });
  // A reader that went away (EPIPE on the log fifo) must not take the shim down with it.
  dest.on('error', () => {});
  return pino({ level: opts.debug ? 'debug' : 'info', base: { pid: process.pid, ...opts.bindings } }, dest);
}

/** A logger that drops everything, for tests and for paths that must stay silent. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
