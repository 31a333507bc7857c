import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'smol-toml';
import { addImport, applySplice, importsCover, undoSplice } from '../../../src/cli/install/imports';
import { mainEdit } from '../../../src/cli/install/main-config';
import { dropIn16, dropIn2 } from '../../../src/cli/install/dropin';
import { criBase16 } from '../../../src/cli/install/cri16';
import { unifiedDiff } from '../../../src/cli/install/diff';
import { parseInstallArgs } from '../../../src/cli/install/args';
import { planInstall } from '../../../src/cli/install/install';
import { planUninstall } from '../../../src/cli/install/uninstall';
import { apply, applyAll } from '../../../src/cli/install/steps';

const DROP = '/etc/containerd/conf.d/rx.toml';
const CFG = '/etc/containerd/config.toml';

test('imports: a new line after the top-level version line, or first; an existing array gets our entry appended', () => {
  const cases: Array<[string, string]> = [
    ['version = 2\nroot = "/r"\n', `version = 2\nimports = ["${DROP}"]\nroot = "/r"\n`],
    ['root = "/r"\n[grpc]\n  address = "/a"\n', `imports = ["${DROP}"]\nroot = "/r"\n[grpc]\n  address = "/a"\n`],
    ['version = 3', `version = 3\nimports = ["${DROP}"]\n`],
    ['imports = []\n', `imports = ["${DROP}"]\n`],
    ['imports = ["/a.toml"]\n', `imports = ["/a.toml", "${DROP}"]\n`],
    ['imports = ["/a.toml",]\n', `imports = ["/a.toml", "${DROP}",]\n`],
    // a multi-line array with comments, a `#` and a `]` inside strings
    ['imports = [\n  "/a#b.toml", # one\n  "/c].toml"  # two\n]\n', `imports = [\n  "/a#b.toml", # one\n  "/c].toml", "${DROP}"  # two\n]\n`],
  ];
  for (const [before, after] of cases) {
    const hasImports = 'imports' in parse(before);
    const edit = mainEdit(CFG, before, DROP, 2);
    assert.equal(edit.kind, 'splice', before);
    assert.equal(edit.kind === 'splice' && edit.text, after, before);
    assert.equal(applySplice(before, addImport(before, DROP, hasImports)), after);
  }
});

test('imports: a config whose imports load the drop-in already (by glob, by relative path) is left alone', () => {
  for (const imports of [['/etc/containerd/conf.d/*.toml'], ['conf.d/*.toml'], ['conf.d/rx.toml'], ['/x.toml', '/etc/containerd/conf.d/r?.toml']]) {
    assert.ok(importsCover(imports, CFG, DROP), imports.join());
    assert.equal(mainEdit(CFG, `imports = ${JSON.stringify(imports)}\n`, DROP, 3).kind, 'none');
  }
  assert.equal(importsCover(['/etc/containerd/*.toml'], CFG, DROP), false, 'a * never matches a /');
  assert.equal(importsCover(['conf.d/*.yaml'], CFG, DROP), false);
});

test('imports: no config file yields a new one of version and imports; an invalid config is refused', () => {
  const edit = mainEdit(CFG, null, DROP, 2);
  assert.equal(edit.kind, 'create');
  const doc = parse(edit.kind === 'create' ? edit.text : '');
  assert.deepEqual([doc.version, doc.imports], [2, [DROP]]);
  assert.throws(() => mainEdit(CFG, 'version = = 2\n', DROP, 2), /not valid TOML/);
  assert.throws(() => mainEdit(CFG, 'imports = "/x.toml"\n', DROP, 2), /imports is not a list of strings/);
});

test('undoSplice restores the bytes: at the offset, or where the added text is once after other edits; null when gone', () => {
  const before = 'version = 2\n# the operator\'s comment\n[plugins]\n';
  const edit = mainEdit(CFG, before, DROP, 2);
  assert.equal(edit.kind, 'splice');
  if (edit.kind !== 'splice') return;
  assert.equal(undoSplice(edit.text, edit.splice), before);
  const edited = '# a line the operator added on top\n' + edit.text;
  assert.equal(undoSplice(edited, edit.splice), '# a line the operator added on top\n' + before);
  assert.equal(undoSplice(before, edit.splice), null);
});

test('drop-ins: the 2.x one names the runtime under cri.v1.runtime; the 1.6 one carries the CRI table it replaces', () => {
  const e = { handler: 'rx', binary: '/usr/local/bin/containerd-shim-rx-v2', optionsFile: '/etc/containerd/containerd-shim-rx.toml' };
  const two = parse(dropIn2(e)) as any;
  assert.equal(two.version, 3);
  assert.deepEqual(JSON.parse(JSON.stringify(two.plugins['io.containerd.cri.v1.runtime'].containerd.runtimes.rx)), {
    runtime_type: 'io.containerd.rx.v2',
    runtime_path: e.binary,
    options: { TypeUrl: 'runtimeoptions.v1.Options', ConfigPath: e.optionsFile },
  });
  const base = { sandbox_image: 'pause:3', containerd: { default_runtime_name: 'runc', runtimes: { runc: { runtime_type: 'io.containerd.runc.v2', options: { SystemdCgroup: true } }, rx: { runtime_type: 'old' } } } };
  const one = parse(dropIn16(e, base, ['/etc/containerd/config.toml'])) as any;
  const cri = one.plugins['io.containerd.grpc.v1.cri'];
  assert.equal(one.version, 2);
  assert.equal(cri.sandbox_image, 'pause:3');
  assert.deepEqual(JSON.parse(JSON.stringify(cri.containerd.runtimes.runc)), base.containerd.runtimes.runc);
  assert.equal(cri.containerd.runtimes.rx.runtime_type, 'io.containerd.rx.v2', 'our runtime replaces an older entry of the handler');
  assert.equal(parse(dropIn16(e, undefined, [])).version, 2);
});

test('1.6 load order: the CRI table comes from the last file before ours; a file loaded after ours that sets it is refused', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-unit-install-'));
  try {
    const main = path.join(dir, 'config.toml');
    const ours = path.join(dir, 'conf.d', 'rx.toml');
    mkdirSync(path.join(dir, 'conf.d'));
    writeFileSync(path.join(dir, 'conf.d', 'a.toml'), '[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "from-a"\n');
    const text = 'version = 2\nimports = ["conf.d/*.toml"]\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "from-main"\n';
    const base = criBase16(main, text, ours);
    assert.deepEqual([base.table?.sandbox_image, base.from], ['from-a', [path.join(dir, 'conf.d', 'a.toml')]]);
    writeFileSync(path.join(dir, 'conf.d', 'z.toml'), '[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "from-z"\n');
    assert.throws(() => criBase16(main, text, ours), /z\.toml, loaded after .*rx\.toml, sets the io\.containerd\.grpc\.v1\.cri table/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unifiedDiff: one hunk with context for an added line; /dev/null for a new file; nothing for equal texts', () => {
  assert.equal(unifiedDiff('/c', 'a\nb\nc\n', 'a\nx\nb\nc\n'), '--- a/c\n+++ b/c\n@@ -1,3 +1,4 @@\n a\n+x\n b\n c\n');
  assert.equal(unifiedDiff('/n', null, 'one\n'), '--- /dev/null\n+++ b/n\n@@ -0,0 +1,1 @@\n+one\n');
  assert.equal(unifiedDiff('/s', 'same\n', 'same\n'), '');
});

test('install flags: defaults, --flag value and --flag=value, a bad handler refused', () => {
  const a = parseInstallArgs(['install']);
  assert.deepEqual([a.prefix, a.containerdConfig, a.handler, a.dryRun, a.containerd], ['/usr/local', CFG, 'rx', false, 'containerd']);
  const b = parseInstallArgs(['uninstall', '--prefix', '/opt/rx', '--handler=rx2', '--dry-run']);
  assert.deepEqual([b.action, b.prefix, b.handler, b.dryRun], ['uninstall', '/opt/rx', 'rx2', true]);
  assert.throws(() => parseInstallArgs(['install', '--handler', 'a.b']), /letters, digits/);
  assert.throws(() => parseInstallArgs(['install', '--bogus']), /unknown flag --bogus/);
  assert.throws(() => parseInstallArgs(['install', '--prefix']), /needs a value/);
});

test('plan: install twice is one set of changes then none; an edited options file is kept by uninstall, the rest undone', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-unit-plan-'));
  try {
    const config = path.join(dir, 'etc', 'config.toml');
    mkdirSync(path.dirname(config));
    const original = 'version = 3\n\n[plugins."io.containerd.cri.v1.runtime"]\n  enable_selinux = false\n';
    writeFileSync(config, original);
    const exe = path.join(dir, 'exe');
    writeFileSync(exe, 'binary');
    const a = parseInstallArgs(['install', '--prefix', path.join(dir, 'p'), '--containerd-config', config]);
    const first = planInstall(a, '2.3.7', { kind: 'copy', path: exe });
    first.steps.forEach(apply);
    assert.ok(first.steps.some((s) => s.kind === 'copy'));
    assert.deepEqual(planInstall(a, '2.3.7', { kind: 'copy', path: exe }).steps, [], 'idempotent');
    const options = path.join(dir, 'etc', 'containerd-shim-rx.toml');
    writeFileSync(options, 'grouping = "namespace"\n');
    const un = planUninstall({ ...a, action: 'uninstall' })!;
    un.steps.forEach(apply);
    assert.ok(un.notes.some((n) => n.startsWith(`kept ${options}`)), un.notes.join('\n'));
    assert.equal(readFileSync(config, 'utf8'), original);
    assert.equal(readFileSync(options, 'utf8'), 'grouping = "namespace"\n');
    assert.equal(planUninstall({ ...a, action: 'uninstall' }), null, 'the record is gone');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run that fails part way undoes what it did: no drop-in, no directory, the main config as it was', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-unit-fail-'));
  try {
    const config = path.join(dir, 'etc', 'config.toml');
    mkdirSync(path.dirname(config));
    writeFileSync(config, 'version = 3\n');
    const exe = path.join(dir, 'exe');
    writeFileSync(exe, 'binary');
    const a = parseInstallArgs(['install', '--prefix', path.join(dir, 'p'), '--containerd-config', config]);
    const { steps } = planInstall(a, '2.3.7', { kind: 'copy', path: exe });
    // one more step that fails (a file in a directory that is not there), after all of install's
    const broken = [...steps, { kind: 'write' as const, path: path.join(dir, 'missing', 'x'), before: null, after: '', what: '' }];
    assert.throws(() => applyAll(broken), /ENOENT/);
    assert.equal(readFileSync(config, 'utf8'), 'version = 3\n');
    assert.deepEqual(readdirSync(dir).sort(), ['etc', 'exe']);
    assert.deepEqual(readdirSync(path.join(dir, 'etc')), ['config.toml']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
