import { check, fn } from './libc';

const PR_SET_CHILD_SUBREAPER = 36;

/**
 * Become a child subreaper: orphans among our descendants (container inits once runc exits)
 * re-parent to us instead of to init, and stay zombies until we reap them. Not inherited.
 */
export function setChildSubreaper(): void {
  check('prctl(PR_SET_CHILD_SUBREAPER)', fn('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)')(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
}
