import { closeQuietly } from '../../sys/fd';
import net from 'node:net';
import tty from 'node:tty';
import { dup, listenConsoleSocket, setWinsize } from '../../sys/console';
import { copied, StdioLife } from './copy';
import { openInputFifo, openOutputFifo } from './fifo';
import { parseStdioUri, type Stdio } from './stdio';
import { invalidArgument } from '../../errors';

export interface ConsoleIO {
  /** Path to pass as runc --console-socket. */
  readonly consoleSocket: string;
  /** After runc create/exec returned: take the pty master and start copying. */
  attach(): Promise<void>;
  resize(width: number, height: number): void;
  closeStdin(): void;
  wait(): Promise<void>;
  close(): void;
}


/**
 * A terminal process's stdio: runc makes the pty and sends us its master; we copy master ->
 * stdout FIFO and stdin FIFO -> master (pkg/process's console copy). The master is read by a
 * tty.ReadStream and written through a dup by a tty.WriteStream: two libuv handles never share
 * an fd. EIO on read means the slave side closed: that is EOF.
 */
export async function openConsoleIO(stdio: Stdio): Promise<ConsoleIO> {
  const out = parseStdioUri(stdio.stdout);
  const inp = parseStdioUri(stdio.stdin);
  if ((out.kind !== 'fifo' && out.kind !== 'none') || (inp.kind !== 'fifo' && inp.kind !== 'none')) {
    throw invalidArgument(`terminal stdio must be FIFOs, got stdout ${JSON.stringify(stdio.stdout)}, stdin ${JSON.stringify(stdio.stdin)}`);
  }
  const socket = await listenConsoleSocket();
  const handles: Array<{ destroy(): void }> = [];
  const fds: number[] = [];
  const life = new StdioLife();
  let master = -1;
  /** Our own dup of the master for ioctls: the ReadStream closes the master itself at EOF. */
  let control = -1;
  let drained: Promise<void> = Promise.resolve();

  const io: ConsoleIO = {
    consoleSocket: socket.path,
    async attach() {
      try {
        master = await socket.receive();
      } finally {
        socket.close();
      }
      control = dup(master);
      fds.push(master, control);
      const reader = new tty.ReadStream(master);
      handles.push(reader);
      if (out.kind === 'fifo') {
        const fifo = openOutputFifo(out.path);
        fds.push(fifo.keeper);
        const to = new net.Socket({ fd: fifo.writer, readable: false, writable: true });
        handles.push(to);
        // A write error keeps the master read (the pty never fills; closing it would hang up the process).
        drained = copied(reader, to);
        reader.pipe(to);
      } else {
        reader.resume();
      }
      if (inp.kind === 'fifo') {
        const fifo = openInputFifo(inp.path);
        const from = new net.Socket({ fd: fifo.reader, readable: true, writable: false });
        life.keepStdin(fifo.keeper);
        const writer = new tty.WriteStream(dup(master));
        handles.push(from, writer);
        writer.on('error', () => from.destroy());
        from.on('error', () => undefined);
        // EOF on stdin does not close the terminal: a pty has no half-close; the process sees ^D only if sent.
        from.pipe(writer, { end: false });
      }
    },
    resize(width, height) {
      if (control >= 0 && !life.isClosed) setWinsize(control, width, height);
    },
    closeStdin: () => life.closeStdin(),
    wait: () => drained,
    close: () =>
      life.close(() => {
        socket.close();
        for (const h of handles) h.destroy();
        // tty.ReadStream closed the master with its handle; the rest are our own fds.
        for (const fd of fds.slice(1)) closeQuietly(fd);
      }),
  };
  return io;
}
