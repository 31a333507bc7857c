import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags, UsageError } from '../../../src/cli/flags';
import { socketAddress } from '../../../src/cli/address';
import { encodeDeleteResponse } from '../../../src/cli/delete-response';
import { decode } from '../../../src/proto';

test('flags as containerd passes them to start: single dash, values apart, action last', () => {
  const f = parseFlags(['-namespace', 'default', '-address', '/run/containerd/containerd.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'c1', '-debug', 'start']);
  assert.equal(f.namespace, 'default');
  assert.equal(f.address, '/run/containerd/containerd.sock');
  assert.equal(f.publishBinary, '/usr/bin/containerd');
  assert.equal(f.id, 'c1');
  assert.equal(f.debug, true);
  assert.equal(f.action, 'start');
});

test('Go flag syntax: -name=value, --name, -bool=false; no action means serve', () => {
  const f = parseFlags(['--namespace=k8s.io', '-id=x', '-debug=false', '-bundle', '/b']);
  assert.deepEqual([f.namespace, f.id, f.debug, f.bundle, f.action], ['k8s.io', 'x', false, '/b', '']);
  assert.equal(parseFlags(['-v']).version, true);
});

test('an unknown flag, an unknown action, a missing value: a usage error naming it', () => {
  assert.throws(() => parseFlags(['-nope']), (e: unknown) => e instanceof UsageError && /flag provided but not defined: -nope/.test(e.message));
  assert.throws(() => parseFlags(['-namespace', 'x', 'stop']), /unknown action "stop": expected start, delete/);
  assert.throws(() => parseFlags(['-namespace']), /flag needs an argument: -namespace/);
  assert.throws(() => parseFlags(['-debug=maybe']), /invalid boolean value "maybe" for -debug/);
});

test('socket address is unix:///run/containerd/s/ + sha256(address/namespace/id), as the Go shim computes it', () => {
  // The `address` file Debian's containerd-shim-runc-v2 wrote for container t2 of a containerd at /tmp/ctd.
  assert.equal(
    socketAddress('/tmp/ctd/containerd.sock', 'default', 't2'),
    'unix:///run/containerd/s/ffdb065bd1dba8634e603affbc8e7f7c882973cb32aadac785280b39eaf9dc15',
  );
  assert.notEqual(socketAddress('/a.sock', 'default', 'c1'), socketAddress('/b.sock', 'default', 'c1'));
});

test('the hand-encoded DeleteResponse decodes with the schema to the same values', () => {
  const at = new Date(1700000000123);
  const r = decode('containerd.task.v2.DeleteResponse', encodeDeleteResponse(4242, 137, at));
  assert.equal(r.pid, 4242);
  assert.equal(r.exit_status, 137);
  assert.equal(r.exited_at.seconds, 1700000000);
  assert.equal(r.exited_at.nanos, 123000000);
});
