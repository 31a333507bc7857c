/**
 * The CRI table containerd 1.6 would load without our drop-in, so the 1.6 drop-in can carry it
 * (dropin.ts says why). containerd 1.6 loads the main config, then its imports in order,
 * breadth first, each file once, a glob's matches sorted (services/server/config LoadConfig,
 * resolveImports; filepath.Glob sorts); each file's plugin tables replace earlier ones whole.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CRI_1_6 } from './dropin';
import { importsOf, parseToml } from './main-config';

function resolve(parent: string, entry: string, ours: string): string[] {
  const abs = path.resolve(path.dirname(parent), entry);
  if (!/[*?]/.test(abs)) return [abs];
  const dir = path.dirname(abs);
  if (/[*?]/.test(dir)) throw new Error(`import ${JSON.stringify(entry)} of ${parent}: a pattern in a directory name is not followed here`);
  const re = new RegExp(`^${path.basename(abs).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  const names = new Set(existsSync(dir) ? readdirSync(dir) : []);
  if (path.dirname(ours) === dir) names.add(path.basename(ours));
  return [...names].filter((n) => re.test(n)).sort().map((n) => path.join(dir, n));
}

export interface CriBase {
  /** the CRI table as loaded before our drop-in (undefined: containerd's defaults) */
  table: Record<string, unknown> | undefined;
  /** the files that table came from */
  from: string[];
}

/**
 * Walk the files containerd 1.6 would load from `mainPath` (whose text, already importing `ours`,
 * is `mainText`). Throws when a file loaded after ours sets the CRI table: it would replace ours.
 */
export function criBase16(mainPath: string, mainText: string, ours: string): CriBase {
  const loaded = new Set<string>();
  const pending = [mainPath];
  let seenOurs = false;
  let table: Record<string, unknown> | undefined;
  let from: string[] = [];
  while (pending.length) {
    const file = pending.shift()!;
    if (loaded.has(file)) continue;
    loaded.add(file);
    if (file === ours) {
      seenOurs = true;
      continue;
    }
    const text = file === mainPath ? mainText : readFileSync(file, 'utf8');
    const doc = parseToml(text);
    const cri = (doc.plugins as Record<string, unknown> | undefined)?.[CRI_1_6] as Record<string, unknown> | undefined;
    if (cri) {
      if (seenOurs) {
        throw new Error(`${file}, loaded after ${ours}, sets the ${CRI_1_6} table, and containerd 1.6 would let it replace ours whole (the runtime would be lost): import ${ours} after it, or add the runtime to ${file} by hand`);
      }
      table = cri;
      from = [file];
    }
    for (const entry of importsOf(doc, file)) pending.push(...resolve(file, entry, ours));
  }
  return { table, from };
}
