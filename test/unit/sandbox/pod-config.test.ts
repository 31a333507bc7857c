import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShimError } from '../../../src/errors';
import { encode } from '../../../src/proto';
import { holderCommand } from '../../../src/sandbox/holder';
import { podConfig } from '../../../src/sandbox/pod-config';
import { platform } from '../../../src/sandbox/platform';

const cri = (value: object) => ({ type_url: 'runtime.v1.PodSandboxConfig', value: encode('runtime.v1.PodSandboxConfig', value) });

test('a host-network CRI pod owns pid and ipc but not the network; hostname and cgroup parent are read', () => {
  const c = podConfig(cri({ hostname: 'web-0', linux: { cgroup_parent: '/kubepods/pod1', security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } } }));
  assert.deepEqual(c, { hostname: 'web-0', ownNetwork: false, ownPid: true, ownIpc: true, cgroupParent: '/kubepods/pod1' });
});

test('NODE pid and ipc: the pod shares the node\'s', () => {
  const c = podConfig(cri({ linux: { security_context: { namespace_options: { pid: 'NODE', ipc: 'NODE' } } } }));
  assert.equal(c.ownPid, false);
  assert.equal(c.ownIpc, false);
  assert.equal(c.ownNetwork, true);
});

test('no options: own namespaces; a type_url with a prefix is taken by its name', () => {
  assert.deepEqual(podConfig(null), { hostname: '', ownNetwork: true, ownPid: true, ownIpc: true, cgroupParent: '' });
  assert.equal(podConfig({ ...cri({ hostname: 'h' }), type_url: 'type.googleapis.com/runtime.v1.PodSandboxConfig' }).hostname, 'h');
});

test('options of another type are InvalidArgument naming the type and what was expected', () => {
  assert.throws(() => podConfig({ type_url: 'containerd.runc.v1.Options', value: Buffer.alloc(0) }), (err: unknown) => {
    assert.ok(err instanceof ShimError);
    assert.equal(err.kind, 'InvalidArgument');
    assert.match(err.message, /containerd\.runc\.v1\.Options/);
    assert.match(err.message, /runtime\.v1\.PodSandboxConfig/);
    return true;
  });
  assert.throws(() => podConfig({ type_url: 'runtime.v1.PodSandboxConfig', value: Buffer.from([0xff, 0xff, 0xff]) }), /not a valid runtime\.v1\.PodSandboxConfig/);
});

test('the holder never sets a hostname in the node\'s uts namespace (host network), and joins netns_path with nsenter', () => {
  const host = holderCommand({ hostname: 'node-name', ownNetwork: false, ownPid: true, ownIpc: true, cgroupParent: '' }, '');
  assert.equal(host.file, 'unshare');
  assert.ok(!host.args.includes('--uts'), host.args.join(' '));
  assert.equal(host.args[host.args.length - 1], '', 'no hostname argument');
  assert.ok(host.args.includes('--pid') && host.args.includes('--ipc'));
  const own = holderCommand({ hostname: 'pod-h', ownNetwork: true, ownPid: false, ownIpc: false, cgroupParent: '' }, '/var/run/netns/cni-1');
  assert.equal(own.file, 'nsenter');
  assert.equal(own.args[0], '--net=/var/run/netns/cni-1');
  assert.ok(own.args.includes('--uts') && !own.args.includes('--pid') && !own.args.includes('--ipc'), own.args.join(' '));
  assert.equal(own.args[own.args.length - 1], 'pod-h');
});

test('Platform names Go\'s architecture (x64 is amd64, arm gets v7)', () => {
  assert.deepEqual(platform('x64'), { os: 'linux', architecture: 'amd64', variant: '' });
  assert.deepEqual(platform('arm'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.equal(platform('arm64').architecture, 'arm64');
});
