/**
 * The serving process's metrics in Prometheus text exposition format 0.0.4
 * (prometheus/docs exposition_formats.md): counters of ttrpc calls by method and code with a
 * latency histogram, reaped exits, the publisher's counts and queue depth per container, and
 * the process's RSS, open fds and event-loop lag. Counted here as they happen; the rest is read
 * from the state dump when asked, so a scrape and `debug state` agree.
 */
import { Code } from '../errors';
import type { StateDump } from '../task/dump';

/** One answered ttrpc call, as the server saw it. */
export interface CallRecord {
  service: string;
  method: string;
  /** gRPC status code */
  code: number;
  /** from the request's dispatch to its answer */
  ms: number;
  /** the request's container id (field 1 of every Task API request), '' when it has none */
  id: string;
}

/** Latency bucket bounds, seconds: a State is sub-millisecond, a Create runs runc for ~100 ms. */
export const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const codeNames = new Map<number, string>(Object.entries(Code).map(([name, n]) => [n, name]));
export const codeName = (code: number): string => codeNames.get(code) ?? String(code);

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export class Metrics {
  private readonly calls = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private exits = 0;

  observeCall(c: CallRecord): void {
    const key = JSON.stringify([c.service, c.method, codeName(c.code)]);
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    const hkey = JSON.stringify([c.service, c.method]);
    let h = this.latency.get(hkey);
    if (!h) this.latency.set(hkey, (h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    const s = c.ms / 1000;
    BUCKETS.forEach((le, i) => {
      if (s <= le) h!.counts[i]++;
    });
    h.sum += s;
    h.count++;
  }

  observeExit(): void {
    this.exits++;
  }

  /** The exposition text for this moment: `dump` is stateDump's, `lagSeconds` the event loop's delay now. */
  render(dump: StateDump, lagSeconds: number): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family('shim_rx_ttrpc_calls_total', 'counter', 'ttrpc calls answered, by service, method and gRPC status code.');
    for (const [key, n] of this.calls) {
      const [service, method, code] = JSON.parse(key) as string[];
      out.push(`shim_rx_ttrpc_calls_total${labels({ service, method, code })} ${n}`);
    }
    family('shim_rx_ttrpc_call_duration_seconds', 'histogram', 'ttrpc call latency, from dispatch to answer.');
    for (const [key, h] of this.latency) {
      const [service, method] = JSON.parse(key) as string[];
      BUCKETS.forEach((le, i) => out.push(`shim_rx_ttrpc_call_duration_seconds_bucket${labels({ service, method, le: String(le) })} ${h.counts[i]}`));
      out.push(`shim_rx_ttrpc_call_duration_seconds_bucket${labels({ service, method, le: '+Inf' })} ${h.count}`);
      out.push(`shim_rx_ttrpc_call_duration_seconds_sum${labels({ service, method })} ${h.sum}`);
      out.push(`shim_rx_ttrpc_call_duration_seconds_count${labels({ service, method })} ${h.count}`);
    }
    const p = dump.publisher;
    family('shim_rx_events_published_total', 'counter', 'Task events taken into the publisher\'s queue.');
    out.push(`shim_rx_events_published_total ${p.published}`);
    family('shim_rx_events_delivered_total', 'counter', 'Task events containerd acknowledged.');
    out.push(`shim_rx_events_delivered_total ${p.delivered}`);
    family('shim_rx_events_lost_total', 'counter', 'Task events given up after the retries, dropped at a bound, or published after close.');
    out.push(`shim_rx_events_lost_total ${p.lost}`);
    family('shim_rx_events_pending', 'gauge', 'Task events queued or in flight, all containers.');
    out.push(`shim_rx_events_pending ${p.pending}`);
    family('shim_rx_event_queue_depth', 'gauge', 'Task events queued or in flight for one container.');
    for (const [container, depth] of Object.entries(p.queues ?? {})) out.push(`shim_rx_event_queue_depth${labels({ container })} ${depth}`);
    family('shim_rx_exits_reaped_total', 'counter', 'Child exits the reaper collected.');
    out.push(`shim_rx_exits_reaped_total ${this.exits}`);
    family('shim_rx_containers', 'gauge', 'Containers this process serves.');
    out.push(`shim_rx_containers ${dump.containers.length}`);
    family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.');
    out.push(`process_resident_memory_bytes ${dump.rssBytes}`);
    family('process_open_fds', 'gauge', 'Open file descriptors.');
    out.push(`process_open_fds ${dump.fds}`);
    family('nodejs_eventloop_lag_seconds', 'gauge', 'Delay of a callback scheduled at the scrape (setImmediate).');
    out.push(`nodejs_eventloop_lag_seconds ${lagSeconds}`);
    return out.join('\n') + '\n';
  }
}

/** `{a="x",b="y"}`, values escaped as the exposition format says (backslash, quote, newline). */
function labels(l: Record<string, string>): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `{${Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;
}

/** The event loop's delay now: how late a setImmediate callback runs. Measured only when asked (no timer in an idle shim). */
export function eventLoopLag(): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve) => setImmediate(() => resolve(Number(process.hrtime.bigint() - start) / 1e9)));
}

/** The container id of a ttrpc request: field 1 when it is a string (id in every Task API request, sandbox_id in the Sandbox API). */
export function requestId(payload: Buffer): string {
  // Tag 0x0a: field 1, wire type 2 (length-delimited); then a varint length.
  if (payload.length < 2 || payload[0] !== 0x0a) return '';
  let len = 0;
  let shift = 0;
  let i = 1;
  for (; i < payload.length && i < 6; i++) {
    len |= (payload[i] & 0x7f) << shift;
    shift += 7;
    if ((payload[i] & 0x80) === 0) break;
  }
  i++;
  if (len > 1024 || i + len > payload.length) return '';
  return payload.subarray(i, i + len).toString('utf8');
}
