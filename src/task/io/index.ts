import type { ProcessResources } from '../process';
import { openConsoleIO } from './console-io';
import { openProcessIO } from './process-io';
import type { Stdio } from './stdio';

/** A process's stdio as runc takes it: pipes (fds) or a terminal (console socket). */
export interface RuncIO {
  runcStdio: [number | null, number | null, number | null];
  consoleSocket?: string;
  /** runc has been spawned and holds the fds: close our copies. */
  afterSpawn(): void;
  /** runc returned: for a terminal, take the pty master and start copying. */
  ready(): Promise<void>;
  resources: ProcessResources;
}

export async function openIO(stdio: Stdio, opts: { uid?: number; gid?: number; id: string; namespace: string }): Promise<RuncIO> {
  if (stdio.terminal) {
    const io = await openConsoleIO(stdio);
    return {
      runcStdio: [null, null, null],
      consoleSocket: io.consoleSocket,
      afterSpawn: () => undefined,
      ready: () => io.attach(),
      resources: { drained: () => io.wait(), closeStdin: () => io.closeStdin(), close: () => io.close(), resize: (w, h) => io.resize(w, h) },
    };
  }
  // Copied out only once runc succeeded (ready): a failed runc's words on the process's stderr
  // are its error, which the caller returns, not the process's output (Go: pio.Copy after Exec).
  const io = await openProcessIO(stdio, { ...opts, deferCopy: true });
  return {
    runcStdio: io.runcStdio,
    afterSpawn: () => io.afterSpawn(),
    ready: async () => {
      io.afterSpawn();
      io.startCopy();
    },
    resources: { drained: () => io.wait(), closeStdin: () => io.closeStdin(), close: () => io.close() },
  };
}
