/**
 * `uninstall`: undoes what the record says install did, and only while each thing is still as
 * install left it: a file edited since is kept (and named), the main config gets its splice
 * undone (byte for byte the file it was, when nothing else changed in it), directories install
 * created go once empty.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { layout, type InstallArgs } from './args';
import { undoSplice } from './imports';
import { readRecord } from './record';
import { fileState, readText, sha256, type Step } from './steps';

export function planUninstall(a: InstallArgs): { steps: Step[]; notes: string[] } | null {
  const L = layout(a);
  const rec = readRecord(L.record);
  if (!rec) return null;
  const steps: Step[] = [];
  const notes: string[] = [];
  const keep = (file: string, why: string) => notes.push(`kept ${file}: ${why}`);

  const m = rec.mainConfig;
  if (m) {
    const now = readText(m.path);
    if (now === null) notes.push(`${m.path} is gone already`);
    else if ('created' in m) {
      if (sha256(now) === m.sha256) steps.push({ kind: 'remove', path: m.path, before: now, what: 'install created it' });
      else keep(m.path, `install created it, but it changed since; remove ${JSON.stringify(layout(a).dropIn)} from its imports by hand`);
    } else {
      const undone = undoSplice(now, m.splice);
      if (undone === null) keep(m.path, `its imports no longer hold what install added (${m.splice.added.trim()}); remove it by hand`);
      else steps.push({ kind: 'write', path: m.path, before: now, after: undone, what: /^\s*imports\s*=/.test(m.splice.added) ? 'removed the imports line install added' : `removed ${m.splice.added.trim()} from imports (what install added)` });
    }
  }
  for (const f of rec.files) {
    const st = fileState(f.path);
    if (st.kind === 'none') continue;
    if (st.kind === 'file' && st.sha256 === f.sha256) steps.push({ kind: 'remove', path: f.path, before: readText(f.path), what: 'install wrote it' });
    else keep(f.path, 'changed since install wrote it');
  }
  const b = rec.binary;
  const st = fileState(b.path);
  if (st.kind !== 'none') {
    const ours = b.kind === 'copy' ? st.kind === 'file' && st.sha256 === b.sha256 : st.kind === 'symlink' && st.target === b.target;
    if (ours) steps.push({ kind: 'remove', path: b.path, before: null, what: 'install put it there' });
    else keep(b.path, 'not the file install put there');
  }
  steps.push({ kind: 'remove', path: L.record, before: null, what: 'the record of the install' });

  // Directories install created, innermost first, each once nothing else is left in it.
  const gone = new Set(steps.filter((s) => s.kind === 'remove').map((s) => s.path));
  for (const dir of [...rec.dirs].sort().reverse()) {
    if (!existsSync(dir)) continue;
    if (readdirSync(dir).every((n) => gone.has(path.join(dir, n)))) {
      steps.push({ kind: 'rmdir', path: dir });
      gone.add(dir);
    } else keep(dir, 'not empty');
  }
  return { steps, notes };
}
