import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ShimError } from '../../../src/errors';
import { encode } from '../../../src/proto';
import { parseShimConfig, runcOptions, shimConfigFrom } from '../../../src/task/options';

const invalid = (re: RegExp) => (e: unknown) => e instanceof ShimError && e.kind === 'InvalidArgument' && re.test(e.message);

test('containerd.runc.v1.Options pass through with their fields', () => {
  const any = { type_url: 'containerd.runc.v1.Options', value: encode('containerd.runc.v1.Options', { binary_name: '/usr/sbin/runc', root: '/run/x', io_uid: 1000, systemd_cgroup: true }) };
  const o = runcOptions(any);
  assert.equal(o.binary_name, '/usr/sbin/runc');
  assert.equal(o.root, '/run/x');
  assert.equal(o.io_uid, 1000);
  assert.equal(o.systemd_cgroup, true);
  assert.equal(o.no_pivot_root, false);
});

test('no options at all are the defaults', () => {
  assert.deepEqual(shimConfigFrom(undefined).grouping, 'pod');
  assert.equal(runcOptions(undefined).binary_name, '');
});

test('runtimeoptions.v1.Options: our TOML config by path or as a body, snake_case or Go names', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-opts-'));
  const file = path.join(dir, 'rx.toml');
  writeFileSync(file, 'grouping = "namespace"\n[runc]\nBinaryName = "/opt/runc"\nno_new_keyring = true\nIoGid = 7\n');
  const byPath = shimConfigFrom({ type_url: 'runtimeoptions.v1.Options', value: encode('runtimeoptions.v1.Options', { config_path: file }) });
  assert.equal(byPath.grouping, 'namespace');
  assert.equal(byPath.runc.binary_name, '/opt/runc');
  assert.equal(byPath.runc.no_new_keyring, true);
  assert.equal(byPath.runc.io_gid, 7);
  const byBody = shimConfigFrom({ type_url: 'runtimeoptions.v1.Options', value: encode('runtimeoptions.v1.Options', { config_body: Buffer.from('grouping = "pod"') }) });
  assert.equal(byBody.grouping, 'pod');
});

test('bad config is InvalidArgument naming what was wrong and what was expected', () => {
  assert.throws(() => parseShimConfig('grouping = "cluster"', 'x.toml'), invalid(/x\.toml: grouping = "cluster": expected "pod" or "namespace"/));
  assert.throws(() => parseShimConfig('[runc]\nbinary = "x"', 'x.toml'), invalid(/unknown key runc\.binary \(expected one of no_pivot_root, .*binary_name/));
  assert.throws(() => parseShimConfig('[runc]\nio_uid = "root"', 'x.toml'), invalid(/runc\.io_uid must be a number/));
  assert.throws(() => parseShimConfig('grouping = ', 'x.toml'), invalid(/x\.toml: not valid TOML/));
  assert.throws(() => shimConfigFrom({ type_url: 'runtimeoptions.v1.Options', value: encode('runtimeoptions.v1.Options', { config_path: '/nonexistent/rx.toml' }) }), invalid(/\/nonexistent\/rx\.toml: cannot read it: ENOENT/));
  assert.throws(() => shimConfigFrom({ type_url: 'example.com/Other', value: Buffer.from([1]) }), invalid(/unsupported runtime options type "example.com\/Other"/));
});
