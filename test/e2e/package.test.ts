/**
 * The packaged single executable (`npm run package`, built here for this machine's architecture
 * when missing or older than the build) on a node without Node.js: copied alone into an empty directory, it installs
 * itself (containerd's PATH is then exactly <prefix>/bin and /usr/sbin for runc: no node, no
 * checkout), and runs containers by the runtime name: the install cycle of install.test, then a
 * detached container with an exec, a kill and a delete, on the containerd under test.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { installCycle, installEnv, type InstallEnv } from '../helpers/install';
import { run } from '../helpers/run';
import { uniqueId, waitForTask } from '../helpers/tasks';

const repo = path.resolve(__dirname, '../../..');
const built = path.join(repo, 'dist', 'package', `linux-${process.arch}`, 'containerd-shim-rx-v2');
const bare = mkdtempSync(path.join(os.tmpdir(), 'rx-package-bin-'));
const exe = path.join(bare, 'containerd-shim-rx-v2');
/** What the executable and the containerd it serves get as PATH: neither holds a node. */
const PATH_OF = (bin: string) => `${bin}:/usr/sbin`;
let env: InstallEnv | undefined;

/** Whether dist/package holds an executable of the current build (package.mjs notes the script it carries). */
function current(): boolean {
  const main = createHash('sha256').update(readFileSync(path.join(repo, 'dist', 'sea', 'main.js'))).digest('hex');
  try {
    return existsSync(built) && readFileSync(path.join(path.dirname(built), 'main.js.sha256'), 'utf8').trim() === main;
  } catch {
    return false;
  }
}

before(() => {
  if (!current()) execFileSync(process.execPath, [path.join(repo, 'scripts', 'package.mjs')], { cwd: repo, env: { ...process.env, PACKAGE_ARCHS: process.arch }, stdio: 'inherit' });
  copyFileSync(built, exe);
  execFileSync('chmod', ['755', exe]);
});
after(async () => {
  await env?.cleanup();
  rmSync(bare, { recursive: true, force: true });
});

test('the .sha256 beside it is its sha256; -v runs with no node on PATH and names Node.js 26', async () => {
  const [sum, name] = readFileSync(`${built}.sha256`, 'utf8').trim().split(/\s+/);
  assert.equal(name, 'containerd-shim-rx-v2');
  assert.equal(sum, createHash('sha256').update(readFileSync(built)).digest('hex'));
  assert.throws(() => execFileSync('sh', ['-c', 'command -v node'], { env: { PATH: PATH_OF(bare) } }), 'no node on the test PATH');
  const r = await run(exe, ['-v'], { env: { PATH: PATH_OF(bare) } });
  assert.equal(r.code, 0, r.stderr);
  // (the runtime line: `Node.js:  v26...` here, `Runtime:  node v26...` in the launcher's wording)
  assert.match(r.stdout.toString(), /Version:\s+\d+\.\d+\.\d+\n\s+Revision:\s+[0-9a-f]{40}\n\s+(Node\.js:\s+|Runtime:\s+node )v26\./);
  assert.equal(r.stderr, '');
});

test('install from the bare copy, restart, run by name, uninstall: nothing left (containerd\'s PATH has no node)', async () => {
  env = await installEnv('package', exe, { path: PATH_OF, installerEnv: { PATH: PATH_OF(bare) } });
  await installCycle(env);
});

test('through the executable by path: a detached container, an exec in it, kill, delete reports 137', async () => {
  assert.ok(env, 'needs the containerd of the test before');
  const { ctd, rootfs } = env;
  const id = uniqueId('pkg-detached');
  const r = await ctd.ctr(['run', '-d', '--runtime', exe, '--rootfs', rootfs, id, '/bin/sleep', '600']);
  assert.equal(r.code, 0, r.stderr);
  await waitForTask(ctd, id);
  const ex = await ctd.ctr(['task', 'exec', '--exec-id', 'e1', id, '/bin/sh', '-c', 'echo from-exec; exit 4']);
  assert.equal(ex.stdout.toString(), 'from-exec\n', ex.stderr);
  assert.equal(ex.code, 4);
  assert.equal((await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id])).code, 0);
  await waitForTask(ctd, id, 'STOPPED');
  const del = await ctd.ctr(['task', 'delete', id]);
  assert.equal(del.code, 0, del.stderr);
  assert.match(del.stdout.toString() + del.stderr, /137/);
  assert.equal((await ctd.ctr(['containers', 'delete', id])).code, 0);
});
