import { constants, createWriteStream, fchownSync, openSync, statSync } from 'node:fs';
import net from 'node:net';
import { internal, notFound, unimplemented } from '../../errors';
import { closeQuietly } from '../../sys/fd';
import { pipe } from '../../sys/pipe';
import { startLoggingBinary } from './binary-logger';
import { copied, StdioLife } from './copy';
import { openInputFifo, openOutputFifo } from './fifo';
import { parseStdioUri, type Stdio } from './stdio';

/** The stdio of one process: the fds runc hands to it, and the copiers between them and containerd. */
export interface ProcessIO {
  /** fds for runc's (and so the container's) 0, 1, 2; null = /dev/null. */
  readonly runcStdio: [number | null, number | null, number | null];
  /** Close our copies of the container's pipe ends, once runc has them. Idempotent. */
  afterSpawn(): void;
  /** CloseIO: let stdin reach EOF once containerd's writer is done too. */
  closeStdin(): void;
  /**
   * Start copying stdout and stderr out, once runc has succeeded (as Go's Init.Create and
   * execProcess.start call pio.Copy only then): what a failed runc wrote to the process's
   * stderr is its error, returned to the caller, never copied into the process's output.
   */
  startCopy(): void;
  /** Resolves when stdout and stderr have been copied out to the end. */
  wait(): Promise<void>;
  /** Tear everything down; idempotent; never throws. */
  close(): void;
}

const { O_WRONLY, O_APPEND, O_CREAT, O_CLOEXEC } = constants as typeof constants & { O_CLOEXEC: number };


/**
 * Open the process's stdio as the Go shim does (pkg/process/io.go copyPipes), on real pipes,
 * without blocking a thread: every FIFO is opened as fifo.ts says and driven by a libuv pipe
 * handle.
 */
export async function openProcessIO(
  stdio: Stdio,
  /** deferCopy: stdout and stderr are copied out only from startCopy() on. */
  opts: { uid?: number; gid?: number; id?: string; namespace?: string; deferCopy?: boolean } = {},
): Promise<ProcessIO> {
  if (stdio.terminal) throw unimplemented('terminal stdio (runc --console-socket) is not implemented yet');
  const toClose: number[] = []; // container ends, closed after spawn
  const handles: Array<{ destroy(): void }> = [];
  const keep: number[] = []; // our extra fifo fds, closed at the end
  /** fds opened but not yet owned by a handle: closed here if opening fails half way. */
  const loose = new Set<number>();
  const copies: Promise<void>[] = [];
  const startCopies: Array<() => void> = [];
  const life = new StdioLife();
  const runcStdio: [number | null, number | null, number | null] = [null, null, null];
  const chown = (fd: number) => {
    if (opts.uid || opts.gid) fchownSync(fd, opts.uid ?? 0, opts.gid ?? 0);
  };
  const pipePair = () => {
    const [r, w] = pipe();
    loose.add(r);
    loose.add(w);
    return [r, w];
  };
  const open = (stream: string, file: string, flags: number) => {
    const fd = openStdio(stream, file, flags);
    loose.add(fd);
    return fd;
  };
  /** Hand an fd to a libuv pipe handle, which closes it from now on. */
  const socket = (fd: number, dir: 'read' | 'write') => {
    const sock = new net.Socket({ fd, readable: dir === 'read', writable: dir === 'write' });
    loose.delete(fd);
    handles.push(sock);
    return sock;
  };
  /** A raw fd we keep and close ourselves. */
  const own = (fd: number, list: number[]) => {
    loose.delete(fd);
    list.push(fd);
    return fd;
  };

  try {
    // stdin
    const stdinTarget = parseStdioUri(stdio.stdin);
    if (stdinTarget.kind === 'fifo') {
      const [r, w] = pipePair();
      chown(r);
      runcStdio[0] = own(r, toClose);
      const fifo = openInputFifo(stdinTarget.path, (file, flags) => open('stdin', file, flags));
      const fifoIn = fifo.reader;
      life.keepStdin(fifo.keeper);
      loose.delete(fifo.keeper);
      const from = socket(fifoIn, 'read');
      const to = socket(w, 'write');
      from.on('error', () => to.end());
      to.on('error', () => from.destroy());
      from.pipe(to);
    } else if (stdinTarget.kind !== 'none') {
      throw unimplemented(`stdin ${JSON.stringify(stdio.stdin)}: only a FIFO can be stdin`);
    }

    // stdout, stderr
    const outTarget = parseStdioUri(stdio.stdout);
    if (outTarget.kind === 'binary') {
      const logger = await startLoggingBinary(outTarget, opts.id ?? '', opts.namespace ?? '');
      runcStdio[1] = logger.stdout;
      runcStdio[2] = logger.stderr;
      toClose.push(logger.stdout, logger.stderr);
      handles.push({ destroy: () => logger.stop() });
      copies.push(logger.exited);
    }
    for (const [n, name, value] of [[1, 'stdout', stdio.stdout], [2, 'stderr', stdio.stderr]] as const) {
      const target = parseStdioUri(value);
      if (target.kind === 'none' || outTarget.kind === 'binary') continue;
      if (target.kind === 'binary') throw unimplemented(`stdio ${JSON.stringify(value)}: a logging binary must take stdout and stderr together`);
      const [r, w] = pipePair();
      chown(w);
      runcStdio[n] = own(w, toClose);
      let to: NodeJS.WritableStream & { destroy(): void };
      if (target.kind === 'fifo' && isFifo(name, target.path)) {
        const fifo = openOutputFifo(target.path, (file, flags) => open(name, file, flags));
        own(fifo.keeper, keep);
        to = socket(fifo.writer, 'write');
      } else {
        // file://, or a plain path that is not a FIFO: append, as copyPipes does for a non-fifo.
        const flags = O_WRONLY | O_APPEND | O_CLOEXEC | (target.kind === 'file' ? O_CREAT : 0);
        const fd = open(name, target.path, flags);
        to = createWriteStream('', { fd });
        loose.delete(fd);
        handles.push(to);
      }
      const from = socket(r, 'read');
      copies.push(copied(from, to));
      to.on('error', () => from.destroy());
      if (opts.deferCopy) startCopies.push(() => from.pipe(to));
      else from.pipe(to);
    }
  } catch (err) {
    toClose.forEach(closeQuietly);
    keep.forEach(closeQuietly);
    loose.forEach(closeQuietly);
    life.closeStdin();
    handles.forEach((h) => h.destroy());
    throw err;
  }

  let spawned = false;
  const drained = Promise.all(copies).then(() => undefined);
  const io: ProcessIO = {
    runcStdio,
    afterSpawn() {
      if (spawned) return;
      spawned = true;
      toClose.forEach(closeQuietly);
    },
    closeStdin: () => life.closeStdin(),
    startCopy() {
      for (const start of startCopies.splice(0)) start();
    },
    wait: () => drained,
    close: () =>
      life.close(() => {
        io.afterSpawn();
        handles.forEach((h) => h.destroy());
        keep.forEach(closeQuietly);
      }),
  };
  return io;
}

/** Open one of the process's stdio paths; a failure names the stream and the path. */
function openStdio(stream: string, file: string, flags: number): number {
  try {
    return openSync(file, flags, 0o600);
  } catch (err) {
    throw stdioError(stream, file, err);
  }
}

/** containerd's copyPipes asks fifo.IsFifo: a plain path that is a regular file is appended to. */
function isFifo(stream: string, file: string): boolean {
  try {
    return statSync(file).isFIFO();
  } catch (err) {
    throw stdioError(stream, file, err);
  }
}

function stdioError(stream: string, file: string, err: unknown) {
  const e = err as NodeJS.ErrnoException;
  const message = `opening ${stream} ${file}: ${e.code ?? e.message}`;
  return e.code === 'ENOENT' ? notFound(message) : internal(message, err);
}
