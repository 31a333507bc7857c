/**
 * The npm package: `npm pack` ships what runs and nothing else (the launcher, the five bundles,
 * package.json, README, CHANGELOG: no tests, no TypeScript sources, no tsc output), and
 * `npm install -g <the tarball>` into a temp prefix gives a containerd-shim-rx-v2 on that
 * prefix's PATH that answers -v with package.json's version and whose installer loads.
 * Needs koffi from the npm cache or registry (the one runtime dependency).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../helpers/run';

const repo = path.resolve(__dirname, '../../..');
const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { name: string; version: string; private?: boolean };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'rx-npm-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const npm = (args: string[], cwd = repo) => run('sh', ['-c', `cd "$0" && exec npm "$@"`, cwd, ...args], { timeoutMs: 180000 });

const SHIPPED = ['CHANGELOG.md', 'LICENSE', 'README.md', 'bin/containerd-shim-rx-v2', 'dist/containerd-shim-rx-v2.js', 'dist/debug.js', 'dist/install.js', 'dist/runtime-options.js', 'dist/serve.js', 'package.json'];

test('npm pack ships the launcher, the bundles and the docs, nothing else; the package is not private', async () => {
  assert.equal(pkg.private, undefined);
  const r = await npm(['pack', '--dry-run', '--json', '--ignore-scripts']);
  assert.equal(r.code, 0, r.stderr);
  const [{ files }] = JSON.parse(r.stdout.toString()) as Array<{ files: Array<{ path: string; mode: number }> }>;
  assert.deepEqual(files.map((f) => f.path).sort(), SHIPPED);
  assert.equal(files.find((f) => f.path === 'bin/containerd-shim-rx-v2')!.mode & 0o111, 0o111, 'the launcher is executable');
});

test('npm install -g of the packed tarball into a temp prefix: containerd-shim-rx-v2 -v and install --dry-run work', async () => {
  const packed = await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', tmp]);
  assert.equal(packed.code, 0, packed.stderr);
  const [{ filename }] = JSON.parse(packed.stdout.toString()) as Array<{ filename: string }>;
  const prefix = path.join(tmp, 'global');
  const inst = await npm(['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(tmp, filename)], tmp);
  assert.equal(inst.code, 0, inst.stderr);
  const bin = path.join(prefix, 'bin', 'containerd-shim-rx-v2');
  const v = await run(bin, ['-v']);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout.toString(), new RegExp(`Version:\\s+${pkg.version.replace(/\./g, '\\.')}\\n\\s+Revision:\\s+[0-9a-f]{40}\\n`));
  const installed = path.join(prefix, 'lib', 'node_modules', pkg.name);
  const files = await run('find', [installed, '-path', path.join(installed, 'node_modules'), '-prune', '-o', '-type', 'f', '-printf', '%P\\n']);
  assert.deepEqual(files.stdout.toString().split('\n').filter(Boolean).sort(), SHIPPED, 'installed: the shipped files (and koffi under node_modules)');
  const dry = await run(bin, ['install', '--dry-run', '--prefix', path.join(tmp, 'p'), '--containerd-config', path.join(tmp, 'etc', 'config.toml'), '--containerd', '/usr/bin/containerd']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout.toString(), /would link .*containerd-shim-rx-v2 -> .*\/lib\/node_modules\/containerd-shim-rx\/bin\/containerd-shim-rx-v2/);
});
