/**
 * `start`'s stdin and stdout for each containerd generation, through the built launcher as
 * containerd execs it. Input bytes are built with our schema (proto/schema.ts), independently of
 * the hand coder in cli/bootstrap.ts.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../helpers/run';
import { decode, encode } from '../../../src/proto';
import { socketAddress, socketAddressIn, socketPath } from '../../../src/cli/address';
import { parseStartInput, encodeBootstrapResult, legacyResponseForm } from '../../../src/cli/bootstrap';
import { containerdMajor, goModInfo, parseBuildInfo } from '../../../src/cli/go-buildinfo';
import { CONTAINERD_2_3, CONTAINERD_CACHE } from '../../helpers/host';
import { dial } from '../../../src/ttrpc/client';

const launcher = path.resolve(__dirname, '../../../../bin/containerd-shim-rx-v2');
const B = 'containerd.runtime.bootstrap.v1.';
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'rx-boot-'));
  dirs.push(d);
  return d;
}

/** containerd's executables on this machine (install-deps): 1.6 from Debian, 2.3 built from its module. */
const CONTAINERD_1 = '/usr/bin/containerd';
const CONTAINERD_2 = path.join(CONTAINERD_CACHE, `containerd-v${CONTAINERD_2_3}`, 'containerd');

/** A stand-in for containerd's executable that would print a version if it were run (start must not run it). */
function fakeContainerd(dir: string, versionLine: string): string {
  const file = path.join(dir, 'containerd');
  const ran = path.join(dir, 'ran');
  writeFileSync(file, `#!/bin/sh\ntouch '${ran}'\necho '${versionLine}'\n`);
  chmodSync(file, 0o755);
  return file;
}

const anyOf = (type: string, value: object) => ({ type_url: type, value: encode(type, value) });
const optionsAny = (toml: string) => anyOf('runtimeoptions.v1.Options', { config_path: toml });

function bootstrapParams(o: { id: string; namespace: string; address: string; ttrpc: string; socketDir?: string; logLevel?: number; extensions?: object[] }): Buffer {
  return encode(B + 'BootstrapParams', {
    instance_id: o.id,
    namespace: o.namespace,
    log_level: o.logLevel ?? 0,
    containerd_version: 'v2.3.7',
    containerd_ttrpc_address: o.ttrpc,
    containerd_grpc_address: o.address,
    containerd_binary: '/usr/local/bin/containerd',
    extensions: (o.extensions ?? []).map((value) => ({ value })),
    ...(o.socketDir ? { socket_dir: o.socketDir } : {}),
  });
}

/** Ask the serving process behind an address for its pid and command line, then shut it down. */
async function connectAndShutdown(address: string, id: string): Promise<string[]> {
  const client = await dial(address);
  const res = decode('containerd.task.v2.ConnectResponse', await client.call('containerd.task.v2.Task', 'Connect', encode('containerd.task.v2.ConnectRequest', { id })));
  const cmdline = readFileSync(`/proc/${res.shim_pid}/cmdline`, 'utf8').split('\0');
  await client.call('containerd.task.v2.Task', 'Shutdown', encode('containerd.task.v2.ShutdownRequest', { id })).catch(() => null);
  await client.closed;
  for (let i = 0; i < 50 && existsSync(socketPath(address)); i++) await new Promise((r) => setTimeout(r, 100));
  return cmdline;
}

test('containerd 2.3+: a BootstrapParams in, a protobuf BootstrapResult out; socket_dir, log_level and the options extension honoured; stderr empty', async () => {
  const dir = tmp();
  const bundle = tmp();
  const toml = path.join(dir, 'rx.toml');
  writeFileSync(toml, 'grouping = "namespace"\n');
  const address = path.join(dir, 'ctd.sock');
  const socketDir = path.join(dir, 's');
  const stdin = bootstrapParams({
    id: 'b1', namespace: 'boot', address, ttrpc: path.join(dir, 'none.ttrpc'), socketDir, logLevel: -4,
    // Another extension first: only a runtime options type is read.
    extensions: [anyOf('google.protobuf.Timestamp', { seconds: 1 }), optionsAny(toml)],
  });
  const r = await run(launcher, ['-namespace', 'boot', '-address', address, '-publish-binary', '/nonexistent/containerd', '-id', 'b1', '-bundle', bundle, 'start'], { input: stdin });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'containerd 2.3 reads stdout and stderr together');
  const res = decode(B + 'BootstrapResult', r.stdout);
  // grouping = "namespace" came from the options extension; the socket is in socket_dir itself.
  const expected = socketAddressIn(socketDir, address, 'boot', 'rx-namespace-boot');
  assert.deepEqual({ version: res.version, address: res.address, protocol: res.protocol }, { version: 3, address: expected, protocol: 'ttrpc' });
  assert.equal(readFileSync(path.join(bundle, 'address'), 'utf8'), expected);
  const cmdline = await connectAndShutdown(expected, 'b1');
  assert.ok(cmdline.includes('-debug'), `log_level DEBUG starts the serving process with -debug: ${cmdline.join(' ')}`);
});

test('containerd 2.0-2.2: a bare options Any in, the JSON {"version":3,...} out', async () => {
  const dir = tmp();
  const bundle = tmp();
  const address = path.join(dir, 'ctd.sock');
  // A 2.x executable (its Go module info says containerd/v2) that got no BootstrapParams: 2.0-2.2.
  const publish = CONTAINERD_2;
  const stdin = encode('google.protobuf.Any', anyOf('containerd.runc.v1.Options', { binary_name: 'runc' }));
  const r = await run(launcher, ['-namespace', 'boot', '-address', address, '-publish-binary', publish, '-id', 'j1', '-bundle', bundle, 'start'], { input: stdin, env: { ...process.env, TTRPC_ADDRESS: path.join(dir, 'none.ttrpc') } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const expected = socketAddress(address, 'boot', 'j1');
  assert.deepEqual(JSON.parse(r.stdout.toString()), { version: 3, address: expected, protocol: 'ttrpc' });
  const cmdline = await connectAndShutdown(expected, 'j1');
  assert.ok(!cmdline.includes('-debug'));
});

test('containerd 1.6/1.7: options or nothing in, the plain address out (also when containerd\'s version cannot be read)', async () => {
  const dir = tmp();
  const address = path.join(dir, 'ctd.sock');
  const env = { ...process.env, TTRPC_ADDRESS: path.join(dir, 'none.ttrpc') };
  // A script that says 2.x if run: start reads the executable and never runs it, so: plain.
  const script = fakeContainerd(dir, 'containerd github.com/containerd/containerd/v2 v2.1.5 e9e7b1f');
  const cases: Array<[string, string, Buffer]> = [
    ['p1', CONTAINERD_1, encode('google.protobuf.Any', anyOf('containerd.runc.v1.Options', {}))],
    ['p2', CONTAINERD_1, Buffer.alloc(0)],
    ['p3', '/nonexistent/containerd', Buffer.alloc(0)],
    ['p4', script, Buffer.alloc(0)],
  ];
  for (const [id, bin, stdin] of cases) {
    const bundle = tmp();
    const r = await run(launcher, ['-namespace', 'boot', '-address', address, '-publish-binary', bin, '-id', id, '-bundle', bundle, 'start'], { input: stdin, env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout.toString(), socketAddress(address, 'boot', id), id);
    await connectAndShutdown(r.stdout.toString(), id);
  }
  assert.equal(existsSync(path.join(dir, 'ran')), false, 'start ran -publish-binary');
});

test('garbage on stdin: exit 1, stderr names both forms expected, nothing on stdout', async () => {
  const dir = tmp();
  for (const stdin of [Buffer.from('hello, world\n'), Buffer.from([0x0a, 0x20, 0x41]), Buffer.from([0x08, 0xff])]) {
    const bundle = tmp();
    const r = await run(launcher, ['-namespace', 'boot', '-address', path.join(dir, 'ctd.sock'), '-id', 'g1', '-bundle', bundle, 'start'], { input: stdin });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^containerd-shim-rx-v2: start: stdin is neither a containerd\.runtime\.bootstrap\.v1\.BootstrapParams \(containerd 2\.3\+\) nor a google\.protobuf\.Any of runtime options \(containerd 1\.6-2\.2\): .+\n$/);
    assert.equal(r.stdout.length, 0);
    assert.equal(existsSync(path.join(bundle, 'address')), false);
  }
});

test('the forms are told apart by decoding: an Any is fields 1 and 2 only; a BootstrapParams with only id and namespace is still one', () => {
  const any = encode('google.protobuf.Any', anyOf('containerd.runc.v1.Options', { root: '/r' }));
  assert.equal(parseStartInput(any, 'c1', 'default').form, 'options');
  // An Any whose value is empty is fields 1 alone.
  assert.equal(parseStartInput(encode('google.protobuf.Any', { type_url: 'containerd.runc.v1.Options' }), 'c1', 'default').form, 'options');
  const bare = encode(B + 'BootstrapParams', { instance_id: 'c1', namespace: 'default' });
  const p = parseStartInput(bare, 'c1', 'default');
  assert.equal(p.form, 'bootstrap');
  const full = parseStartInput(bootstrapParams({ id: 'c1', namespace: 'default', address: '/a', ttrpc: '/a.ttrpc', logLevel: -8, socketDir: '/s', extensions: [anyOf('containerd.runc.v1.Options', { root: '/r' })] }), 'c1', 'default');
  assert.equal(full.form, 'bootstrap');
  if (full.form !== 'bootstrap') return;
  assert.deepEqual([full.params.logLevel, full.params.socketDir, full.params.containerdGrpcAddress, full.params.containerdVersion], [-8, '/s', '/a', 'v2.3.7']);
  // The options travel as the Any itself: the same bytes a 1.x containerd writes bare.
  assert.deepEqual(full.options, any);
  // No extension of a type we read: no options.
  const none = parseStartInput(bootstrapParams({ id: 'c1', namespace: 'default', address: '/a', ttrpc: '/t', extensions: [anyOf('google.protobuf.Empty', {})] }), 'c1', 'default');
  assert.equal(none.options.length, 0);
  // A BootstrapParams without instance_id is no BootstrapParams.
  assert.throws(() => parseStartInput(encode(B + 'BootstrapParams', { namespace: 'x', containerd_version: 'v2.3.7' }), 'c1', 'x'), /needs instance_id/);
});

test('the hand-encoded BootstrapResult decodes with the schema', () => {
  const r = decode(B + 'BootstrapResult', encodeBootstrapResult('unix:///run/containerd/s/abc'));
  assert.deepEqual([r.version, r.address, r.protocol], [3, 'unix:///run/containerd/s/abc', 'ttrpc']);
});

test('containerd\'s generation from the Go module info in its executable, without running it', () => {
  const one = goModInfo(CONTAINERD_1);
  const two = goModInfo(CONTAINERD_2);
  assert.match(one ?? '', /^path\tgithub\.com\/containerd\/containerd\/cmd\/containerd\n/m);
  assert.match(two ?? '', /^mod\tgithub\.com\/containerd\/containerd\/v2\tv2\.3\.7\t/m);
  assert.equal(containerdMajor(one!), 1);
  assert.equal(containerdMajor(two!), 2);
  assert.equal(legacyResponseForm(CONTAINERD_1), 'plain');
  assert.equal(legacyResponseForm(CONTAINERD_2), 'json');
  // Not Go, not ELF, missing: no module info, and the plain address (every generation takes it).
  assert.equal(goModInfo('/bin/sh'), null);
  assert.equal(goModInfo(__filename), null);
  assert.equal(goModInfo('/nonexistent'), null);
  assert.equal(legacyResponseForm(''), 'plain');
  // A binary that embeds containerd (k3s-like): the containerd module among its deps.
  assert.equal(containerdMajor('path\tgithub.com/k3s-io/k3s/cmd/server\ndep\tgithub.com/containerd/containerd/api\tv1.9.0\ndep\tgithub.com/containerd/containerd/v2\tv2.1.4\n'), 2);
  assert.equal(containerdMajor('path\tgithub.com/k3s-io/k3s\ndep\tgithub.com/containerd/containerd\tv1.7.27\n'), 1);
  assert.equal(containerdMajor('path\tgithub.com/example/tool\ndep\tgithub.com/containerd/containerd/api\tv1.9.0\n'), null);
  // The section's layout: header, varint-prefixed Go version, varint-prefixed framed module info.
  const framed = Buffer.concat([Buffer.alloc(16, 0xaa), Buffer.from('path\tx\nmod\tx\t(devel)\t\n'), Buffer.alloc(16, 0xbb)]);
  const header = Buffer.concat([Buffer.from('\xff Go buildinf:', 'latin1'), Buffer.from([8, 2]), Buffer.alloc(16)]);
  const section = Buffer.concat([header, Buffer.from([6]), Buffer.from('go1.22'), Buffer.from([framed.length]), framed]);
  assert.equal(parseBuildInfo(section), 'path\tx\nmod\tx\t(devel)\t\n');
  assert.equal(parseBuildInfo(Buffer.concat([header.subarray(0, 15), Buffer.from([0]), section.subarray(16)])), null, 'pre-1.18 layout (pointers)');
  assert.equal(parseBuildInfo(section.subarray(0, section.length - 5)), null, 'truncated');
});
