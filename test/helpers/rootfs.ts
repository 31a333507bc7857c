import { mkdirSync, symlinkSync, writeFileSync, copyFileSync, chmodSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * A busybox root filesystem at `dir` (made if missing; returns `dir`): Debian's static
 * /bin/busybox (it needs no libc in the container), a symlink per applet `busybox --list` names
 * (sh, echo, cat, sleep, ...), /etc/passwd and /etc/group, and the dirs runc mounts onto.
 */
export function busyboxRootfs(dir: string): string {
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'root']) mkdirSync(path.join(dir, d), { recursive: true });
  copyFileSync('/bin/busybox', path.join(dir, 'bin/busybox'));
  chmodSync(path.join(dir, 'bin/busybox'), 0o755);
  chmodSync(path.join(dir, 'tmp'), 0o1777);
  const applets = execFileSync('/bin/busybox', ['--list']).toString().split('\n').filter(Boolean);
  for (const a of applets) {
    const link = path.join(dir, 'bin', a);
    if (a !== 'busybox' && !existsSync(link)) symlinkSync('busybox', link);
  }
  writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  return dir;
}
