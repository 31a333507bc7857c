/**
 * What install did, kept at <prefix>/share/containerd-shim-rx/install.json so uninstall undoes
 * exactly that and no more: the files it wrote (with their sha256, so a file the operator edited
 * since is left alone), the one splice in containerd's main config (or that it created the file),
 * and the directories it created. A re-install keeps what the first one recorded.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Splice } from './imports';

export interface InstallRecord {
  format: 1;
  /** `containerd --version`'s version when install last ran */
  containerd: string;
  handler: string;
  binary: { path: string; kind: 'copy'; sha256: string } | { path: string; kind: 'symlink'; target: string };
  /** files install wrote and owns: the drop-in, our options file when it was missing */
  files: { path: string; sha256: string }[];
  /** what install did to containerd's main config (null: nothing, its imports already loaded the drop-in) */
  mainConfig: { path: string; created: true; sha256: string } | { path: string; splice: Splice; sha256: string } | null;
  /** directories install created, outermost first */
  dirs: string[];
}

export function readRecord(file: string): InstallRecord | null {
  // No record: nothing installed. One that cannot be read is an error to report, not "none".
  if (!existsSync(file)) return null;
  const r = JSON.parse(readFileSync(file, 'utf8')) as InstallRecord;
  if (r.format !== 1) throw new Error(`${file}: record format ${String(r.format)}, this executable reads format 1`);
  return r;
}

export const recordText = (r: InstallRecord) => JSON.stringify(r, null, 2) + '\n';
