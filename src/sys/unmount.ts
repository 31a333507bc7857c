/* Unmounting as containerd does (core/mount/mount_unix.go): exactly the path, EBUSY retried, never lazily. */
import { SysError, errno, fn, check } from './libc';
import { exactPath, mountPoints } from './mountinfo';

/** umount2(2): never follow a symlink at the target (we unmount exactly the path we checked). */
export const UMOUNT_NOFOLLOW = 8;
const EINVAL = 22;
const ENOENT = 2;
const EBUSY = 16;

/** umount2 of target, once; a failure throws. */
export function unmount(target: string, flags = 0): void {
  check('umount2', fn('int umount2(const char *, int)')(target, flags), target);
}

/** containerd's unmount (core/mount/mount_unix.go): on EBUSY, 50 tries 50 ms apart, then fail. */
export const UNMOUNT_TRIES = 50;
export const UNMOUNT_RETRY_MS = 50;

export interface RetryOptions {
  tries?: number;
  retryMs?: number;
}

/**
 * The unmounts below are written once, as generators that yield each pause (ms) before a retry;
 * a driver runs them. The `delete` action pauses synchronously (it has nothing else to do); the
 * serving process awaits a timer, so a busy mount (up to 2.5 s of retries) never stalls the other
 * containers' calls, exits and events.
 */
type Steps<T> = Generator<number, T, void>;

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

function runSync<T>(steps: Steps<T>): T {
  for (let r = steps.next(); ; r = steps.next()) {
    if (r.done) return r.value;
    Atomics.wait(sleepCell, 0, 0, r.value);
  }
}

async function runAsync<T>(steps: Steps<T>): Promise<T> {
  for (let r = steps.next(); ; r = steps.next()) {
    if (r.done) return r.value;
    await new Promise((resolve) => setTimeout(resolve, r.value));
  }
}

/**
 * One umount2 of exactly this path (never through a symlink there), retried while EBUSY as
 * containerd does; returns the errno that ended it (0: unmounted, EINVAL: not a mount point,
 * ENOENT: no such path). Never detaches lazily: a mount that stays busy is an error, so
 * nothing is left mounted behind a bundle that looks clean.
 */
function* unmountOnce(target: string, retry: RetryOptions = {}): Steps<number> {
  const umount2 = fn('int umount2(const char *, int)');
  const tries = retry.tries ?? UNMOUNT_TRIES;
  const retryMs = retry.retryMs ?? UNMOUNT_RETRY_MS;
  for (let i = 0; i < tries; i++) {
    if ((umount2(target, UMOUNT_NOFOLLOW) as number) === 0) return 0;
    const e = errno();
    if (e === EINVAL || e === ENOENT) return e;
    if (e !== EBUSY) throw new SysError('umount2', e, target);
    if (i + 1 < tries) yield retryMs;
  }
  throw new SysError('umount2', EBUSY, `${target}: still busy after ${tries} tries ${retryMs} ms apart (a process has its cwd or an open file there?); left mounted`);
}

/**
 * Unmount everything at and under target, as containerd's UnmountRecursive: the mounts below
 * it (Mount.target ones) deepest first, then the stack at target itself, each until EINVAL.
 * The path is checked and unmounted as given, its last component not followed (see
 * exactPath); a missing target is not an error. EBUSY is retried, then thrown.
 * Synchronous: for the `delete` action; the serving process uses unmountAllAsync.
 */
export function unmountAll(target: string, retry: RetryOptions = {}): void {
  runSync(unmountAllSteps(target, retry));
}

/** unmountAll whose EBUSY retries wait on a timer: the event loop runs on meanwhile. */
export function unmountAllAsync(target: string, retry: RetryOptions = {}): Promise<void> {
  return runAsync(unmountAllSteps(target, retry));
}

function* unmountAllSteps(target: string, retry: RetryOptions): Steps<void> {
  const exact = exactPath(target);
  if (exact === null) return;
  const below = [...new Set(mountPoints().filter((m) => m.startsWith(exact + '/')))].sort((a, b) => b.length - a.length);
  for (const m of below) {
    try {
      yield* unmountStack(m, retry);
    } catch {
      // As containerd: only the last (the target itself) decides; it fails too if one stays.
    }
  }
  yield* unmountStack(exact, retry);
}

function* unmountStack(target: string, retry: RetryOptions): Steps<void> {
  for (let i = 0; i < 1000; i++) if ((yield* unmountOnce(target, retry)) !== 0) return;
  throw new SysError('umount2', EBUSY, `${target}: still mounted after 1000 unmounts`);
}

/** One umount2 of exactly this path, EBUSY retried synchronously (undoing a mount just made). */
export function unmountOnceSync(target: string): number {
  return runSync(unmountOnce(target));
}
