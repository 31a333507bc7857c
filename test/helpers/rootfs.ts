import { mkdirSync, symlinkSync, writeFileSync, copyFileSync, chmodSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** A busybox root filesystem: /bin/busybox and a link per applet, /etc/passwd, mount points. */
export function busyboxRootfs(dir: string): string {
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'etc', 'root']) mkdirSync(path.join(dir, d), { recursive: true });
  copyFileSync('/bin/busybox', path.join(dir, 'bin/busybox'));
  chmodSync(path.join(dir, 'bin/busybox'), 0o755);
  const applets = execFileSync('/bin/busybox', ['--list']).toString().split('\n').filter(Boolean);
  for (const a of applets) {
    const link = path.join(dir, 'bin', a);
    if (a !== 'busybox' && !existsSync(link)) symlinkSync('busybox', link);
  }
  writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  return dir;
}
