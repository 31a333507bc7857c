/**
 * containerd's side of a process's stdio in unit tests: FIFOs made with mkfifo, opened
 * O_NONBLOCK and driven by libuv pipe handles (as cio does it in Go, minus the blocking open),
 * and a child process standing in for the container, spawned on the fds runc would get.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { constants, mkdtempSync, openSync, readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const { O_RDONLY, O_WRONLY, O_NONBLOCK } = constants;

/** Three FIFOs in a fresh temp dir, named as containerd's fifo set names them. */
export function makeFifos(name: string): { dir: string; stdin: string; stdout: string; stderr: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `rx-io-${name}-`));
  const p = (s: string) => path.join(dir, `${name}-${s}`);
  execFileSync('mkfifo', [p('stdin'), p('stdout'), p('stderr')]);
  return { dir, stdin: p('stdin'), stdout: p('stdout'), stderr: p('stderr') };
}

/** Read a FIFO to EOF (every writer gone) as one Buffer; opened at once, or after `delayMs`. */
export function readFifo(file: string, delayMs = 0): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    setTimeout(() => {
      const sock = new net.Socket({ fd: openSync(file, O_RDONLY | O_NONBLOCK), readable: true, writable: false });
      const chunks: Buffer[] = [];
      sock.on('data', (d: Buffer) => chunks.push(d));
      sock.on('error', reject);
      sock.on('end', () => resolve(Buffer.concat(chunks)));
    }, delayMs);
  });
}

/** Read a FIFO until at least `atLeast` bytes came, then close it: a reader that goes away. */
export function readFifoThenLeave(file: string, atLeast: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = new net.Socket({ fd: openSync(file, O_RDONLY | O_NONBLOCK), readable: true, writable: false });
    const chunks: Buffer[] = [];
    let n = 0;
    sock.on('error', reject);
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      n += d.length;
      if (n >= atLeast) {
        sock.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
  });
}

/** A writer on a FIFO whose reader is already open (ENXIO otherwise). */
export function writeFifo(file: string): net.Socket {
  return new net.Socket({ fd: openSync(file, O_WRONLY | O_NONBLOCK), readable: false, writable: true });
}

/** Write all of `data` and close, resolving once the last byte is handed to the kernel. */
export function writeAllAndClose(sock: net.Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.on('error', reject);
    sock.on('close', () => resolve());
    sock.end(data);
  });
}

/**
 * The container: `script` under sh with the runc stdio fds as its 0, 1, 2 (null = /dev/null).
 * `exit` is its exit code, listened for from the spawn on so an early exit is not missed.
 */
export function spawnContainer(script: string, stdio: [number | null, number | null, number | null]): { child: ChildProcess; exit: Promise<number | null> } {
  const child = spawn('sh', ['-c', script], { stdio: stdio.map((fd) => fd ?? 'ignore') });
  return { child, exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

/** Our open fds, by number, with what each points to. */
export function openFds(): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      out.set(Number(name), readlinkSync(`/proc/self/fd/${name}`));
    } catch {
      // the fd readdir itself used
    }
  }
  return out;
}

/** fds open now that were not in `before`, as "fd -> target" lines (empty when none leaked). */
export function newFds(before: Map<number, string>): string[] {
  return [...openFds()].filter(([fd, target]) => before.get(fd) !== target).map(([fd, target]) => `${fd} -> ${target}`);
}

/** Let libuv finish closing handles destroyed this tick. */
export const settle = () => new Promise((r) => setTimeout(r, 20));
