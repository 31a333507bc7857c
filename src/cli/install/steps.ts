/**
 * The file changes install and uninstall make, as values: printed (a line each, `--dry-run`
 * adds the diff), then applied in order. Every write goes to a temporary file in the same
 * directory and is renamed into place: containerd may exec the shim or read its config while
 * we work, and must see the old file or the new one, never half of one.
 */
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmdirSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { allOrUndone } from '../../all-or-undone';
import { unifiedDiff } from './diff';

export type Step =
  | { kind: 'mkdir'; path: string }
  | { kind: 'write'; path: string; before: string | null; after: string; what: string }
  | { kind: 'copy'; path: string; from: string; what: string }
  | { kind: 'symlink'; path: string; target: string; what: string }
  | { kind: 'remove'; path: string; before: string | null; what: string }
  | { kind: 'rmdir'; path: string };

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export const readText = (file: string): string | null => (existsSync(file) ? readFileSync(file, 'utf8') : null);

/** What is at `file`: nothing, a symbolic link (its target), or a file (its sha256). */
export function fileState(file: string): { kind: 'none' } | { kind: 'symlink'; target: string } | { kind: 'file'; sha256: string } {
  let st;
  try {
    st = lstatSync(file);
  } catch {
    return { kind: 'none' };
  }
  if (st.isSymbolicLink()) return { kind: 'symlink', target: readlinkSync(file) };
  return { kind: 'file', sha256: sha256(readFileSync(file)) };
}

/** The directories to create for `file`, outermost first. */
export function missingDirs(file: string): string[] {
  const out: string[] = [];
  for (let dir = path.dirname(file); !existsSync(dir); dir = path.dirname(dir)) out.unshift(dir);
  return out;
}

/** One line for a step: what was done, or (dry run) what would be done. */
export function describe(s: Step, dryRun = false): string {
  const v = (done: string, todo: string) => (dryRun ? `would ${todo}` : done);
  switch (s.kind) {
    case 'mkdir':
      return `${v('created', 'create')} directory ${s.path}`;
    case 'rmdir':
      return `${v('removed', 'remove')} directory ${s.path}`;
    case 'write':
      return s.before === null ? `${v('wrote', 'write')} ${s.path}: ${s.what}` : `${v('changed', 'change')} ${s.path}: ${s.what}`;
    case 'copy':
      return `${v('installed', 'install')} ${s.path}: ${s.what}`;
    case 'symlink':
      return `${v('linked', 'link')} ${s.path} -> ${s.target}: ${s.what}`;
    case 'remove':
      return `${v('removed', 'remove')} ${s.path}: ${s.what}`;
  }
}

/** The diff a dry run prints for a step ('' for steps without text). */
export function diffOf(s: Step): string {
  if (s.kind === 'write') return unifiedDiff(s.path, s.before, s.after);
  if (s.kind === 'remove' && s.before !== null) return unifiedDiff(s.path, s.before, null);
  return '';
}

function tempBeside(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.rx-${process.pid}`);
}

export function apply(s: Step): void {
  switch (s.kind) {
    case 'mkdir':
      mkdirSync(s.path, { mode: 0o755 });
      return;
    case 'rmdir':
      rmdirSync(s.path);
      return;
    case 'write': {
      const tmp = tempBeside(s.path);
      // An edited config keeps its mode (it may hold credentials: 0600); a new one is 0644.
      const mode = existsSync(s.path) ? statSync(s.path).mode & 0o7777 : 0o644;
      writeFileSync(tmp, s.after, { mode });
      chmodSync(tmp, mode);
      renameSync(tmp, s.path);
      return;
    }
    case 'copy': {
      const tmp = tempBeside(s.path);
      copyFileSync(s.from, tmp);
      chmodSync(tmp, 0o755);
      renameSync(tmp, s.path);
      return;
    }
    case 'symlink': {
      const tmp = tempBeside(s.path);
      symlinkSync(s.target, tmp);
      renameSync(tmp, s.path);
      return;
    }
    case 'remove':
      unlinkSync(s.path);
      return;
  }
}

/**
 * Put back what `apply(s)` changed, for a run that failed part way: so a failed install leaves
 * no half-install without a record (the record is written last). A removed executable or
 * record cannot come back (their bytes were not kept); everything else can.
 */
export function undo(s: Step): void {
  switch (s.kind) {
    case 'mkdir':
      rmdirSync(s.path);
      return;
    case 'rmdir':
      mkdirSync(s.path, { mode: 0o755 });
      return;
    case 'write':
      if (s.before === null) unlinkSync(s.path);
      else apply({ ...s, after: s.before, before: s.after });
      return;
    case 'copy':
    case 'symlink':
      unlinkSync(s.path);
      return;
    case 'remove':
      if (s.before !== null) apply({ kind: 'write', path: s.path, before: null, after: s.before, what: '' });
      return;
  }
}

/** Apply every step in order; when one fails, undo those done (newest first) and rethrow. */
export function applyAll(steps: Step[]): void {
  // best effort undo: the error that stopped the run is the one to report
  allOrUndone(steps, (s) => (apply(s), s), undo, 'continue');
}
