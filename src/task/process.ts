import type { Stdio } from './io/stdio';
import { next, transition, type Operation, type ProcessKind, type ProcessState } from './state';

export interface ExitStatus {
  status: number;
  at: Date;
}

/**
 * The exited_at of a process that has not exited: Go's zero time.Time, which containerd's
 * protobuf.ToTimestamp (timestamppb.New: t.Unix()) puts on the wire as -62135596800 s, and reads
 * back as IsZero. Not 1970, which containerd would take for a real exit time.
 */
export const NOT_EXITED_AT = new Date(-62135596800_000);

/** What a process owns that must be torn down with it (its stdio copiers, console, ...). */
export interface ProcessResources {
  /** Resolves when everything the process wrote has been copied out. */
  drained(): Promise<void>;
  closeStdin(): void;
  close(): void;
  resize?(width: number, height: number): void;
}

/**
 * One process of a container, init or exec. Public methods decide legality through the state
 * table (state.ts); calls on one process are serialised, exits are not (an exit always wins).
 */
export class Process {
  state: ProcessState = 'created';
  pid = 0;
  exit?: ExitStatus;
  resources?: ProcessResources;
  /** A checkpoint image to restore from at Start (Create with a checkpoint). */
  restoreFrom?: string;
  /** CloseIO(stdin) was asked for. */
  stdinClosed = false;
  /** Its start was published (TaskStart / TaskExecStarted). */
  started = false;
  /** An exec's OCI process spec (JSON), from ExecProcessRequest.spec. */
  spec?: unknown;
  private readonly waiters: Array<(e: ExitStatus) => void> = [];
  /** Set when Wait is answered without an exit (an exec whose Start failed). */
  private waitAnswer?: ExitStatus;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly kind: ProcessKind,
    readonly containerId: string,
    /** exec id; '' for init. */
    readonly execId: string,
    readonly stdio: Stdio,
  ) {}

  /** The id containerd uses for this process in events (TaskExit.id): container id for init. */
  get id(): string {
    return this.execId || this.containerId;
  }

  get name(): string {
    return this.execId ? `${this.containerId}/${this.execId}` : this.containerId;
  }

  /** Throws FailedPrecondition unless `op` is legal now. */
  check(op: Operation): void {
    transition(this.kind, this.name, this.state, op);
  }

  /**
   * Run `work` for `op` under this process's lock: legality is checked when the call's turn
   * comes; afterwards the state moves, unless the process exited meanwhile (exit wins).
   */
  run<T>(op: Operation, work: () => Promise<T>): Promise<T> {
    const turn = this.queue.then(async () => {
      this.check(op);
      const from = this.state;
      const result = await work();
      // A transient state set by the work (pausing) is left from the state the call began in.
      if (this.state === 'pausing') this.state = from;
      const to = next(this.kind, this.state, op);
      if (to !== null) this.state = to;
      return result;
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Record the exit once; later reports of the same exit are ignored. Returns true the first time. */
  setExited(status: number, at: Date): boolean {
    if (this.exit) return false;
    this.exit = { status, at };
    const to = next(this.kind, this.state, 'exited');
    if (to !== null) this.state = to;
    for (const w of this.waiters.splice(0)) w(this.exit);
    return true;
  }

  /**
   * Answer every Wait, now and later, with status 0 and no exit time, without marking the process
   * exited: as Go's execProcess.start, which closes waitBlock when runc exec fails (the exec stays
   * created, so it can be deleted). ctr and CRI call Wait before Start; it must not hang.
   */
  releaseWait(): void {
    if (this.exit || this.waitAnswer) return;
    this.waitAnswer = { status: 0, at: NOT_EXITED_AT };
    for (const w of this.waiters.splice(0)) w(this.waitAnswer);
  }

  /** A promise of the exit, and a way to forget it (a Kill that races the exit must not pile up waiters). */
  exitOrForget(): { exited: Promise<ExitStatus>; forget: () => void } {
    if (this.exit) return { exited: Promise.resolve(this.exit), forget: () => {} };
    let waiter!: (e: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((resolve) => (waiter = resolve));
    this.waiters.push(waiter);
    const forget = () => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
    };
    return { exited, forget };
  }

  wait(): Promise<ExitStatus> {
    if (this.exit) return Promise.resolve(this.exit);
    if (this.waitAnswer) return Promise.resolve(this.waitAnswer);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
