/**
 * Entry of the single executable (scripts/package.mjs): the whole shim in one bundle, and koffi's
 * native part (an asset of the executable: a .node cannot load from memory) written out on first
 * use to a directory only root (this uid) can write, then found by koffi's own loader through
 * process.resourcesPath (koffi src/init.js loadDynamic: <resourcesPath>/koffi/<triplet>/koffi.node).
 */
process.on('SIGUSR1', () => {});
import { lstatSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A file or directory this uid made and no one else may write. */
function ours(p: string, kind: 'file' | 'dir', size?: number): boolean {
  try {
    const st = lstatSync(p);
    const uid = process.getuid?.() ?? 0;
    return (kind === 'file' ? st.isFile() && st.size === size : st.isDirectory()) && st.uid === uid && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

function prepareKoffi(): void {
  const sea = require('node:sea') as { getRawAsset(k: string): ArrayBuffer; getAsset(k: string, enc: string): string };
  const raw = sea.getRawAsset('koffi.node');
  const id = sea.getAsset('koffi.node.sha256', 'utf8').trim().slice(0, 16);
  const uid = process.getuid?.() ?? 0;
  const base = uid === 0 ? '/run/containerd-shim-rx' : path.join(os.tmpdir(), `containerd-shim-rx-${uid}`);
  const root = path.join(base, `koffi-${id}`);
  const dir = path.join(root, 'koffi', `linux_${process.arch}`);
  const file = path.join(dir, 'koffi.node');
  if (!ours(file, 'file', raw.byteLength)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (let d = dir; d.startsWith(base); d = path.dirname(d)) {
      if (!ours(d, 'dir')) throw new Error(`${d} is not a directory only uid ${uid} can write: refusing to load koffi's native part from it`);
    }
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, Buffer.from(raw), { mode: 0o500 });
    renameSync(tmp, file);
  }
  (process as { resourcesPath?: string }).resourcesPath = root;
}

prepareKoffi();
require('./main');
