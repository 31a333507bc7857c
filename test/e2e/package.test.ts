/**
 * The packaged single executable (`npm run package`, built here for this machine's architecture
 * when missing or older than the build) on a node without Node.js: copied alone into an empty directory, it installs
 * itself (containerd's PATH is then exactly <prefix>/bin and /usr/sbin for runc: no node, no
 * checkout), and runs containers by the runtime name: the install cycle of install.test, then a
 * detached container with an exec, a kill and a delete, on the containerd under test; and the
 * DaemonSet's init and preStop scripts run against a temp dir standing for the node.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { installCycle, installEnv, type InstallEnv } from '../helpers/install';
import { run } from '../helpers/run';
import { HOST } from '../helpers/host';
import { parseYamlDocuments } from '../helpers/yaml';
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

test("the DaemonSet's scripts, the node's paths moved into a temp dir and nsenter/systemctl stood in for: install from the staged copy, one restart, uninstall on delete", async () => {
  const [ds] = parseYamlDocuments(readFileSync(path.join(repo, 'deploy', 'daemonset.yaml'), 'utf8')) as any[];
  const spec = ds.spec.template.spec;
  const node = mkdtempSync(path.join(os.tmpdir(), 'rx-package-node-'));
  try {
    mkdirSync(path.join(node, 'usr', 'local', 'bin'), { recursive: true });
    mkdirSync(path.join(node, 'etc', 'containerd'), { recursive: true });
    const config = path.join(node, 'etc', 'containerd', 'config.toml');
    writeFileSync(config, 'version = 2\n');
    // The container's view (/host/...) and the node's (after nsenter) are both the temp dir here.
    const onNode = (script: string) =>
      script
        .replace(/\/opt\/containerd-shim-rx\/containerd-shim-rx-v2/g, built)
        .replace(/nsenter --target 1 --mount --uts --ipc --net --pid -- systemctl restart containerd/g, `echo restarted >> ${node}/restarts`)
        .replace(/nsenter --target 1 --mount -- \/usr\/local\/bin\//g, `${node}/usr/local/bin/`)
        .replace(/\/host\//g, `${node}/`)
        .replace(/--prefix \/usr\/local/g, `--prefix ${node}/usr/local`)
        .replace(/--containerd-config \/etc\/containerd\/config\.toml/g, `--containerd-config ${config} --containerd ${HOST.containerd}`)
        .replace(/\/tmp\/install\.out/g, `${node}/install.out`);
    const sh = (script: string) => run('sh', ['-c', onNode(script)]);
    const restarts = () => (existsSync(path.join(node, 'restarts')) ? readFileSync(path.join(node, 'restarts'), 'utf8').split('\n').filter(Boolean).length : 0);
    const init = await sh(spec.initContainers[0].command[2]);
    assert.equal(init.code, 0, init.stderr + init.stdout.toString());
    assert.match(init.stdout.toString(), /runtime_type = "io\.containerd\.rx\.v2"/, 'the pod log shows the drop-in');
    assert.deepEqual(readdirSync(path.join(node, 'usr', 'local', 'bin')), ['containerd-shim-rx-v2'], 'installed, the staged copy gone');
    assert.equal(restarts(), 1);
    const again = await sh(spec.initContainers[0].command[2]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(restarts(), 1, 'a pod that starts again on an installed node restarts nothing');
    const stop = await sh(spec.containers[0].lifecycle.preStop.exec.command[2]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(restarts(), 2);
    assert.equal(readFileSync(config, 'utf8'), 'version = 2\n');
    assert.deepEqual(readdirSync(path.join(node, 'usr', 'local', 'bin')), []);
  } finally {
    rmSync(node, { recursive: true, force: true });
  }
});
