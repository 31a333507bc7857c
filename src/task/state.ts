/**
 * Process life as explicit state machines, one per process kind, as containerd's pkg/process
 * (cmd/containerd-shim-runc-v2/process: init_state.go, exec_state.go, deleted_state.go). This
 * table is the one place that decides which call is legal in which state, what a refusal is, and
 * where a legal call leaves the process; process.ts applies it and nothing else sets a state.
 */
import { type ErrorKind, ShimError } from '../errors';

export type ProcessState = 'created' | 'createdCheckpoint' | 'running' | 'pausing' | 'paused' | 'stopped' | 'deleted';
export type ProcessKind = 'init' | 'exec';
export type Operation =
  | 'start'
  | 'delete'
  /** kill of the process itself */
  | 'kill'
  /** kill --all: every process of the container (init only) */
  | 'killAll'
  | 'pause'
  | 'resume'
  | 'update'
  | 'checkpoint'
  | 'stats'
  /** Exec in this init's container */
  | 'exec'
  | 'resize'
  | 'closeIO'
  | 'exited';

/** What the runtime must do once a move is made (behind the process's lock: after a call in flight). */
export type Then = 'resume';

/**
 * A legal move: where the process is while the call's work runs (`during`, else where it was)
 * and where it is once the work succeeded (`to`; '=' stays). A failed call goes back from
 * `during` to where it began. `then`: the runtime's work the move asks for.
 */
interface Move {
  during?: ProcessState;
  to: ProcessState | '=';
  then?: Then;
}
/** A refusal other than FailedPrecondition: its kind and why. */
interface Refusal {
  refuse: ErrorKind;
  because: string;
}
type Cell = ProcessState | '=' | Move | Refusal;
/** Absent = refused as FailedPrecondition. */
type Table = Partial<Record<ProcessState, Partial<Record<Operation, Cell>>>>;

/** As Go's deletedState: Delete and Kill of a deleted process are NotFound; the rest refused. */
const deleted: Partial<Record<Operation, Cell>> = {
  delete: { refuse: 'NotFound', because: 'it is deleted' },
  kill: { refuse: 'NotFound', because: 'it is deleted' },
  killAll: { refuse: 'NotFound', because: 'it is deleted' },
  exited: '=',
};

const initTable: Table = {
  created: { start: 'running', delete: 'deleted', kill: '=', killAll: '=', update: '=', stats: '=', exec: '=', resize: '=', closeIO: '=', exited: 'stopped' },
  // Create with a checkpoint: nothing runs until Start restores it (Go's createdCheckpointState,
  // which refuses Exec, unlike created).
  createdCheckpoint: { start: 'running', delete: 'deleted', kill: '=', killAll: '=', update: '=', resize: '=', closeIO: '=', exited: 'stopped' },
  running: {
    pause: { during: 'pausing', to: 'paused' },
    kill: '=', killAll: '=', update: '=', checkpoint: '=', stats: '=', exec: '=', resize: '=', closeIO: '=', exited: 'stopped',
  },
  // runc pause under way (Go's pausing flag): a call that waits its turn sees running or paused;
  // only calls that do not wait (kill, stats, resize, closeIO, an exit) see pausing. An exit
  // here resumes the container once runc pause has returned, as from paused (Go's SetExited
  // waits for the lock Pause holds, then finds pausedState).
  pausing: { kill: '=', killAll: '=', stats: '=', resize: '=', closeIO: '=', exited: { to: 'stopped', then: 'resume' } },
  // An init that exits paused leaves a frozen cgroup (what else runs in it stays frozen, and runc
  // reports the container paused and refuses to delete it): resumed, as Go's
  // pausedState.SetExited (cmd/containerd-shim-runc-v2/process/init_state.go; 1.6 pkg/process).
  paused: {
    resume: 'running', kill: '=', killAll: '=', update: '=', checkpoint: '=', stats: '=', resize: '=', closeIO: '=',
    exited: { to: 'stopped', then: 'resume' },
  },
  // A stopped init: runc kill could only say "container not running", which Go's checkKillError
  // makes NotFound (kill --all still goes to runc, for what is left in a shared pid namespace).
  // Its exit may be reported twice; resize is a no-op (Go's Init.Resize is not state-checked,
  // and ctr resizes on its way out).
  stopped: { delete: 'deleted', kill: { refuse: 'NotFound', because: 'it already finished' }, killAll: '=', resize: '=', closeIO: '=', exited: '=' },
  deleted,
};

const execTable: Table = {
  // As Go's execProcess.kill: a never-started exec (pid 0) is FailedPrecondition ...
  created: { start: 'running', delete: 'deleted', resize: '=', closeIO: '=', exited: 'stopped' },
  running: { kill: '=', resize: '=', closeIO: '=', exited: 'stopped' },
  // ... a finished one NotFound. Resize of a stopped exec is ignored where Go errors: ctr resizes
  // on its way out.
  stopped: { delete: 'deleted', kill: { refuse: 'NotFound', because: 'it already finished' }, resize: '=', closeIO: '=', exited: '=' },
  deleted,
};

const verbs: Record<Operation, string> = {
  start: 'start',
  delete: 'delete',
  kill: 'kill',
  killAll: 'kill every process of',
  pause: 'pause',
  resume: 'resume',
  update: 'update',
  checkpoint: 'checkpoint',
  stats: 'read the stats of',
  exec: 'exec in',
  resize: 'resize the pty of',
  closeIO: 'close the io of',
  exited: 'mark as exited',
};

/** The state a process begins in: an init created from a checkpoint waits for Start to restore it. */
export function initialState(fromCheckpoint: boolean): ProcessState {
  return fromCheckpoint ? 'createdCheckpoint' : 'created';
}

/** What the table says of `op` in `state`: the move, or the error a refusal is. */
export function decide(kind: ProcessKind, who: string, state: ProcessState, op: Operation): { during: ProcessState; to: ProcessState; then?: Then } | ShimError {
  const cell = (kind === 'init' ? initTable : execTable)[state]?.[op];
  if (cell === undefined) return new ShimError('FailedPrecondition', `cannot ${verbs[op]} ${kind} process ${who}: it is ${state}`);
  if (typeof cell === 'object' && 'refuse' in cell) return new ShimError(cell.refuse, `cannot ${verbs[op]} ${kind} process ${who}: ${cell.because}`);
  const move: Move = typeof cell === 'string' ? { to: cell } : cell;
  return { during: move.during ?? state, to: move.to === '=' ? state : move.to, then: move.then };
}

/** containerd.v1.types.Status numbers (api/types/task/task.proto); Go reports a deleted process as stopped. */
export const statusNumber: Record<ProcessState, number> = {
  created: 1,
  createdCheckpoint: 1,
  running: 2,
  stopped: 3,
  deleted: 3,
  paused: 4,
  pausing: 5,
};
