import type { Logger } from '../log';
import type { Lifecycle, ProcessRef } from '../ordering/lifecycle';
import type { Exit } from '../streams/exits$';
import type { Container } from './container';
import * as events from './events';
import type { Process } from './process';
import type { ContainerDriver } from './runtime';

export const refOf = (p: Process): ProcessRef => ({ containerId: p.containerId, execId: p.execId });

/**
 * What a process's exit does, once events$ (pipeline.ts) has matched the reaped pid to it: the
 * exit is recorded once (its Wait answers; the state table moves it to stopped); for an init,
 * what is left of its container is killed where the kernel does not (a shared pid namespace),
 * then, if the table asks (an init that exited paused or pausing), the container is resumed:
 * Go's handleProcessExit runs KillAll before SetExited, whose pausedState resumes. Returns what
 * to publish, or nothing for a second report of the same exit.
 */
export function processExited(proc: Process, e: Exit, held: { container?: Container; driver?: ContainerDriver; log: Logger }): Lifecycle | undefined {
  const exited = proc.setExited(e.status, e.time);
  if (!exited) return undefined;
  const { container, driver, log } = held;
  if (proc.kind === 'init' && driver) {
    const id = proc.containerId;
    const killed = driver.initExited(id, container?.bundle ?? '').catch(() => undefined);
    // Behind the process's lock: after a runc pause in flight. Failures are logged, as Go's.
    if (exited.then === 'resume') {
      void killed
        .then(() => proc.afterTurn(() => driver.resume(id)))
        .catch((err: unknown) => log.error({ id, err: String(err) }, 'resuming a container whose init exited paused'));
    }
  }
  log.info({ id: proc.containerId, exec: proc.execId || undefined, pid: e.pid, status: e.status }, 'process exited');
  const event = events.taskExit(proc.containerId, proc.id, e.pid, e.status, e.time);
  // An exec that outlived its container's delete: nothing of that container is held any more.
  if (container?.process(proc.execId) !== proc) return { kind: 'event', event };
  return { kind: 'exit', process: refOf(proc), event };
}
