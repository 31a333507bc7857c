import type { Exit } from '../streams/exits$';

/** One process start in flight: from before runc is spawned until the pid it gives is claimed. */
export interface StartWindow {
  /** Ask for the exit of `pid`: `onExit` runs once, at once if it was reaped inside this window. */
  claim(pid: number, onExit: (e: Exit) => void): void;
  /** The start is over (a finally): exits seen only by this window are dropped. */
  close(): void;
}

/**
 * Matches reaped exits to the processes waiting for them. A process can exit — and be reaped —
 * before runc's --pid-file is even read, so while a start is in flight every exit nobody claims
 * is kept for it; once no start that could own it is in flight, an unclaimed exit is dropped: no
 * process of ours has that pid, and a later process given the same (recycled) pid must not
 * receive it. As the Go shim (containerd-shim-runc-v2 task/service.go: preStart subscribes to
 * exits for one start, handleStarted looks up its pid there, cleanup unsubscribes; processExits
 * hands every other exit only to s.running).
 */
export class ExitRouter {
  private readonly claims = new Map<number, (e: Exit) => void>();
  /** One per start in flight: the unclaimed exits reaped since it opened, by pid. */
  private readonly windows = new Set<Map<number, Exit>>();

  /** keep: how many unclaimed exits one start window holds at most (the oldest go first). */
  constructor(private readonly keep = 1024) {}

  /** Feed one reaped exit. */
  exit(e: Exit): void {
    const claim = this.claims.get(e.pid);
    if (claim) {
      this.claims.delete(e.pid);
      claim(e);
      return;
    }
    for (const seen of this.windows) {
      // A pid reaped twice in one window was recycled: the newest exit is the likelier ours.
      seen.delete(e.pid);
      seen.set(e.pid, e);
      if (seen.size > this.keep) seen.delete(seen.keys().next().value as number);
    }
  }

  /**
   * Open a window before spawning runc (create, exec, restore), claim the pid through it, close
   * it when the start is over. A pid recycled within one runc call cannot be told apart (nor can
   * Go's shim tell it).
   */
  starting(): StartWindow {
    const seen = new Map<number, Exit>();
    this.windows.add(seen);
    return {
      claim: (pid, onExit) => {
        const early = seen.get(pid);
        if (!early) return void this.claims.set(pid, onExit);
        // This exit is this process's now: no other start may take it.
        for (const other of this.windows) if (other.get(pid) === early) other.delete(pid);
        onExit(early);
      },
      close: () => void this.windows.delete(seen),
    };
  }

  /** Forget a claim (the process is gone by other means). */
  unclaim(pid: number): void {
    this.claims.delete(pid);
  }

  get pendingClaims(): number {
    return this.claims.size;
  }
}
