/**
 * The Kubernetes path, as kubelet drives it: CRI runtime.v1 calls to containerd's CRI plugin
 * (our @grpc/grpc-js client, test/helpers/cri), handler `runc` (the Go shim) and `rx` (ours, one
 * serving process per pod as CRI groups by sandbox), rounds interleaved on one containerd.
 * Per round: RunPodSandbox (host network), CreateContainer, StartContainer, StopContainer
 * (timeout 0), StopPodSandbox, RemovePodSandbox; each call timed alone. Then the exec probes:
 * ExecSync `/bin/true` into one running container at a fixed rate, as a liveness probe would.
 * Figures are reported, never asserted.
 */
import { appContainer, hostNetworkPod, startCriContainerd, type CriContainerd } from '../test/helpers/cri/containerd-cri';
import { summarize, type Summary } from './stats';

export const CRI_CALLS = ['RunPodSandbox', 'CreateContainer', 'StartContainer', 'StopContainer', 'StopPodSandbox'] as const;
export type CriCall = (typeof CRI_CALLS)[number];
export const HANDLERS = ['runc', 'rx'] as const;
export type Handler = (typeof HANDLERS)[number];

export interface CriResult {
  calls: Record<Handler, Record<CriCall, Summary>>;
  probes: Record<Handler, { sent: number; failed: number; p50: number; p99: number; max: number }>;
  probeRate: number;
  probeSeconds: number;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function criBench(o: { bin?: string; rounds: number; probeRate: number; probeSeconds: number; log: (s: string) => void }): Promise<CriResult> {
  const env: CriContainerd = await startCriContainerd({ name: 'bench-cri', bin: o.bin });
  try {
    const samples = Object.fromEntries(HANDLERS.map((h) => [h, Object.fromEntries(CRI_CALLS.map((c) => [c, [] as number[]]))])) as Record<Handler, Record<CriCall, number[]>>;
    let seq = 0;
    const timed = async <T>(h: Handler, call: CriCall, f: () => Promise<T>): Promise<T> => {
      const t = now();
      const r = await f();
      samples[h][call].push(now() - t);
      return r;
    };
    // One warm-up round each (image unpack, first shim), not counted.
    for (let round = 0; round <= o.rounds; round++) {
      for (const h of HANDLERS) {
        const pod = hostNetworkPod(`bench-${h}-${++seq}`, `${env.tmp}/logs/${seq}`);
        const run = async () => {
          const podId = await env.cri.runPodSandbox(pod, h);
          const cid = await env.cri.createContainer(podId, appContainer('app', ['/bin/sleep', '600']), pod);
          return { podId, cid };
        };
        let ids: { podId: string; cid: string };
        if (round === 0) {
          ids = await run();
          await env.cri.startContainer(ids.cid);
          await env.cri.stopContainer(ids.cid, 0);
          await env.cri.stopPodSandbox(ids.podId);
        } else {
          const podId = await timed(h, 'RunPodSandbox', () => env.cri.runPodSandbox(pod, h));
          const cid = await timed(h, 'CreateContainer', () => env.cri.createContainer(podId, appContainer('app', ['/bin/sleep', '600']), pod));
          ids = { podId, cid };
          await timed(h, 'StartContainer', () => env.cri.startContainer(cid));
          await timed(h, 'StopContainer', () => env.cri.stopContainer(cid, 0));
          await timed(h, 'StopPodSandbox', () => env.cri.stopPodSandbox(podId));
        }
        await env.cri.removePodSandbox(ids.podId);
      }
    }
    const calls = Object.fromEntries(HANDLERS.map((h) => [h, Object.fromEntries(CRI_CALLS.map((c) => [c, summarize(samples[h][c])]))])) as CriResult['calls'];
    for (const h of HANDLERS) o.log(`CRI ${h}: ${CRI_CALLS.map((c) => `${c} ${calls[h][c].median.toFixed(1)}`).join(', ')} ms (medians, n=${o.rounds})`);

    const probes = {} as CriResult['probes'];
    for (const h of HANDLERS) {
      const pod = hostNetworkPod(`probe-${h}`, `${env.tmp}/logs/probe-${h}`);
      const podId = await env.cri.runPodSandbox(pod, h);
      const cid = await env.cri.createContainer(podId, appContainer('app', ['/bin/sleep', '600']), pod);
      await env.cri.startContainer(cid);
      for (let i = 0; i < 5; i++) await env.cri.execSync(cid, ['/bin/true'], 10);
      const sent = await probeOnSchedule(env.cri, cid, o.probeRate, o.probeSeconds);
      const total = sent.length;
      const failed = sent.filter((p) => p.error !== undefined || p.exitCode !== 0).length;
      const lat = sent.filter((p) => p.error === undefined).map((p) => p.ms);
      const sorted = [...lat].sort((a, b) => a - b);
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
      probes[h] = { sent: total, failed, p50: q(0.5), p99: q(0.99), max: sorted[sorted.length - 1] ?? NaN };
      o.log(`exec probes ${h}: ${total} at ${o.probeRate}/s, p50 ${probes[h].p50.toFixed(1)} ms, p99 ${probes[h].p99.toFixed(1)} ms, ${failed} failed`);
      await env.cri.stopPodSandbox(podId);
      await env.cri.removePodSandbox(podId);
    }
    return { calls, probes, probeRate: o.probeRate, probeSeconds: o.probeSeconds };
  } finally {
    await env.stop();
  }
}

/** One ExecSync probe: when it was sent (ms since the first) and how long it took, or why it failed. */
export interface Probe {
  sentAt: number;
  ms: number;
  /** the probe's exit code, when the call answered */
  exitCode?: number;
  /** set when the call itself failed */
  error?: string;
}

/**
 * `rate` ExecSync probes a second for `seconds` into container `cid`, each on schedule whether or
 * not the one before answered (a probe period does not wait); resolves once every one answered.
 */
export async function probeOnSchedule(cri: CriContainerd['cri'], cid: string, rate: number, seconds: number): Promise<Probe[]> {
  const out: Probe[] = [];
  const inflight: Promise<void>[] = [];
  const t0 = now();
  for (let i = 0; i < Math.round(rate * seconds); i++) {
    const wait = t0 + (i * 1000) / rate - now();
    if (wait > 0) await sleep(wait);
    const s = now();
    inflight.push(
      cri.execSync(cid, ['/bin/true'], 10).then(
        (r) => void out.push({ sentAt: s - t0, ms: now() - s, exitCode: r.exit_code }),
        (err) => void out.push({ sentAt: s - t0, ms: now() - s, error: String((err as Error).message ?? err) }),
      ),
    );
  }
  await Promise.all(inflight);
  return out;
}
