/* Which paths are mount points, from /proc/self/mountinfo, never through a symlink. */
import { lstatSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

/**
 * The path as mountinfo names it, without following its last component: its parent resolved,
 * its own name kept. null when it does not exist. A symlink stays a symlink, which no mount
 * point is; so isMountPoint and unmountAll both see the same path and never its link target.
 */
export function exactPath(p: string): string | null {
  const abs = path.resolve(p);
  if (abs === '/') return abs;
  try {
    lstatSync(abs);
    return path.join(realpathSync(path.dirname(abs)), path.basename(abs));
  } catch {
    return null;
  }
}

/** Whether path itself (not what a symlink there points to) is a mount point, from /proc/self/mountinfo. */
export function isMountPoint(p: string): boolean {
  const exact = exactPath(p);
  return exact !== null && mountPoints().includes(exact);
}

/** Every mount point of our mount namespace, in mountinfo order, octal escapes decoded. */
export function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4].replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))));
}
