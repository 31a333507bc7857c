import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ShimError } from '../../../src/errors';
import { encode } from '../../../src/proto';
import { onIgnoredConfigKey, parseShimConfig, runcOptions, shimConfigFrom } from '../../../src/runc/options';

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
  assert.throws(() => parseShimConfig('[runc]\nio_uid = "root"', 'x.toml'), invalid(/runc\.io_uid must be an integer from 0 to 4294967294 \(a uid or gid\), got "root"/));
  assert.throws(() => parseShimConfig('grouping = ', 'x.toml'), invalid(/x\.toml: not valid TOML/));
  assert.throws(() => shimConfigFrom({ type_url: 'runtimeoptions.v1.Options', value: encode('runtimeoptions.v1.Options', { config_path: '/nonexistent/rx.toml' }) }), invalid(/\/nonexistent\/rx\.toml: cannot read it: ENOENT/));
  assert.throws(() => shimConfigFrom({ type_url: 'example.com/Other', value: Buffer.from([1]) }), invalid(/unsupported runtime options type "example.com\/Other"/));
});

const body = (toml: string) => ({ type_url: 'runtimeoptions.v1.Options', value: encode('runtimeoptions.v1.Options', { config_body: Buffer.from(toml) }) });

test('a config that is not TOML: the file and the line number, never its content', () => {
  const text = 'grouping = "pod"\n# a comment\nsecret_token = hunter2-s3cr3t\n';
  assert.throws(() => parseShimConfig(text, '/etc/rx.toml'), (e: unknown) => {
    const m = (e as Error).message;
    assert.ok(e instanceof ShimError && e.kind === 'InvalidArgument');
    assert.match(m, /^config \/etc\/rx\.toml: not valid TOML at line 3, column 16 \(invalid value\)$/);
    assert.ok(!m.includes('hunter2') && !m.includes('secret_token') && !m.includes('\n'), m);
    return true;
  });
});

test('CRI 2.x options table in ConfigBody: runc option keys at the top level in Go spelling are applied', () => {
  // The bytes CRI 2.3 puts in ConfigBody for [...runtimes.rx.options]: the table read from
  // config.toml, marshalled again by pelletier/go-toml v2.2.4 (sorted keys, literal strings;
  // produced with that module from the Go module cache).
  const c = shimConfigFrom(body("BinaryName = '/usr/local/sbin/runc'\nIoGid = 1001\nIoUid = 1000\nRoot = '/run/rx-runc'\nShimCgroup = '/rx'\nSystemdCgroup = true\nTypeUrl = 'runtimeoptions.v1.Options'\n\n[runc]\nno_new_keyring = true\n"));
  assert.equal(c.runc.binary_name, '/usr/local/sbin/runc');
  assert.equal(c.runc.root, '/run/rx-runc');
  assert.equal(c.runc.shim_cgroup, '/rx');
  assert.equal(c.runc.systemd_cgroup, true);
  assert.equal(c.runc.io_uid, 1000);
  assert.equal(c.runc.io_gid, 1001);
  assert.equal(c.runc.no_new_keyring, true);
  assert.deepEqual(c.ignored, []);
  assert.equal(c.grouping, 'pod');
  // Case-insensitive as Go's TOML decoding; snake_case as ours; [runc] wins over the top level.
  const d = parseShimConfig('systemdcgroup = true\nno_new_keyring = true\ngrouping = "namespace"\n[runc]\nsystemd_cgroup = false\n', 'x');
  assert.equal(d.runc.systemd_cgroup, false);
  assert.equal(d.runc.no_new_keyring, true);
  assert.equal(d.grouping, 'namespace');
});

test('unknown top-level keys are ignored and reported once each; unknown keys inside [runc] stay InvalidArgument', () => {
  const seen: string[] = [];
  onIgnoredConfigKey((key, source) => seen.push(`${source}:${key}`));
  try {
    const toml = 'PodAnnotations = ["a"]\nSandboxer = "podsandbox"\n[extra]\nx = 1\n';
    const c = shimConfigFrom(body(toml));
    assert.deepEqual(c.ignored, ['PodAnnotations', 'Sandboxer', 'extra']);
    shimConfigFrom(body(toml)); // the next Create with the same options: not again
    assert.deepEqual(seen, ['(config body):PodAnnotations', '(config body):Sandboxer', '(config body):extra']);
  } finally {
    onIgnoredConfigKey(undefined);
  }
  assert.throws(() => parseShimConfig('[runc]\nBinary = "x"', 'x.toml'), invalid(/unknown key runc\.Binary/));
  assert.throws(() => parseShimConfig('runc = "x"', 'x.toml'), invalid(/runc must be a table \(\[runc\]\), got "x"/));
});

test('io_uid / io_gid out of range or not integers are InvalidArgument naming the key and the range', () => {
  for (const v of ['-1', '1.5', '4294967295', 'true']) {
    assert.throws(() => parseShimConfig(`IoUid = ${v}`, 'x.toml'), invalid(new RegExp(`x\\.toml: IoUid must be an integer from 0 to 4294967294 \\(a uid or gid\\), got "${v}"`)), v);
    assert.throws(() => parseShimConfig(`[runc]\nio_gid = ${v}`, 'x.toml'), invalid(/runc\.io_gid must be an integer from 0 to 4294967294/), v);
  }
  assert.equal(parseShimConfig('IoUid = 4294967294', 'x').runc.io_uid, 4294967294);
  assert.equal(parseShimConfig('IoUid = 0', 'x').runc.io_uid, 0);
});

test('relative paths are refused naming them: config_path, and root/criu paths in the config; bare command names are kept', () => {
  assert.throws(
    () => shimConfigFrom({ type_url: 'runtimeoptions.v1.Options', value: encode('runtimeoptions.v1.Options', { config_path: 'etc/rx.toml' }) }),
    invalid(/config_path "etc\/rx\.toml" is a relative path: expected an absolute path/),
  );
  assert.throws(() => parseShimConfig('[runc]\nroot = "run/runc"', 'x.toml'), invalid(/x\.toml: runc\.root = "run\/runc" is a relative path/));
  assert.throws(() => parseShimConfig('CriuImagePath = "img"', 'x.toml'), invalid(/CriuImagePath = "img" is a relative path/));
  assert.throws(() => parseShimConfig('BinaryName = "./runc"', 'x.toml'), invalid(/BinaryName = "\.\/runc" is a relative path: expected an absolute path or a bare command name/));
  assert.throws(() => parseShimConfig('[runc]\ncriu_path = "bin/criu"', 'x.toml'), invalid(/runc\.criu_path = "bin\/criu" is a relative path/));
  const ok = parseShimConfig('BinaryName = "crun"\n[runc]\ncriu_path = "criu"\nroot = "/run/r"', 'x');
  assert.equal(ok.runc.binary_name, 'crun');
  assert.equal(ok.runc.criu_path, 'criu');
});
