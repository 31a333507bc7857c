import type { Containerd } from './containerd';

/** One line of `ctr events`: `<timestamp> <namespace> <topic> <event as JSON>`. */
export interface CtrEvent {
  topic: string;
  namespace: string;
  /** the event's JSON, parsed (null when ctr printed none) */
  event: Record<string, unknown> | null;
  line: string;
}

export interface EventWatch {
  /** Resolves once ctr is subscribed: await it before doing what should be seen. */
  ready: Promise<void>;
  /** Every event seen so far, in containerd's order. */
  events(): CtrEvent[];
  /** Resolves with the events once `until` holds for them (checked as lines arrive), rejects after `timeoutMs`. */
  waitFor(until: (events: CtrEvent[]) => boolean, timeoutMs?: number): Promise<CtrEvent[]>;
  stop(): Promise<void>;
}

// ctr 1.6 cmd/ctr/commands/events: fmt.Println(e.Timestamp, e.Namespace, e.Topic, json); the
// timestamp itself holds spaces ("2006-01-02 15:04:05.999999999 +0000 UTC").
const LINE = / UTC (\S+) (\/\S+)(?: (.*))?$/;
let syncs = 0;

/**
 * Watches `ctr events` (optionally narrowed by containerd filter expressions, OR-ed, e.g.
 * `topic~="/tasks/"`). `ready` resolves once the subscription is live: ctr prints nothing until
 * an event arrives, so we create a namespace of our own until its /namespaces/create shows up.
 */
export function watchEvents(ctd: Containerd, filter: string[] = [], timeoutMs = 10000): EventWatch {
  const sync = `rx-events-sync-${process.pid}-${++syncs}`;
  const args = filter.length ? ['events', ...filter, 'topic=="/namespaces/create"'] : ['events'];
  const child = ctd.ctrSpawn(args);
  const seen: CtrEvent[] = [];
  const waiters = new Set<() => void>();
  let partial = '';
  let stderr = '';
  let synced = false;
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const m = LINE.exec(line);
      if (!m) continue;
      let event: Record<string, unknown> | null = null;
      try {
        event = m[3] ? JSON.parse(m[3]) : null;
      } catch {
        // keep the line; the event stays unparsed
      }
      if (m[2].startsWith('/namespaces/') && event?.name === sync) {
        synced = true;
        continue;
      }
      seen.push({ namespace: m[1], topic: m[2], event, line });
    }
    for (const w of [...waiters]) w();
  });
  const gone = new Promise<void>((r) => child.once('close', () => r()));

  const waitFor = (until: (events: CtrEvent[]) => boolean, ms = 10000) =>
    new Promise<CtrEvent[]>((resolve, reject) => {
      const check = () => {
        if (!until(seen)) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(seen);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`ctr events: not seen in ${ms} ms; saw:\n${seen.map((e) => e.line).join('\n')}\n${stderr}`));
      }, ms);
      waiters.add(check);
      check();
    });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await gone;
  };

  // Create the sync namespace again until ctr shows it (a create before the subscription is lost).
  const ready = (async () => {
    const until = Date.now() + timeoutMs;
    while (!synced) {
      if (child.exitCode !== null) throw new Error(`ctr events exited (${child.exitCode}): ${stderr}`);
      if (Date.now() > until) {
        await stop();
        throw new Error(`ctr events did not subscribe in ${timeoutMs} ms: ${stderr}`);
      }
      await ctd.ctr(['namespaces', 'create', sync]);
      await new Promise((r) => setTimeout(r, 50));
      await ctd.ctr(['namespaces', 'remove', sync]);
    }
  })();
  ready.catch(() => undefined); // surfaced to whoever awaits it

  return { ready, events: () => seen, waitFor, stop };
}
