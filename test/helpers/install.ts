/**
 * The node installer end to end against a private containerd: install into a temp prefix and the
 * containerd's own config, restart it, run a container by the runtime name io.containerd.rx.v2
 * (containerd finds containerd-shim-rx-v2 on its PATH, which holds the prefix's bin), uninstall,
 * and check nothing is left. Used by install.test (the checkout's launcher) and package.test
 * (the packaged single executable).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startContainerd, type Containerd } from './containerd';
import { HOST } from './host';
import { busyboxRootfs } from './rootfs';
import { run, type RunResult } from './run';
import { uniqueId } from './tasks';

export const RUNTIME_NAME = 'io.containerd.rx.v2';

/** Every file and directory under `dir`, relative, sorted; containerd's root/ and state/ and the containers' rootfs/ left out (they change as containers run). */
export function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  // Not descended into at all: containerd removes snapshots under root/ while we would read them.
  const skipped = (r: string) => /^(root|state|rootfs)$/.test(r);
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (skipped(r)) continue;
      out.push(e.isDirectory() ? `${r}/` : r);
      if (e.isDirectory()) walk(r);
    }
  };
  walk('');
  return out.sort();
}

export interface InstallEnv {
  ctd: Containerd;
  prefix: string;
  config: string;
  rootfs: string;
  /** `<installer> install|uninstall --prefix <prefix> --containerd-config <config> --containerd <host's> ...extra` */
  installer(action: 'install' | 'uninstall', extra?: string[]): Promise<RunResult>;
  /** `ctr run --runtime io.containerd.rx.v2 --rm --rootfs <busybox> <id> ...cmd` */
  runByName(name: string, cmd: string[]): Promise<RunResult>;
  cleanup(): Promise<void>;
}

/**
 * A private containerd whose PATH starts with `<prefix>/bin` (PATH exactly `path(prefixBin)` when
 * given: no node, no checkout on it), and the means to run `installer` against it.
 */
export async function installEnv(name: string, installer: string, opts: { path?: (bin: string) => string; installerEnv?: NodeJS.ProcessEnv } = {}): Promise<InstallEnv> {
  const prefix = mkdtempSync(path.join(os.tmpdir(), `rx-${name}-prefix-`));
  const bin = path.join(prefix, 'bin');
  rmSync(prefix, { recursive: true }); // install creates it; uninstall must remove it again
  const ctd = await startContainerd({ name, env: { PATH: opts.path ? opts.path(bin) : `${bin}:${process.env.PATH ?? ''}` }, exactPath: opts.path !== undefined });
  const config = path.join(ctd.dir, 'config.toml');
  const rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  return {
    ctd,
    prefix,
    config,
    rootfs,
    installer: (action, extra = []) =>
      run(installer, [action, '--prefix', prefix, '--containerd-config', config, '--containerd', HOST.containerd, ...extra], { env: opts.installerEnv ?? process.env, timeoutMs: 60000 }),
    runByName: (n, cmd) => ctd.ctr(['run', '--runtime', RUNTIME_NAME, '--rm', '--rootfs', rootfs, uniqueId(n), ...cmd]),
    async cleanup() {
      await ctd.stop();
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}

/** `containerd --config <config> config dump`: the config containerd merges from the file and its imports. */
export async function configDump(config: string): Promise<string> {
  const r = await run(HOST.containerd, ['--config', config, 'config', 'dump']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.toString();
}

/** The whole cycle, with an assertion at each step. */
export async function installCycle(env: InstallEnv): Promise<void> {
  const { ctd, config, prefix } = env;
  const original = readFileSync(config);
  const beforeDir = tree(ctd.dir);

  const missing = await env.runByName('before', ['/bin/echo', 'hi']);
  assert.notEqual(missing.code, 0, 'before install, containerd finds no containerd-shim-rx-v2 on its PATH');

  const dry = await env.installer('install', ['--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout.toString(), new RegExp(`\\+imports = \\["${path.join(ctd.dir, 'conf.d', 'rx.toml')}"\\]`), 'the dry run prints the diff of the imports line');
  assert.deepEqual(tree(ctd.dir), beforeDir, 'a dry run changes nothing');
  assert.equal(existsSync(prefix), false);

  const first = await env.installer('install');
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout.toString(), /restart containerd/i);
  const second = await env.installer('install');
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout.toString(), /no change: already installed/, 'a second install changes nothing');

  // containerd reads the drop-in through the imports line install added.
  // (1.6 leaves a disabled plugin's table out of the dump, and CRI is off here: there, the files it loaded.)
  const dump = await configDump(config);
  if (HOST.name === '1.6') assert.match(dump, new RegExp(`^imports = \\[.*"${path.join(ctd.dir, 'conf.d', 'rx.toml')}"`, 'm'), 'containerd 1.6 loaded the drop-in');
  else {
    assert.match(dump, /\[plugins\.'io\.containerd\.cri\.v1\.runtime'\.containerd\.runtimes\.rx\]/, 'the merged config has the rx runtime under io.containerd.cri.v1.runtime');
    assert.match(dump, /runtime_type = 'io\.containerd\.rx\.v2'/);
  }

  await ctd.restart();
  const r = await env.runByName('byname', ['/bin/sh', '-c', 'echo installed; exit 5']);
  assert.equal(r.stdout.toString(), 'installed\n', r.stderr);
  assert.equal(r.code, 5);

  const un = await env.installer('uninstall');
  assert.equal(un.code, 0, un.stderr);
  assert.deepEqual(readFileSync(config), original, 'the main config is byte for byte what it was');
  assert.equal(existsSync(prefix), false, 'the prefix install created is gone');
  assert.deepEqual(tree(ctd.dir), beforeDir, 'no file install wrote is left beside the config');
  const again = await env.installer('uninstall');
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout.toString(), /nothing to undo/);

  await ctd.restart();
  const gone = await env.runByName('after', ['/bin/echo', 'hi']);
  assert.notEqual(gone.code, 0, 'after uninstall the runtime is gone again');
}
