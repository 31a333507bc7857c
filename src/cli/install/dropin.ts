/**
 * The files `install` writes for containerd: the drop-in naming our runtime for CRI, and the
 * shim's own TOML config it points at (README "Runtime options and config").
 *
 * How containerd merges an imported file differs by generation, and decides the drop-in's form:
 * - 2.x deep-merges each imported file's plugin tables into the main config's (v2.3.7
 *   cmd/containerd/server/config/config.go mergeConfig; containerd#9982), after migrating each
 *   file from its own version: a version 3 drop-in holding only our runtime table is enough.
 * - 1.6 replaces a plugin's whole table with the imported file's (services/server/config
 *   mergeConfig: `to.Plugins[k] = v`; containerd#5837): a drop-in holding only our runtime would
 *   wipe every other CRI setting of the main config. So the 1.6 drop-in carries a copy of the CRI
 *   table containerd would otherwise load, plus our runtime; re-running install refreshes it.
 */
import { RUNTIME_NAME } from '../info';

export const CRI_1_6 = 'io.containerd.grpc.v1.cri';
export const CRI_2 = 'io.containerd.cri.v1.runtime';

export interface RuntimeEntry {
  handler: string;
  /** the installed executable: CRI execs it by this path (runtime_path), whatever containerd's PATH */
  binary: string;
  /** our TOML config (ConfigPath of runtimeoptions.v1.Options) */
  optionsFile: string;
}

const header = (what: string) =>
  `# Written by \`containerd-shim-rx-v2 install\` (${what}); \`containerd-shim-rx-v2 uninstall\` removes it.\n`;

const q = (s: string) => JSON.stringify(s);

function runtimeTables(plugin: string, e: RuntimeEntry): string {
  const table = `plugins.${q(plugin)}.containerd.runtimes.${e.handler}`;
  return [
    `[${table}]`,
    `  runtime_type = ${q(RUNTIME_NAME)}`,
    `  runtime_path = ${q(e.binary)}`,
    '',
    `[${table}.options]`,
    '  TypeUrl = "runtimeoptions.v1.Options"',
    `  ConfigPath = ${q(e.optionsFile)}`,
    '',
  ].join('\n');
}

/** The containerd 2.x drop-in (config version 3: read by 2.0 to 2.3, which migrates it to 4). */
export function dropIn2(e: RuntimeEntry): string {
  return `${header('containerd 2.x form')}version = 3\n\n${runtimeTables(CRI_2, e)}`;
}

/**
 * The containerd 1.6 drop-in: version 2, the CRI table containerd would load without it (`base`,
 * from the main config and the files it imports before this one) with our runtime set in it.
 */
export function dropIn16(e: RuntimeEntry, base: Record<string, unknown> | undefined, baseFrom: string[]): string {
  const { stringify } = require('smol-toml') as typeof import('smol-toml');
  const cri = structuredClone(base ?? {}) as Record<string, any>;
  cri.containerd ??= {};
  cri.containerd.runtimes ??= {};
  delete cri.containerd.runtimes[e.handler];
  const copy = Object.keys(cri.containerd.runtimes).length > 0 || Object.keys(cri).length > 1 || Object.keys(cri.containerd).length > 1;
  const from = baseFrom.length ? baseFrom.join(', ') : 'no file: containerd defaults';
  const note = [
    `# containerd 1.6 replaces a plugin's whole table with an imported file's, so this file carries`,
    `# the ${CRI_1_6} table it would replace (from ${from}) beside the ${e.handler} runtime.`,
    `# After editing that table there, run install again to refresh this copy.`,
    '',
  ].join('\n');
  const body = copy ? stringify({ plugins: { [CRI_1_6]: cri } }).trim() + '\n\n' : '';
  return `${header('containerd 1.6 form')}${note}version = 2\n\n${body}${runtimeTables(CRI_1_6, e)}`;
}

/** Our own config, written when missing: the defaults, spelled out for the operator to edit. */
export function optionsFileText(dropIn: string): string {
  return [
    `# containerd-shim-rx's own config (README "Runtime options and config"), named by the runtime's`,
    `# ConfigPath in ${dropIn}. Written by \`containerd-shim-rx-v2 install\` when missing; uninstall`,
    '# removes it only while it is as written.',
    '',
    'grouping = "pod"            # one shim process per pod; "namespace": one per containerd namespace',
    '',
    '# [runc]',
    '# systemd_cgroup = true     # when kubelet uses the systemd cgroup driver',
    '',
  ].join('\n');
}
