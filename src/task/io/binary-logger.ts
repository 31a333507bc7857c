import { spawn } from 'node:child_process';
import net from 'node:net';
import { closeQuietly } from '../../sys/fd';
import { lookPath } from '../../sys/look-path';
import { processNofileRestore, withNofileRestored } from '../../sys/nofile';
import { pipe } from '../../sys/pipe';
import type { parseStdioUri } from './stdio';

/**
 * Start a logging binary as containerd documents it (runtime/v2/logging, pkg/process NewBinaryIO):
 * the container's stdout and stderr pipes as its fds 3 and 4, a ready pipe as fd 5 that it closes
 * when ready, CONTAINER_ID and CONTAINER_NAMESPACE in its environment, the URI's query as args.
 */
export async function startLoggingBinary(target: Extract<ReturnType<typeof parseStdioUri>, { kind: 'binary' }>, id: string, namespace: string) {
  const [outR, outW] = pipe();
  const [errR, errW] = pipe();
  const [readyR, readyW] = pipe();
  const args = Object.entries(target.args).flatMap(([k, v]) => (v ? [k, v] : [k]));
  // Given containerd's RLIMIT_NOFILE soft limit back through prlimit, as Go's exec.Cmd restores
  // it (sys/nofile.ts). prlimit's own exec failing would look like a logger that started and
  // left, so a missing binary is found first, as spawn would have said.
  const [file, argv] = withNofileRestored(processNofileRestore(), target.path, args);
  if (file !== target.path && !lookPath(target.path)) throw new Error(`cannot start logging binary ${target.path}: no executable file at that path`);
  const child = spawn(file, argv, {
    stdio: ['ignore', 'ignore', 'ignore', outR, errR, readyW],
    env: loggingBinaryEnv(id, namespace),
  });
  [outR, errR, readyW].forEach(closeQuietly);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('error', (err) => reject(new Error(`cannot start logging binary ${target.path}: ${err.message}`)));
      const ready = new net.Socket({ fd: readyR, readable: true, writable: false });
      ready.resume();
      ready.once('close', () => resolve());
    });
  } catch (err) {
    [outW, errW].forEach(closeQuietly);
    throw err;
  }
  return {
    stdout: outW,
    stderr: errW,
    exited,
    /** As the Go shim: SIGTERM when the process's IO is closed. */
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

/**
 * A binary:// logging binary gets these two and nothing else, as containerd's NewBinaryCmd
 * (cmd/containerd-shim-runc-v2/process/io_util.go: cmd.Env holds only CONTAINER_ID and
 * CONTAINER_NAMESPACE), so neither NOTIFY_SOCKET nor anything of ours reaches it.
 */
function loggingBinaryEnv(id: string, namespace: string): NodeJS.ProcessEnv {
  return { CONTAINER_ID: id, CONTAINER_NAMESPACE: namespace };
}
