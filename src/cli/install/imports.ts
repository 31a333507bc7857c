/**
 * containerd's `imports` list in its main config, read and edited as containerd reads it
 * (v2.3.7 cmd/containerd/server/config/config.go resolveImports; 1.6 services/server/config the
 * same): a relative entry is relative to the importing file's directory, an entry with `*` is a
 * filepath.Glob. We only ever splice one piece of text into the file, so the operator's
 * comments, order and layout stay as they were, and the splice is recorded to be undone exactly.
 */
import path from 'node:path';

/** One text splice: at `offset`, `removed` was replaced by `added`. */
export interface Splice {
  offset: number;
  removed: string;
  added: string;
}

export const applySplice = (text: string, s: Splice): string => text.slice(0, s.offset) + s.added + text.slice(s.offset + s.removed.length);

/**
 * Undo a splice: at its offset if the text there is still ours, else where `added` occurs
 * exactly once (the operator edited elsewhere in the file); null when neither holds.
 */
export function undoSplice(text: string, s: Splice): string | null {
  if (text.slice(s.offset, s.offset + s.added.length) === s.added) return text.slice(0, s.offset) + s.removed + text.slice(s.offset + s.added.length);
  const at = text.indexOf(s.added);
  if (at < 0 || text.indexOf(s.added, at + 1) >= 0) return null;
  return text.slice(0, at) + s.removed + text.slice(at + s.added.length);
}

/** filepath.Glob's `*` and `?` (they never match `/`), anchored. */
function globRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/** Whether one of `imports` (of the config at `configPath`) loads the file `file`. */
export function importsCover(imports: readonly string[], configPath: string, file: string): boolean {
  const target = path.resolve(file);
  return imports.some((entry) => {
    const abs = path.resolve(path.dirname(configPath), entry);
    return abs.includes('*') || abs.includes('?') ? globRegExp(abs).test(target) : abs === target;
  });
}

/** End (exclusive) of the string literal opening at `i` (basic, literal, multi-line). */
function stringEnd(text: string, i: number): number {
  const q = text[i];
  const close = text.startsWith(q.repeat(3), i) ? q.repeat(3) : q;
  let j = i + close.length;
  while (j < text.length && !text.startsWith(close, j)) j += q === '"' && text[j] === '\\' ? 2 : 1;
  return j + close.length;
}

/**
 * Walk TOML text from `from`, skipping strings and comments; `visit` sees every other character
 * with whether it starts its line, and stops the walk by returning true. Returns where it
 * stopped (text.length if never). `lastEnd` is kept at the end of the last token seen.
 */
function walk(text: string, from: number, visit: (ch: string, i: number, lineStart: boolean) => boolean): { at: number; lastEnd: number } {
  let lineStart = true;
  let lastEnd = from;
  for (let i = from; i < text.length; i++) {
    const ch = text[i];
    if (ch === '#') {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
      continue;
    }
    if (ch === '"' || ch === "'") {
      i = stringEnd(text, i) - 1;
      lastEnd = i + 1;
      lineStart = false;
      continue;
    }
    if (visit(ch, i, lineStart)) return { at: i, lastEnd };
    if (ch === '\n') lineStart = true;
    else if (!/\s/.test(ch)) {
      lineStart = false;
      lastEnd = i + 1;
    }
  }
  return { at: text.length, lastEnd };
}

const firstTable = (text: string) => walk(text, 0, (ch, _i, lineStart) => lineStart && ch === '[').at;

const tomlString = (s: string) => JSON.stringify(s);

/**
 * The splice that makes the config import `entry`: a new `imports = [...]` line when the file has
 * none (after a top-level `version` line, else first), or `entry` appended to the existing array.
 * `text` must hold a top-level `imports` array iff `hasImports`; the caller re-parses the result
 * and checks nothing else moved.
 */
export function addImport(text: string, entry: string, hasImports: boolean): Splice {
  const top = firstTable(text);
  const head = text.slice(0, top);
  if (!hasImports) {
    const line = `imports = [${tomlString(entry)}]\n`;
    const version = /^[ \t]*version[ \t]*=[^\n]*(\n|$)/m.exec(head);
    if (!version) return { offset: 0, removed: '', added: line };
    const end = version.index + version[0].length;
    return { offset: end, removed: '', added: (version[1] ? '' : '\n') + line };
  }
  const key = /^[ \t]*imports[ \t]*=[ \t]*\[/m.exec(head);
  if (!key) throw new Error('the top-level imports key is not a plain `imports = [` line');
  const open = key.index + key[0].length - 1;
  const { at: close, lastEnd: after } = walk(text, open + 1, (ch) => ch === ']');
  if (close >= text.length) throw new Error('the imports array has no closing bracket');
  const prev = after === open + 1 ? '[' : text[after - 1];
  const added = prev === '[' ? tomlString(entry) : prev === ',' ? ` ${tomlString(entry)},` : `, ${tomlString(entry)}`;
  return { offset: after, removed: '', added };
}
