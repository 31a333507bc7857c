import { closeQuietly } from '../../sys/fd';

/**
 * When one output copy is done, for a pipe's and a terminal's stdio alike: once `to` has closed
 * (everything written) or failed. A read error ends `to`, so what was read is still written
 * (EIO on a pty master is its slave gone: EOF). The caller pipes `from` into `to` when it chooses.
 */
export function copied(from: NodeJS.EventEmitter, to: NodeJS.WritableStream): Promise<void> {
  return new Promise<void>((resolve) => {
    to.on('close', () => resolve());
    to.on('error', () => resolve());
    from.on('error', () => to.end());
  });
}

/**
 * The teardown of a process's stdio, shared by both kinds: the keeper of the stdin FIFO (our own
 * writer, fifo.ts openInputFifo) closed at CloseIO or at the end, and a close that runs once.
 */
export class StdioLife {
  private stdinKeeper: number | null = null;
  private closed = false;

  get isClosed(): boolean {
    return this.closed;
  }

  keepStdin(fd: number): void {
    this.stdinKeeper = fd;
  }

  /** CloseIO: stdin reaches EOF once containerd's writer is done too. Idempotent. */
  closeStdin(): void {
    closeQuietly(this.stdinKeeper);
    this.stdinKeeper = null;
  }

  /** Runs `teardown` the first time only, after stdin's keeper is closed. */
  close(teardown: () => void): void {
    if (this.closed) return;
    this.closed = true;
    this.closeStdin();
    teardown();
  }
}
