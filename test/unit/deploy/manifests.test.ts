/**
 * deploy/: the manifests parse, and hold what the DaemonSet relies on: kinds and apiVersions,
 * hostPID and privileged (nsenter --target 1), the hostPath mounts, the installer image of this
 * version, install in the node's mount namespace with the RuntimeClass's handler, containerd's
 * restart, uninstall on delete, and scripts sh reads without a syntax error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseYamlDocuments } from '../../helpers/yaml';
import { layout, parseInstallArgs } from '../../../src/cli/install/args';
import { installMain } from '../../../src/cli/install';

const repo = path.resolve(__dirname, '../../../..');
const read = (f: string) => readFileSync(path.join(repo, 'deploy', f), 'utf8');
const version = (JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const [ds] = parseYamlDocuments(read('daemonset.yaml')) as any[];
const [rc] = parseYamlDocuments(read('runtimeclass.yaml')) as any[];
const pod = ds.spec.template.spec;
const init = pod.initContainers[0];
const main = pod.containers[0];
const script: string = init.command[2];
const preStop: string = main.lifecycle.preStop.exec.command[2];

test('the YAML reader: nesting, sequences of mappings, literal blocks, quotes, comments; outside its subset it throws', () => {
  const [doc] = parseYamlDocuments("a: 1 # one\nb:\n  - x: 'it''s'\n    y: \"q\"\n  - plain: v:w\nc: |\n  line one\n  # kept\nd: true\n") as any[];
  assert.deepEqual(JSON.parse(JSON.stringify(doc)), { a: 1, b: [{ x: "it's", y: 'q' }, { plain: 'v:w' }], c: 'line one\n# kept\n', d: true });
  assert.throws(() => parseYamlDocuments('a: {b: 1}\n'), /outside the YAML subset/);
  assert.throws(() => parseYamlDocuments('a: 1\na: 2\n'), /key a twice/);
});

test('kinds and apiVersions: a DaemonSet (apps/v1) in kube-system, a RuntimeClass (node.k8s.io/v1)', () => {
  assert.deepEqual([ds.apiVersion, ds.kind, ds.metadata.namespace], ['apps/v1', 'DaemonSet', 'kube-system']);
  assert.deepEqual([rc.apiVersion, rc.kind], ['node.k8s.io/v1', 'RuntimeClass']);
  assert.deepEqual(ds.spec.selector.matchLabels, ds.spec.template.metadata.labels, 'the selector selects the pods');
});

test('the pod reaches the node: hostPID, privileged, hostPath /usr/local/bin and /etc/containerd mounted in both containers', () => {
  assert.equal(pod.hostPID, true);
  for (const c of [init, main]) {
    assert.equal(c.securityContext.privileged, true, c.name);
    assert.deepEqual(c.volumeMounts.map((m: any) => m.mountPath).sort(), ['/host/etc/containerd', '/host/usr/local/bin']);
  }
  const paths = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v.hostPath.path]));
  assert.deepEqual(paths, { 'usr-local-bin': '/usr/local/bin', 'etc-containerd': '/etc/containerd' });
  assert.ok(pod.tolerations.some((t: any) => t.operator === 'Exists'), 'runs on every node, tainted ones too');
});

test(`the image is the installer of this version (${version}), built by deploy/Dockerfile with the executable where the script copies it from`, () => {
  assert.equal(init.image, `ghcr.io/containerd-shim-rx/installer:${version}`);
  assert.equal(main.image, init.image);
  const docker = read('Dockerfile');
  assert.match(docker, /^COPY dist\/package\/linux-\$\{ARCH\}\/containerd-shim-rx-v2 \/opt\/containerd-shim-rx\/containerd-shim-rx-v2$/m);
  assert.match(script, /^cp \/opt\/containerd-shim-rx\/containerd-shim-rx-v2 \/host\/usr\/local\/bin\//m);
});

test('install runs in the node\'s mount namespace with the RuntimeClass\'s handler; containerd restarts; uninstall on delete', () => {
  const m = /nsenter --target 1 --mount -- (\S+) install --prefix (\S+) --containerd-config (\S+) --handler (\S+)/.exec(script);
  assert.ok(m, script);
  const [, , prefix, config, handler] = m;
  assert.equal(handler, rc.handler, 'the handler install writes is the RuntimeClass\'s');
  const a = parseInstallArgs(['install', '--prefix', prefix, '--containerd-config', config, '--handler', handler]);
  assert.equal(layout(a).binary, '/usr/local/bin/containerd-shim-rx-v2', 'where the hostPath mount puts it');
  assert.match(script, new RegExp(`cat /host${layout(a).dropIn.replace(/\./g, '\\.')}`), 'the log shows the drop-in install wrote');
  assert.match(script, /nsenter --target 1 --mount --uts --ipc --net --pid -- systemctl restart containerd/);
  assert.match(preStop, new RegExp(`nsenter --target 1 --mount -- ${layout(a).binary} uninstall --prefix ${prefix} --containerd-config ${config} && .*systemctl restart containerd`));
  for (const s of [script, preStop, main.command[2]]) execFileSync('sh', ['-n', '-c', s]);
});

test('the init container restarts containerd exactly when install says containerd must restart (its grep matches install\'s line)', () => {
  const grep = /grep -q '([^']+)' \/tmp\/install\.out/.exec(script);
  assert.ok(grep, 'the script decides by grep');
  const re = new RegExp(grep[1], 'm');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-unit-deploy-'));
  try {
    const fake = path.join(dir, 'containerd');
    writeFileSync(fake, '#!/bin/sh\necho containerd github.com/containerd/containerd/v2 2.3.7 abc\n', { mode: 0o755 });
    const args = ['install', '--prefix', path.join(dir, 'p'), '--containerd-config', path.join(dir, 'etc', 'config.toml'), '--containerd', fake];
    const outputs = [0, 1].map(() => {
      let out = '';
      installMain(args, (s) => (out += s));
      return out;
    });
    assert.match(outputs[0], re, 'the first install changes the config: restart');
    assert.doesNotMatch(outputs[1], re, 'the second changes nothing: no restart');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
