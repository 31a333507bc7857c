/**
 * How `debug` prints for people: one line per tapped value, and the state dump as a table.
 * `--json` prints the protocol's own objects instead, for tools.
 */
import type { StateDump } from '../task/dump';
import { codeName } from './metrics';
import type { DebugEvent } from './protocol';

/** `12:00:01.123`: the local wall clock, to the millisecond. */
export function clock(t: number): string {
  const d = new Date(t);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** An event's fields as `k=v`, scalars only, the container's id left out (the line names it). */
export function brief(fields: unknown): string {
  if (!fields || typeof fields !== 'object') return '';
  const f = fields as Record<string, unknown>;
  // TaskExit's `id` is the process's: the exec id, or the container's own for its init.
  const own = (k: string, v: unknown) => k === 'container_id' || (k === 'id' && v === f.container_id);
  return Object.entries(f)
    .filter(([k, v]) => !own(k, v) && v !== '' && v !== undefined && v !== null && typeof v !== 'object')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** What one tapped value says, without its time, stream and container. */
export function describe(e: Pick<DebugEvent, 'stream' | 'value'>): string {
  const v = e.value as Record<string, any>;
  switch (e.stream) {
    case 'signals':
      return String(e.value);
    case 'exits':
      return `pid ${v.pid} exited, status ${v.status}`;
    case 'calls': {
      const service = String(v.service).replace(/^containerd\.task\.v[23]\.Task$/, '');
      return `${service ? service + '/' : ''}${v.method} ${codeName(v.code)} ${Number(v.ms).toFixed(1)} ms`;
    }
    case 'events':
      return `${v.topic} ${brief(v.event)}`.trim();
    case 'lifecycle':
      if (!v.event) return `${v.kind} ${processName(v.process)}`;
      return `${v.kind} ${v.event.topic ?? ''} ${brief(v.event.event)}`.trim();
  }
}

/** A process (ordering/lifecycle.ts ProcessRef) as `c1` or `c1/e1`. */
const processName = (p: { containerId?: string; execId?: string } | undefined): string =>
  p?.execId ? `${p.containerId}/${p.execId}` : String(p?.containerId ?? '?');

/** One tap line: `12:00:01.123 exits      c1  pid 42 exited, status 0`. */
export const formatEvent = (e: DebugEvent): string => `${clock(e.t)} ${e.stream.padEnd(9)} ${(e.id || '-').padEnd(12)} ${describe(e)}`;

const mib = (bytes: number) => `${(bytes / (1 << 20)).toFixed(1)} MiB`;

/** The state dump for people: the process, then each container and its processes. */
export function formatState(s: StateDump): string {
  const p = s.publisher;
  const lines = [
    `serving process ${s.pid}: up ${s.uptimeS} s, rss ${mib(s.rssBytes)}, ${s.fds} fds${s.inheritableFds.length ? `, inheritable fds ${s.inheritableFds.join(',')}` : ''}`,
    `events: ${p.published} published, ${p.delivered} delivered, ${p.lost} lost, ${p.pending} queued`,
    `exits awaited: ${s.exitClaims}, held until their start: ${s.heldExits}${s.creating.length ? `, creating: ${s.creating.join(', ')}` : ''}`,
  ];
  for (const c of s.containers) {
    lines.push(`container ${c.id}  queue ${p.queues?.[c.id] ?? 0}  bundle ${c.bundle}`);
    for (const proc of c.processes) {
      const exit = proc.exitStatus === undefined ? '' : `  exit ${proc.exitStatus} at ${proc.exitedAt}`;
      lines.push(`  ${(proc.exec ? `exec ${proc.exec}` : 'init').padEnd(16)} ${proc.state.padEnd(8)} pid ${proc.pid}${exit}${proc.startPublished ? '' : '  (start not published)'}`);
    }
  }
  if (s.containers.length === 0) lines.push('no containers');
  return lines.join('\n') + '\n';
}
