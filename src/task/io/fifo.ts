import { constants, openSync } from 'node:fs';

const { O_RDONLY, O_WRONLY, O_NONBLOCK } = constants;
const O_CLOEXEC = 0o2000000;
const READ = O_RDONLY | O_NONBLOCK | O_CLOEXEC;
const WRITE = O_WRONLY | O_NONBLOCK | O_CLOEXEC;

/** How a caller opens a path (its own error wording and fd bookkeeping); flags come from here. */
export type Opener = (path: string, flags: number) => number;
const plain: Opener = (path, flags) => openSync(path, flags);

/**
 * A FIFO containerd reads the container's output from (pkg/process copyPipes). A reader of our
 * own is opened first, so the non-blocking writer opens even before containerd's reader, and a
 * reader that comes and goes never gets us EPIPE. Both non-blocking: no thread-pool thread held.
 */
export function openOutputFifo(path: string, open: Opener = plain): { keeper: number; writer: number } {
  const keeper = open(path, READ);
  return { keeper, writer: open(path, WRITE) };
}

/**
 * A FIFO containerd writes the container's input to. A writer of our own (the keeper) is opened
 * after the reader, so EOF reaches the container only when containerd's writer is done AND
 * CloseIO closed ours: nothing still buffered is cut off.
 */
export function openInputFifo(path: string, open: Opener = plain): { reader: number; keeper: number } {
  const reader = open(path, READ);
  return { reader, keeper: open(path, WRITE) };
}
