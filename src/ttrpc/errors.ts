import { ShimError } from '../errors';

/**
 * The one error for a connection that is gone — EOF, EPIPE, ECONNRESET, refused, or closed by
 * us — as Go ttrpc's ErrClosed (client.go filterCloseErr). Kind Unavailable. It is the only
 * error that makes a client (the publisher) reconnect.
 */
export class ConnectionClosedError extends ShimError {
  constructor(detail?: string) {
    super('Unavailable', detail ? `ttrpc: closed: ${detail}` : 'ttrpc: closed');
    this.name = 'ConnectionClosedError';
  }
}
