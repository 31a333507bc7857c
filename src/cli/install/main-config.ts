/**
 * What install does to containerd's main config: nothing when its `imports` already load our
 * drop-in, else one splice adding our drop-in to `imports` (or, with no config file at all, a new
 * file of two lines). The splice is checked by parsing the result: everything but `imports` must
 * be as before, or install refuses and says what to add by hand.
 */
import { isDeepStrictEqual } from 'node:util';
import { addImport, applySplice, importsCover, type Splice } from './imports';

export type MainEdit =
  | { kind: 'none' }
  | { kind: 'create'; text: string }
  | { kind: 'splice'; splice: Splice; text: string };

export const parseToml = (text: string): Record<string, unknown> => (require('smol-toml') as typeof import('smol-toml')).parse(text) as Record<string, unknown>;

const withoutImports = (doc: Record<string, unknown>) => Object.fromEntries(Object.entries(doc).filter(([k]) => k !== 'imports'));

export function importsOf(doc: Record<string, unknown>, where: string): string[] {
  const v = doc.imports;
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`${where}: imports is not a list of strings`);
  return v as string[];
}

/**
 * The edit that makes the config at `configPath` (text `before`, null if no file) import
 * `dropIn`. `configVersion` is the version line of a file we create (2 for 1.6, 3 for 2.x).
 */
export function mainEdit(configPath: string, before: string | null, dropIn: string, configVersion: number): MainEdit {
  if (before === null) {
    return {
      kind: 'create',
      text: `# Written by \`containerd-shim-rx-v2 install\`: containerd had no config file (it ran on its defaults).\n# \`containerd-shim-rx-v2 uninstall\` removes this file while it is as written.\nversion = ${configVersion}\nimports = [${JSON.stringify(dropIn)}]\n`,
    };
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(before);
  } catch (err) {
    throw new Error(`${configPath} is not valid TOML (${(err as Error).message.split('\n')[0]}): containerd would not start with it either; fix it first`);
  }
  const imports = importsOf(doc, configPath);
  if (importsCover(imports, configPath, dropIn)) return { kind: 'none' };
  const refuse = (why: string) =>
    new Error(`cannot add ${dropIn} to the imports of ${configPath} safely (${why}); add it by hand (imports = [..., ${JSON.stringify(dropIn)}]) and run install again`);
  let splice: Splice;
  try {
    splice = addImport(before, dropIn, doc.imports !== undefined);
  } catch (err) {
    throw refuse((err as Error).message);
  }
  const text = applySplice(before, splice);
  let after: Record<string, unknown>;
  try {
    after = parseToml(text);
  } catch (err) {
    throw refuse(`the edited file would not parse: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isDeepStrictEqual(withoutImports(after), withoutImports(doc))) throw refuse('the edit would move other keys');
  if (!isDeepStrictEqual(importsOf(after, configPath), [...imports, dropIn])) throw refuse('the edited imports are not the old ones plus ours');
  return { kind: 'splice', splice, text };
}
