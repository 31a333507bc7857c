import type { Exit } from '../streams/exits$';

/**
 * Matches reaped exits to the processes waiting for them. A container's init can exit — and be
 * reaped — before runc's --pid-file is even read, so exits nobody claims yet are kept (bounded)
 * and handed over when the pid is claimed.
 */
export class ExitRouter {
  private readonly claims = new Map<number, (e: Exit) => void>();
  private readonly unclaimed = new Map<number, Exit>();

  /** keep: how many unclaimed exits; maxAgeMs: older ones may belong to a recycled pid. */
  constructor(private readonly keep = 1024, private readonly maxAgeMs = 30_000) {}

  /** Feed one reaped exit. */
  exit(e: Exit): void {
    const claim = this.claims.get(e.pid);
    if (claim) {
      this.claims.delete(e.pid);
      claim(e);
      return;
    }
    this.unclaimed.set(e.pid, e);
    if (this.unclaimed.size > this.keep) {
      const oldest = this.unclaimed.keys().next().value as number;
      this.unclaimed.delete(oldest);
    }
  }

  /** Ask for the exit of `pid`: `onExit` runs once, at once if it already happened. */
  claim(pid: number, onExit: (e: Exit) => void): void {
    const early = this.unclaimed.get(pid);
    if (early) this.unclaimed.delete(pid);
    if (early && Date.now() - early.time.getTime() < this.maxAgeMs) {
      onExit(early);
      return;
    }
    this.claims.set(pid, onExit);
  }

  /** Forget a claim (the process is gone by other means). */
  unclaim(pid: number): void {
    this.claims.delete(pid);
  }

  get pendingClaims(): number {
    return this.claims.size;
  }
}
