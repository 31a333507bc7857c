/**
 * Process life as explicit state machines, one per process kind, as containerd's pkg/process
 * (init_state.go, exec_state.go, deleted_state.go). This table is the one place that decides
 * which call is legal in which state, and where a legal call leaves the process.
 */
import { failedPrecondition } from '../errors';

export type ProcessState = 'created' | 'running' | 'pausing' | 'paused' | 'stopped' | 'deleted';
export type ProcessKind = 'init' | 'exec';
export type Operation =
  | 'start'
  | 'delete'
  | 'kill'
  | 'pause'
  | 'resume'
  | 'update'
  | 'checkpoint'
  | 'exec'
  | 'resize'
  | 'closeIO'
  | 'exited';

/** For a legal operation: the state it leads to (`same` = stays). Absent = refused. */
type Table = Record<ProcessState, Partial<Record<Operation, ProcessState | 'same'>>>;

const initTable: Table = {
  created: { start: 'running', delete: 'deleted', kill: 'same', update: 'same', exec: 'same', resize: 'same', closeIO: 'same', exited: 'stopped' },
  running: { pause: 'paused', kill: 'same', update: 'same', checkpoint: 'same', exec: 'same', resize: 'same', closeIO: 'same', exited: 'stopped' },
  // pausing is transient: runc pause is under way; only kill and the exit may cut in.
  pausing: { kill: 'same', exited: 'stopped' },
  paused: { resume: 'running', kill: 'same', update: 'same', checkpoint: 'same', resize: 'same', closeIO: 'same', exited: 'stopped' },
  // A stopped init may still be killed (runc answers "not running", which callers ignore) and
  // its exit may be reported twice (the reaper and a pidfd); both are no-ops.
  // Resize of a stopped process is a no-op (Go's Init.Resize is not state-checked): ctr
  // resizes on its way out, and that is no error.
  stopped: { delete: 'deleted', kill: 'same', resize: 'same', closeIO: 'same', exited: 'same' },
  deleted: {},
};

const execTable: Table = {
  created: { start: 'running', delete: 'deleted', kill: 'same', resize: 'same', closeIO: 'same', exited: 'stopped' },
  running: { kill: 'same', resize: 'same', closeIO: 'same', exited: 'stopped' },
  pausing: { kill: 'same', exited: 'stopped' },
  paused: { kill: 'same', exited: 'stopped' },
  stopped: { delete: 'deleted', kill: 'same', resize: 'same', closeIO: 'same', exited: 'same' },
  deleted: {},
};

const verbs: Record<Operation, string> = {
  start: 'start',
  delete: 'delete',
  kill: 'kill',
  pause: 'pause',
  resume: 'resume',
  update: 'update',
  checkpoint: 'checkpoint',
  exec: 'exec in',
  resize: 'resize the pty of',
  closeIO: 'close the io of',
  exited: 'mark as exited',
};

/** The state `op` leads to from `state`, or null when the machine refuses it. */
export function next(kind: ProcessKind, state: ProcessState, op: Operation): ProcessState | null {
  const to = (kind === 'init' ? initTable : execTable)[state][op];
  if (to === undefined) return null;
  return to === 'same' ? state : to;
}

/** Like `next`, but a refusal is a FailedPrecondition naming the process and its state. */
export function transition(kind: ProcessKind, who: string, state: ProcessState, op: Operation): ProcessState {
  const to = next(kind, state, op);
  if (to === null) throw failedPrecondition(`cannot ${verbs[op]} ${kind} process ${who}: it is ${state}`);
  return to;
}

/** containerd.v1.types.Status numbers (api/types/task/task.proto). */
export const statusNumber: Record<ProcessState, number> = {
  created: 1,
  running: 2,
  stopped: 3,
  deleted: 3,
  paused: 4,
  pausing: 5,
};
