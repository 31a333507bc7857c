/**
 * Do each item in order; when one fails, undo those done, newest first, and rethrow the error
 * that stopped the run (an undo's own error is not reported over it). Mounts stop undoing at the
 * first unmount that fails (what lies beneath a busy mount cannot go); install steps carry on.
 */
export function allOrUndone<T, D>(items: readonly T[], doOne: (item: T) => D, undoOne: (done: D) => void, onUndoError: 'stop' | 'continue'): D[] {
  const done: D[] = [];
  try {
    for (const item of items) done.push(doOne(item));
    return done;
  } catch (err) {
    for (const d of done.reverse()) {
      try {
        undoOne(d);
      } catch {
        if (onUndoError === 'stop') break;
      }
    }
    throw err;
  }
}
