/**
 * npm run bench: containerd-shim-rx beside Debian's containerd-shim-runc-v2, on one private
 * containerd, in one run, runs interleaved. Writes bench/RESULTS.md and bench/ratios.svg.
 * Figures are reported, never asserted.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startContainerd, type Containerd } from '../test/helpers/containerd';
import { busyboxRootfs } from '../test/helpers/rootfs';
import { ratioChart, type Bar } from './chart';
import { fmt, spread, summarize, type Summary } from './stats';
import { Server } from '../src/ttrpc/server';
import { ServiceRegistry } from '../src/ttrpc/services';
import { dial } from '../src/ttrpc/client';

const RX = path.resolve(__dirname, '../../bin/containerd-shim-rx-v2');
const GO = 'io.containerd.runc.v2';
const N = Number(process.env.BENCH_RUNS ?? 15);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let ctd: Containerd;
let rootfs: string;
let nsConfig: string;
let seq = 0;
const id = (p: string) => `${p}${++seq}`;

interface Runtime {
  name: string;
  args: string[];
  /** cmdline mark of its serving processes */
  mark: string;
}
const rx: Runtime = { name: 'rx (per container)', args: ['--runtime', RX], mark: 'containerd-shim-rx-v2' };
const go: Runtime = { name: 'runc-v2 (Go)', args: ['--runtime', GO], mark: 'containerd-shim-runc-v2' };
const rxNs = (): Runtime => ({ name: 'rx (grouping = namespace)', args: ['--runtime', RX, '--runtime-config-path', nsConfig], mark: 'containerd-shim-rx-v2' });

async function ctr(args: string[]) {
  const r = await ctd.ctr(args, { timeoutMs: 120000 });
  if (r.code !== 0) throw new Error(`ctr ${args.join(' ')}: ${r.stderr}`);
  return r;
}

async function removeAll(ids: string[]) {
  await Promise.all(ids.map((i) => ctd.ctr(['task', 'kill', '-s', 'SIGKILL', i])));
  await sleep(300);
  await Promise.all(ids.map(async (i) => {
    await ctd.ctr(['task', 'delete', i]);
    await ctd.ctr(['container', 'delete', i]);
  }));
}

function shimPids(mark: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmd.includes(mark) && cmd.includes(ctd.dir) && !/\0(start|delete)\0?$/.test(cmd);
      } catch {
        return false;
      }
    });
}

const rssMB = (pid: number) => {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  } catch {
    return 0;
  }
};

/** 1. ctr run --rm <rootfs> /bin/true, interleaved. */
async function lifecycle(runtimes: Runtime[]): Promise<Map<string, Summary>> {
  const samples = new Map<string, number[]>(runtimes.map((r) => [r.name, []]));
  for (let i = 0; i < N; i++) {
    for (const rt of runtimes) {
      const t = now();
      await ctr(['run', ...rt.args, '--rm', '--rootfs', rootfs, id('lc'), '/bin/true']);
      samples.get(rt.name)!.push(now() - t);
    }
  }
  return new Map([...samples].map(([k, v]) => [k, summarize(v)]));
}

/** 2. 20 containers started in parallel until all RUNNING (ctr run -d returns once started). */
async function parallel(rt: Runtime, count = 20): Promise<number> {
  const ids = Array.from({ length: count }, () => id('par'));
  const t = now();
  await Promise.all(ids.map((i) => ctr(['run', ...rt.args, '-d', '--rootfs', rootfs, i, '/bin/sleep', '600'])));
  const took = now() - t;
  await removeAll(ids);
  return took;
}

/** 3. Total RSS of the serving processes with `count` containers running. */
async function rss(rt: Runtime, count: number): Promise<{ mb: number; processes: number }> {
  const ids = Array.from({ length: count }, () => id('rss'));
  for (let i = 0; i < ids.length; i += 10) {
    await Promise.all(ids.slice(i, i + 10).map((c) => ctr(['run', ...rt.args, '-d', '--rootfs', rootfs, c, '/bin/sleep', '600'])));
  }
  await sleep(1500);
  const pids = shimPids(rt.mark);
  const mb = pids.reduce((a, p) => a + rssMB(p), 0);
  await removeAll(ids);
  return { mb, processes: pids.length };
}

/** 5. kill -9 of a container's init -> its /tasks/exit seen by `ctr events`. */
async function exitLatency(runtimes: Runtime[], rounds = 8): Promise<Map<string, Summary>> {
  const samples = new Map<string, number[]>(runtimes.map((r) => [r.name, []]));
  const events = ctd.ctrSpawn(['events']);
  let buf = '';
  const waiters = new Map<string, (t: number) => void>();
  events.stdout!.on('data', (d) => {
    const t = now();
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      const m = /\/tasks\/exit .*"container_id":"([^"]+)"/.exec(l);
      if (m && waiters.has(m[1])) waiters.get(m[1])!(t);
    }
  });
  await sleep(300);
  for (let i = 0; i < rounds; i++) {
    for (const rt of runtimes) {
      const c = id('ex');
      await ctr(['run', ...rt.args, '-d', '--rootfs', rootfs, c, '/bin/sleep', '600']);
      const pid = Number(/^\S+\s+(\d+)/m.exec((await ctr(['task', 'ls'])).stdout.toString().split('\n').find((l) => l.startsWith(c + ' '))!)![1]);
      const seen = new Promise<number>((resolve) => waiters.set(c, resolve));
      const t = now();
      process.kill(pid, 'SIGKILL');
      samples.get(rt.name)!.push((await seen) - t);
      waiters.delete(c);
      await ctd.ctr(['task', 'delete', c]);
      await ctd.ctr(['container', 'delete', c]);
    }
  }
  events.kill();
  return new Map([...samples].map(([k, v]) => [k, summarize(v)]));
}

/** 6. The cost of one command, run `n` times. */
function commandCost(file: string, args: string[], n = 20, cwd?: string): Summary {
  const out: number[] = [];
  for (let i = 0; i < n + 2; i++) {
    const t = now();
    try {
      execFileSync(file, args, { stdio: 'ignore', cwd });
    } catch {
      // delete of an unknown container may exit non-zero; its cost is what we measure
    }
    if (i >= 2) out.push(now() - t);
  }
  return summarize(out);
}

/** 4. ttrpc round trips on one connection, our client and server. */
async function ttrpcBench(concurrency: number, calls: number): Promise<{ perSecond: number; p50: number; p99: number }> {
  const registry = new ServiceRegistry();
  registry.register('bench.Echo', { Echo: async (p) => p });
  const server = new Server(registry);
  const listener = net.createServer();
  const addr = `\0rx-bench-ttrpc-${process.pid}-${concurrency}`;
  await new Promise<void>((r) => listener.listen(addr, r));
  server.serve(listener);
  const client = await dial(addr);
  const payload = Buffer.alloc(64, 1);
  for (let i = 0; i < 500; i++) await client.call('bench.Echo', 'Echo', payload);
  const lat: number[] = [];
  let next = 0;
  const t = now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) {
        next++;
        const s = now();
        await client.call('bench.Echo', 'Echo', payload);
        lat.push(now() - s);
      }
    }),
  );
  const took = now() - t;
  client.close();
  server.close();
  const s = summarize(lat);
  const p99 = [...lat].sort((a, b) => a - b)[Math.floor(lat.length * 0.99)];
  return { perSecond: (calls / took) * 1000, p50: s.median, p99 };
}

async function main() {
  // info, as on a node: at debug containerd starts shims with -debug, and ours then taps every stream.
  ctd = await startContainerd({ name: 'bench', logLevel: 'info' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  nsConfig = path.join(ctd.dir, 'rx-ns.toml');
  writeFileSync(nsConfig, 'grouping = "namespace"\n');
  const log = (s: string) => process.stdout.write(s + '\n');
  try {
    log(`# lifecycle: ctr run --rm /bin/true, ${N} runs each, interleaved`);
    // The namespace-grouped shim kept up by one long-running container, as it would be on a node.
    const keeper = id('keeper');
    await ctr(['run', ...rxNs().args, '-d', '--rootfs', rootfs, keeper, '/bin/sleep', '3600']);
    const lc = await lifecycle([go, rx, rxNs()]);
    await removeAll([keeper]);
    for (const [k, v] of lc) log(`${k}: ${spread(v)}`);

    log('# 20 containers in parallel until RUNNING');
    const par = new Map<string, number[]>();
    for (let i = 0; i < 3; i++) for (const rt of [go, rx, rxNs()]) par.set(rt.name, [...(par.get(rt.name) ?? []), await parallel(rt)]);
    const parS = new Map([...par].map(([k, v]) => [k, summarize(v)]));
    for (const [k, v] of parS) log(`${k}: ${spread(v)}`);

    log('# RSS of all serving processes');
    const mem: Array<{ rt: string; count: number; mb: number; processes: number }> = [];
    for (const count of [10, 50]) {
      for (const rt of [go, rx, rxNs()]) {
        const r = await rss(rt, count);
        mem.push({ rt: rt.name, count, ...r });
        log(`${rt.name} x${count}: ${fmt(r.mb)} MB in ${r.processes} processes`);
      }
    }

    log('# exit -> /tasks/exit');
    const exitS = await exitLatency([go, rx]);
    for (const [k, v] of exitS) log(`${k}: ${spread(v)}`);

    log('# start/delete/-v cost');
    const bundle = mkdtempSync(path.join(os.tmpdir(), 'rx-bench-bundle-'));
    const cost = {
      node: commandCost('node', ['-e', '0']),
      goV: commandCost('/usr/bin/containerd-shim-runc-v2', ['-v']),
      rxV: commandCost(RX, ['-v']),
      goDelete: commandCost('/usr/bin/containerd-shim-runc-v2', ['-namespace', 'bench', '-address', ctd.address, '-id', 'gone', '-bundle', bundle, 'delete'], 20, bundle),
      rxDelete: commandCost(RX, ['-namespace', 'bench', '-address', ctd.address, '-id', 'gone', '-bundle', bundle, 'delete'], 20, bundle),
    };
    for (const [k, v] of Object.entries(cost)) log(`${k}: ${spread(v)}`);

    log('# ttrpc');
    const t1 = await ttrpcBench(1, 5000);
    const t16 = await ttrpcBench(16, 20000);
    log(`1 caller: ${fmt(t1.perSecond, 0)}/s p50 ${fmt(t1.p50, 3)} ms p99 ${fmt(t1.p99, 3)} ms`);
    log(`16 callers: ${fmt(t16.perSecond, 0)}/s p50 ${fmt(t16.p50, 3)} ms p99 ${fmt(t16.p99, 3)} ms`);

    const ratio = (a: number, b: number) => a / b;
    const lcGo = lc.get(go.name)!.median;
    const memOf = (rt: string, count: number) => mem.find((m) => m.rt === rt && m.count === count)!;
    const bars: Bar[] = [
      { label: 'lifecycle, rx per container / Go', ratio: ratio(lc.get(rx.name)!.median, lcGo), target: 2.5 },
      { label: 'lifecycle, rx namespace (up) / Go', ratio: ratio(lc.get(rxNs().name)!.median, lcGo), target: 1.5 },
      { label: 'parallel 20, rx per container / Go', ratio: ratio(parS.get(rx.name)!.median, parS.get(go.name)!.median), target: 1.2 },
      { label: 'parallel 20, rx namespace / Go', ratio: ratio(parS.get(rxNs().name)!.median, parS.get(go.name)!.median), target: 1.2 },
      { label: 'RSS x10, rx namespace / Go', ratio: ratio(memOf(rxNs().name, 10).mb, memOf(go.name, 10).mb), target: 0.5 },
      { label: 'RSS x50, rx namespace / Go', ratio: ratio(memOf(rxNs().name, 50).mb, memOf(go.name, 50).mb), target: 0.2 },
      { label: 'RSS x10, rx per container / Go', ratio: ratio(memOf(rx.name, 10).mb, memOf(go.name, 10).mb) },
      { label: 'exit -> /tasks/exit, rx / Go', ratio: ratio(exitS.get(rx.name)!.median, exitS.get(go.name)!.median), target: 1.0 },
      { label: 'delete action, rx / Go', ratio: ratio(cost.rxDelete.median, cost.goDelete.median) },
      { label: '-v, rx / Go', ratio: ratio(cost.rxV.median, cost.goV.median) },
    ];
    writeFileSync(path.resolve(__dirname, '../../bench/ratios.svg'), ratioChart('containerd-shim-rx / containerd-shim-runc-v2 (lower is better)', bars));
    const versions = {
      date: new Date().toISOString(),
      machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, ${fmt(os.totalmem() / 2 ** 30, 0)} GiB, ${os.release()}`,
      node: process.version,
      containerd: execFileSync('containerd', ['--version']).toString().trim(),
      runc: execFileSync('runc', ['--version']).toString().split('\n')[0],
    };
    const md = [
      '# Benchmark results',
      '',
      `Generated by \`npm run bench\` (bench/run.ts) on ${versions.date}.`,
      '',
      `- machine: ${versions.machine}`,
      `- Node.js ${versions.node}; ${versions.containerd}; ${versions.runc}`,
      `- every figure from one run, rx and Go interleaved on the same private containerd; median (IQR, n)`,
      '',
      '![ratios](ratios.svg)',
      '',
      '## Ratios (rx / Go)',
      '',
      '| what | ratio | target | met |',
      '|---|---|---|---|',
      ...bars.map((b) => `| ${b.label} | ${fmt(b.ratio, 2)} | ${b.target ?? '–'} | ${b.target === undefined ? '–' : b.ratio <= b.target ? 'yes' : `no (by ${fmt(b.ratio - b.target, 2)})`} |`),
      '',
      '## 1. Lifecycle: `ctr run --rm <rootfs> /bin/true`',
      '',
      ...[...lc].map(([k, v]) => `- ${k}: ${spread(v)}`),
      '',
      '## 2. 20 containers started in parallel until all RUNNING',
      '',
      ...[...parS].map(([k, v]) => `- ${k}: ${spread(v)}`),
      '',
      '## 3. Total RSS of the serving processes',
      '',
      '| runtime | containers | serving processes | total RSS (MB) |',
      '|---|---|---|---|',
      ...mem.map((m) => `| ${m.rt} | ${m.count} | ${m.processes} | ${fmt(m.mb)} |`),
      '',
      '## 4. ttrpc, our client and server, one connection, 64-byte payload',
      '',
      `- 1 caller: ${fmt(t1.perSecond, 0)} calls/s, p50 ${fmt(t1.p50, 3)} ms, p99 ${fmt(t1.p99, 3)} ms`,
      `- 16 concurrent callers: ${fmt(t16.perSecond, 0)} calls/s, p50 ${fmt(t16.p50, 3)} ms, p99 ${fmt(t16.p99, 3)} ms`,
      '',
      '## 5. Container exit (SIGKILL of its init) to /tasks/exit at `ctr events`',
      '',
      ...[...exitS].map(([k, v]) => `- ${k}: ${spread(v)}`),
      '',
      '## 6. Cost of single commands',
      '',
      `- \`node -e 0\`: ${spread(cost.node)}`,
      `- Go \`-v\`: ${spread(cost.goV)}; rx \`-v\`: ${spread(cost.rxV)}`,
      `- Go \`delete\` (container gone): ${spread(cost.goDelete)}; rx \`delete\`: ${spread(cost.rxDelete)}`,
      '',
    ].join('\n');
    // bench/NOTES.md: the measured account of targets not met, kept by hand beside the figures.
    const notes = path.resolve(__dirname, '../../bench/NOTES.md');
    writeFileSync(path.resolve(__dirname, '../../bench/RESULTS.md'), md + (existsSync(notes) ? '\n' + readFileSync(notes, 'utf8') : ''));
    log('wrote bench/RESULTS.md and bench/ratios.svg');
  } finally {
    await ctd.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

