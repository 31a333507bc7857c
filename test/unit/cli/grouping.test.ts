import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { groupKey, groupingFromOptions } from '../../../src/cli/grouping';
import { encode } from '../../../src/proto';

const bundleWith = (annotations: Record<string, string> | null) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-group-'));
  if (annotations) writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ annotations }));
  return dir;
};

test('pod grouping: a CRI container joins its sandbox\'s group; the sandbox is its own', () => {
  const container = bundleWith({ 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'sb1' });
  assert.equal(groupKey('pod', 'c1', 'k8s.io', container), 'sb1');
  const sandbox = bundleWith({ 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'sb1' });
  assert.equal(groupKey('pod', 'sb1', 'k8s.io', sandbox), 'sb1');
});

test('pod grouping outside Kubernetes: one group per container', () => {
  assert.equal(groupKey('pod', 'c1', 'default', bundleWith({})), 'c1');
  assert.equal(groupKey('pod', 'c1', 'default', bundleWith(null)), 'c1');
});

test('namespace grouping: one group for the whole namespace', () => {
  assert.equal(groupKey('namespace', 'c1', 'default', bundleWith({ 'io.kubernetes.cri.sandbox-id': 'sb1' })), 'rx-namespace-default');
});

test('namespace grouping leaves a Sandbox API pod (its bundle in the shim sandbox controller\'s state dir) a process of its own', () => {
  const state = mkdtempSync(path.join(os.tmpdir(), 'rx-group-'));
  const bundle = path.join(state, 'io.containerd.sandbox.controller.v1.shim', 'k8s.io', 'sb1');
  assert.equal(groupKey('namespace', 'sb1', 'k8s.io', bundle), 'sb1');
  assert.equal(groupKey('namespace', 'c1', 'k8s.io', path.join(state, 'io.containerd.runtime.v2.task', 'k8s.io', 'c1')), 'rx-namespace-k8s.io');
});

test('the grouping comes from start\'s stdin: runtimeoptions naming our TOML', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-group-'));
  writeFileSync(path.join(dir, 'rx.toml'), 'grouping = "namespace"\n');
  const any = encode('google.protobuf.Any', {
    type_url: 'runtimeoptions.v1.Options',
    value: encode('runtimeoptions.v1.Options', { config_path: path.join(dir, 'rx.toml') }),
  });
  assert.equal(groupingFromOptions(any), 'namespace');
  assert.equal(groupingFromOptions(Buffer.alloc(0)), 'pod');
});
