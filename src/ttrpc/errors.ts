import { ShimError } from '../errors';

/**
 * The one error for a connection that is gone — EOF, EPIPE, ECONNRESET, or closed by us —
 * as Go ttrpc's ErrClosed. It is the only error that makes a client (the publisher) reconnect.
 */
export class ConnectionClosedError extends ShimError {
  constructor(detail?: string) {
    super('Unavailable', detail ? `ttrpc: closed: ${detail}` : 'ttrpc: closed');
    this.name = 'ConnectionClosedError';
  }
}

const closeCodes = new Set(['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ENOENT', 'ENOTCONN', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

export function isCloseError(err: unknown): boolean {
  return !!err && typeof err === 'object' && closeCodes.has((err as { code?: string }).code ?? '');
}
