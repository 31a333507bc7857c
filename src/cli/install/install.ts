/**
 * `install`: puts the executable at <prefix>/bin/containerd-shim-rx-v2, writes the drop-in
 * naming the runtime for CRI (conf.d/<handler>.toml beside containerd's config, in the form of
 * the containerd `--version` reports) and our own config when missing, makes the main config
 * import the drop-in, and records it all. Idempotent: a second run changes nothing.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { layout, type InstallArgs } from './args';
import { criBase16 } from './cri16';
import { dropIn16, dropIn2, optionsFileText, type RuntimeEntry } from './dropin';
import { mainEdit, parseToml } from './main-config';
import { readRecord, recordText, type InstallRecord } from './record';
import type { Self } from './self';
import { fileState, missingDirs, readText, sha256, type Step } from './steps';

/** `containerd --version` (`containerd github.com/containerd/containerd/v2 2.3.7 <rev>`): its version field. */
export function containerdVersion(bin: string): string {
  let out: string;
  try {
    out = execFileSync(bin, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000 }).toString();
  } catch (err) {
    throw new Error(`cannot run \`${bin} --version\` (${(err as Error).message.split('\n')[0]}): the drop-in's form depends on containerd's version; pass --containerd <path of containerd>`);
  }
  const version = out.trim().split(/\s+/)[2];
  if (!version || !/^v?\d+\./.test(version)) throw new Error(`\`${bin} --version\` printed ${JSON.stringify(out.trim())}: no version in it`);
  return version.replace(/^v/, '');
}

export interface Plan {
  steps: Step[];
  notes: string[];
  record: InstallRecord;
}

export function planInstall(a: InstallArgs, version: string, me: Self): Plan {
  const L = layout(a);
  const prev = readRecord(L.record);
  if (prev && prev.handler !== a.handler) throw new Error(`installed already with --handler ${prev.handler} (${L.record}): uninstall that first`);
  const major = Number(version.split('.')[0]);
  const notes: string[] = [];
  const steps: Step[] = [];
  const entry: RuntimeEntry = { handler: a.handler, binary: L.binary, optionsFile: L.optionsFile };

  // containerd's main config: the one splice (or new file) that imports the drop-in.
  const mainBefore = readText(a.containerdConfig);
  if (major < 2 && mainBefore !== null) {
    const v = parseToml(mainBefore).version ?? 1;
    if (typeof v !== 'number' || v < 2) {
      throw new Error(`${a.containerdConfig} is a version ${String(v)} config; containerd 1.6 reads plugin tables by their full names only from version 2: migrate it (\`containerd config migrate\` on 1.7+, or by hand) first`);
    }
  }
  const edit = mainEdit(a.containerdConfig, mainBefore, L.dropIn, major < 2 ? 2 : 3);
  const mainAfter = edit.kind === 'none' ? mainBefore! : edit.text;

  let dropIn: string;
  if (major < 2) {
    const base = criBase16(a.containerdConfig, mainAfter, L.dropIn);
    dropIn = dropIn16(entry, base.table, base.from);
    notes.push(`containerd ${version} replaces a plugin's whole table with an imported file's: ${L.dropIn} carries a copy of the io.containerd.grpc.v1.cri table; after editing that table, run install again`);
  } else {
    dropIn = dropIn2(entry);
  }

  const files: InstallRecord['files'] = [];
  const owned = (file: string) => prev?.files.some((f) => f.path === file && fileState(file).kind === 'file' && sha256(readText(file)!) === f.sha256) ?? false;
  const want = (file: string, text: string, what: string) => {
    const before = readText(file);
    if (before !== text) steps.push({ kind: 'write', path: file, before, after: text, what });
    files.push({ path: file, sha256: sha256(text) });
  };

  // the executable
  const dest = fileState(L.binary);
  let binary: InstallRecord['binary'];
  if (me.kind === 'copy') {
    const sum = sha256(readFileSync(me.path));
    binary = { path: L.binary, kind: 'copy', sha256: sum };
    const same = dest.kind === 'file' && (dest.sha256 === sum || realpathSync(L.binary) === realpathSync(me.path));
    if (!same) steps.push({ kind: 'copy', path: L.binary, from: me.path, what: `this executable (${me.path})` });
  } else {
    binary = { path: L.binary, kind: 'symlink', target: me.target };
    if (!(dest.kind === 'symlink' && dest.target === me.target)) {
      steps.push({ kind: 'symlink', path: L.binary, target: me.target, what: 'the package launcher (it needs node on containerd\'s PATH)' });
    }
  }
  want(L.dropIn, dropIn, `runtime handler ${a.handler}: runtime_type io.containerd.rx.v2, runtime_path ${L.binary}`);
  if (readText(L.optionsFile) === null || owned(L.optionsFile)) {
    if (readText(L.optionsFile) === null) want(L.optionsFile, optionsFileText(L.dropIn), "the shim's own config (grouping, runc options)");
    else files.push({ path: L.optionsFile, sha256: sha256(readText(L.optionsFile)!) });
  } else {
    notes.push(`kept ${L.optionsFile} as it is (not written by install)`);
  }

  let mainConfig = prev?.mainConfig ?? null;
  if (edit.kind === 'create') {
    steps.push({ kind: 'write', path: a.containerdConfig, before: null, after: edit.text, what: `a new main config importing ${L.dropIn} (there was none)` });
    mainConfig = { path: a.containerdConfig, created: true, sha256: sha256(edit.text) };
  } else if (edit.kind === 'splice') {
    steps.push({ kind: 'write', path: a.containerdConfig, before: mainBefore, after: edit.text, what: `added ${JSON.stringify(L.dropIn)} to imports (nothing else changed)` });
    mainConfig = { path: a.containerdConfig, splice: edit.splice, sha256: sha256(edit.text) };
  }

  const record: InstallRecord = { format: 1, containerd: version, handler: a.handler, binary, files, mainConfig, dirs: [] };
  const targets = [L.binary, L.record, ...steps.filter((s) => s.kind === 'write').map((s) => s.path)];
  const dirs = [...new Set(targets.flatMap(missingDirs))].sort();
  record.dirs = [...new Set([...(prev?.dirs ?? []), ...dirs])];
  const text = recordText(record);
  if (readText(L.record) !== text) steps.push({ kind: 'write', path: L.record, before: readText(L.record), after: text, what: 'what uninstall undoes' });
  return { steps: [...dirs.map((d): Step => ({ kind: 'mkdir', path: d })), ...steps], notes, record };
}
