/** `-info` through the built launcher as containerd 2.x runs it: `<shim> -info`, options (or none) on stdin. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../helpers/run';
import { decode, encode } from '../../../src/proto';
import { parseFlags } from '../../../src/cli/flags';
import { VERSION } from '../../../src/cli/version';

const launcher = path.resolve(__dirname, '../../../../bin/containerd-shim-rx-v2');
const FEATURES = 'types.containerd.io/opencontainers/runtime-spec/1/features/Features';
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'rx-info-'));
  dirs.push(d);
  return d;
}

/** A runc stand-in: counts its `features` calls in <dir>/calls and prints `json` (or fails). */
function fakeRunc(dir: string, json: string | null): string {
  const file = path.join(dir, 'fake-runc');
  const body = json === null ? 'exit 1' : `printf '%s' '${json}'`;
  writeFileSync(file, `#!/bin/sh\necho "$1" >> ${path.join(dir, 'calls')}\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

const runcOptions = (o: object) => encode('google.protobuf.Any', { type_url: 'containerd.runc.v1.Options', value: encode('containerd.runc.v1.Options', o) });

test('-info alone (no namespace, empty stdin): a RuntimeInfo with our name, version and runc\'s features document; nothing on stderr', async () => {
  const r = await run(launcher, ['-info']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const info = decode('containerd.types.RuntimeInfo', r.stdout);
  assert.equal(info.name, 'io.containerd.rx.v2');
  assert.equal(info.version.version, VERSION);
  assert.ok(info.version.revision.length > 0);
  assert.equal(info.options, null, 'no options in, none echoed');
  assert.equal(info.features.type_url, FEATURES);
  const ours = JSON.parse(info.features.value.toString('utf8'));
  assert.deepEqual(ours, JSON.parse(execFileSync('runc', ['features']).toString()));
  assert.ok(ours.ociVersionMax);
});

test('-info with runc options: features of the binary_name they name, asked once; the options echoed', async () => {
  const dir = tmp();
  const runc = fakeRunc(dir, '{"ociVersionMin":"1.0.0","ociVersionMax":"1.9.9","annotations":{"org.example":"x"}}');
  const options = runcOptions({ binary_name: runc });
  const r = await run(launcher, ['-info'], { input: options });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const info = decode('containerd.types.RuntimeInfo', r.stdout);
  assert.deepEqual(JSON.parse(info.features.value.toString()), { ociVersionMin: '1.0.0', ociVersionMax: '1.9.9', annotations: { 'org.example': 'x' } });
  assert.equal(readFileSync(path.join(dir, 'calls'), 'utf8'), 'features\n');
  assert.equal(info.options.type_url, 'containerd.runc.v1.Options');
  assert.equal(decode('containerd.runc.v1.Options', info.options.value).binary_name, runc);
});

test('-info when the runtime has no `features` command still succeeds, without features (as the Go shim)', async () => {
  const dir = tmp();
  const r = await run(launcher, ['-info'], { input: runcOptions({ binary_name: fakeRunc(dir, null) }) });
  assert.equal(r.code, 0, r.stderr);
  const info = decode('containerd.types.RuntimeInfo', r.stdout);
  assert.equal(info.name, 'io.containerd.rx.v2');
  assert.equal(info.features, null);
});

test('-info with options of a type we do not read: exit 1, the type named on stderr', async () => {
  const r = await run(launcher, ['-info'], { input: encode('google.protobuf.Any', { type_url: 'example.com/Nope', value: Buffer.from([8, 1]) }) });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^containerd-shim-rx-v2: -info: failed to read runtime options from stdin: unsupported runtime options type "example.com\/Nope"/);
  assert.equal(r.stdout.length, 0);
});

test('-info is a flag as Go\'s flag package reads it', () => {
  assert.equal(parseFlags(['-info']).info, true);
  assert.equal(parseFlags(['--info=false']).info, false);
});
