/**
 * node dist/bench/probe.js [--rate 20] [--seconds 20] [--handlers runc,rx] [--keep-log DIR]:
 * the exec-probe row of bench/cri.ts alone, for a quick before/after on one change: ExecSync
 * `/bin/true` into one running container at a fixed rate through a private containerd's CRI
 * plugin (RX_CONTAINERD picks 2.3 or 1.6), each handler in turn. `--linger S`: wait S seconds
 * before stopping containerd (a serving process run with --cpu-prof writes its profile at exit). `--keep-log DIR` copies
 * containerd's log (debug level; the shims' logs are in it) there. Figures are printed, never asserted.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { appContainer, hostNetworkPod, startCriContainerd } from '../test/helpers/cri/containerd-cri';
import { probeOnSchedule } from './cri';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const rate = Number(arg('rate', '20'));
const seconds = Number(arg('seconds', '20'));
const handlers = arg('handlers', 'runc,rx').split(',');
const keep = arg('keep-log', '');
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const env = await startCriContainerd({ name: 'probe' });
  try {
    for (const h of handlers) {
      const pod = hostNetworkPod(`probe-${h}`, `${env.tmp}/logs/probe-${h}`);
      const podId = await env.cri.runPodSandbox(pod, h);
      const cid = await env.cri.createContainer(podId, appContainer('app', ['/bin/sleep', '600']), pod);
      await env.cri.startContainer(cid);
      const one: number[] = [];
      for (let i = 0; i < 5; i++) {
        const s = now();
        await env.cri.execSync(cid, ['/bin/true'], 10);
        one.push(now() - s);
      }
      const t0 = now();
      const sent = await probeOnSchedule(env.cri, cid, rate, seconds);
      const total = sent.length;
      const lat = sent.filter((p) => p.error === undefined).map((p) => p.ms);
      /** [sent at (s since t0), latency ms or NaN for a failure] */
      const byTime: Array<[number, number]> = sent.map((p) => [p.sentAt / 1000, p.error === undefined ? p.ms : NaN]);
      const errors = new Map<string, number>();
      for (const p of sent) if (p.error !== undefined) errors.set(p.error.slice(0, 120), (errors.get(p.error.slice(0, 120)) ?? 0) + 1);
      const failed = sent.filter((p) => p.error !== undefined || p.exitCode !== 0).length;
      const sorted = [...lat].sort((a, b) => a - b);
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
      console.log(
        `${h}: one at a time ${one.map((x) => x.toFixed(0)).join(' ')} ms; ${total} at ${rate}/s over ${seconds} s: p50 ${q(0.5).toFixed(1)} ms, p90 ${q(0.9).toFixed(1)}, p99 ${q(0.99).toFixed(1)}, max ${sorted[sorted.length - 1]?.toFixed(1)}, ${failed} failed, wall ${((now() - t0) / 1000).toFixed(1)} s`,
      );
      // p50 and failures per 5 s of sending: does it settle, or grow?
      const buckets = new Map<number, number[]>();
      for (const [t, ms] of byTime) buckets.set(Math.floor(t / 5) * 5, [...(buckets.get(Math.floor(t / 5) * 5) ?? []), ms]);
      console.log(
        '  by 5 s: ' +
          [...buckets.entries()]
            .sort((a, b) => a[0] - b[0])
            .map(([t, v]) => {
              const ok = v.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
              return `${t}s p50 ${ok.length ? ok[Math.floor(ok.length / 2)].toFixed(0) : '-'}${ok.length < v.length ? ` (${v.length - ok.length} failed)` : ''}`;
            })
            .join(', '),
      );
      for (const [m, n] of errors) console.log(`  ${n} x ${m}`);
      await env.cri.stopPodSandbox(podId);
      await env.cri.removePodSandbox(podId);
    }
    // A serving process writes its --cpu-prof at exit, a moment after its pod is removed.
    await sleep(Number(arg('linger', '0')) * 1000);
  } finally {
    if (keep) {
      mkdirSync(keep, { recursive: true });
      copyFileSync(path.join(env.ctd.dir, 'containerd.log'), path.join(keep, 'containerd.log'));
    }
    await env.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
