/* What runc and its bundle say, read the way the Go shim reads them. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** True unless the spec gives the container a pid namespace of its own (runc.ShouldKillAllOnExit). */
export async function sharesPidNamespace(bundle: string): Promise<boolean> {
  try {
    const spec = JSON.parse(await readFile(path.join(bundle, 'config.json'), 'utf8'));
    const namespaces: Array<{ type: string; path?: string }> = spec?.linux?.namespaces ?? [];
    return !namespaces.some((ns) => ns.type === 'pid' && !ns.path);
  } catch {
    return true;
  }
}

/**
 * A file name for an exec id that stays inside the bundle and is injective: every byte outside
 * [A-Za-z0-9_.-] becomes %XX (so `a/b` is a%2Fb, `a_b` stays a_b), and a leading dot is escaped
 * too, so `.` and `..` name no directory.
 */
export function execFileName(execId: string): string {
  const escaped = Array.from(Buffer.from(execId, 'utf8'), (b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9_.-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
  return escaped.startsWith('.') ? `%2E${escaped.slice(1)}` : escaped;
}

/** runc's words for a kill that found no process, as Go's checkKillError reads them. */
export function killFoundNothing(message: string): boolean {
  return /os: process already finished|container not running|no such process|does not exist/i.test(message);
}
