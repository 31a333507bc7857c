import type { Stdio } from './io/stdio';
import { decide, initialState, type Operation, type ProcessKind, type ProcessState, type Then } from './state';

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
 * One process of a container, init or exec. Every move of its state is the table's (state.ts):
 * public methods ask it, and only `move` sets the state. Calls on one process are serialised,
 * exits are not (an exit always wins).
 */
export class Process {
  private current: ProcessState;
  pid = 0;
  exit?: ExitStatus;
  resources?: ProcessResources;
  /** CloseIO(stdin) was asked for. */
  stdinClosed = false;
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
    /** The checkpoint image an init is created from: Start restores it (Go's createdCheckpoint state). */
    readonly checkpoint?: string,
  ) {
    this.current = initialState(!!checkpoint);
  }

  get state(): ProcessState {
    return this.current;
  }

  /** The id containerd uses for this process in events (TaskExit.id): container id for init. */
  get id(): string {
    return this.execId || this.containerId;
  }

  get name(): string {
    return this.execId ? `${this.containerId}/${this.execId}` : this.containerId;
  }

  /** Throws the table's refusal (FailedPrecondition, NotFound) unless `op` is legal now; a call that does not wait its turn. */
  check(op: Operation): void {
    const move = decide(this.kind, this.name, this.current, op);
    if (move instanceof Error) throw move;
  }

  /**
   * Run `work` for `op` under this process's lock: legality is checked when the call's turn
   * comes; the state is the move's `during` while the work runs, its `to` once it succeeded, and
   * back where it began if it failed, unless the process exited meanwhile (an exit wins: the
   * table then decides from stopped).
   */
  run<T>(op: Operation, work: () => Promise<T>): Promise<T> {
    const turn = this.queue.then(async () => {
      const move = decide(this.kind, this.name, this.current, op);
      if (move instanceof Error) throw move;
      const from = this.current;
      this.current = move.during;
      let result: T;
      try {
        result = await work();
      } catch (err) {
        if (this.current === move.during) this.current = from;
        throw err;
      }
      if (this.current === move.during) this.current = from;
      this.move(op);
      return result;
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Where the table says `op` leads from here, and what it asks of the runtime; a refused move leaves the state as it is. */
  private move(op: Operation): Then | undefined {
    const move = decide(this.kind, this.name, this.current, op);
    if (move instanceof Error) return undefined;
    this.current = move.to;
    return move.then;
  }

  /**
   * Record the exit once; later reports of the same exit are ignored (undefined). The first time:
   * what the table asks of the runtime for an exit from the state the process was in (`then`).
   */
  setExited(status: number, at: Date): { then?: Then } | undefined {
    if (this.exit) return undefined;
    this.exit = { status, at };
    const then = this.move('exited');
    for (const w of this.waiters.splice(0)) w(this.exit);
    return { then };
  }

  /** Run `work` once the call in flight on this process is done (no state check: the table decided it). */
  afterTurn(work: () => Promise<void>): Promise<void> {
    const turn = this.queue.then(work);
    this.queue = turn.catch(() => undefined);
    return turn;
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
