/**
 * The debug socket's protocol: newline-delimited JSON, one object per line each way. A client
 * sends requests; the server answers each with one line, except `tap`, which is answered with
 * an `ack` and then one `event` line per tapped value until the next `tap` changes the filter
 * (an empty `streams` switches it off) or the connection closes. `socat - UNIX-CONNECT:<path>`
 * and a typed `{"op":"state"}` is a whole client. README "Debugging a lifecycle" says why not ttrpc.
 */

/** The streams a tap can watch: the four the pipeline taps (streams/tap.ts) and the ttrpc calls. */
export const STREAMS = ['signals', 'exits', 'lifecycle', 'events', 'calls'] as const;
export type StreamName = (typeof STREAMS)[number];

export type Request =
  | { op: 'hello' }
  | { op: 'state' }
  | { op: 'metrics' }
  /** `id`: only values of that container (and those of no container, such as signals) */
  | { op: 'tap'; streams: StreamName[]; id?: string };

/** One tapped value: when (ms since the epoch), which stream, whose (container id, '' for none). */
export interface DebugEvent {
  t: number;
  stream: StreamName;
  id: string;
  value: unknown;
}

/** Who a serving process is: what `debug` matches a container against. */
export interface Hello {
  pid: number;
  namespace: string;
  /** containerd's address it serves (its -address) */
  address: string;
  containers: string[];
}

export type Response =
  | ({ op: 'hello' } & Hello)
  | { op: 'state'; state: unknown }
  | { op: 'metrics'; text: string }
  | { op: 'ack'; streams: StreamName[]; id?: string }
  | ({ op: 'event' } & DebugEvent)
  /** events not sent to this tap since the last one it got: it read too slowly */
  | { op: 'dropped'; count: number }
  | { op: 'error'; message: string };

/** A line longer than this is refused: requests are small, and a peer must not grow our memory. */
export const MAX_REQUEST_LINE = 64 * 1024;

/** One line of input: a whole line's text, or a line over the limit (dropped up to its end). */
export type LineItem = { kind: 'line'; text: string } | { kind: 'oversize'; length: number };

/**
 * Splits chunks into lines; pure, no I/O. A line over `max` bytes is reported once as oversize
 * and its bytes are dropped as they come, up to its newline, so memory stays bounded.
 */
export class LineDecoder {
  private parts: Buffer[] = [];
  private length = 0;
  private dropping = false;

  constructor(private readonly max = MAX_REQUEST_LINE) {}

  write(chunk: Buffer): LineItem[] {
    const out: LineItem[] = [];
    let from = 0;
    for (let nl = chunk.indexOf(0x0a, from); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
      this.take(chunk.subarray(from, nl), out);
      if (!this.dropping) out.push({ kind: 'line', text: Buffer.concat(this.parts).toString('utf8').replace(/\r$/, '') });
      this.parts = [];
      this.length = 0;
      this.dropping = false;
      from = nl + 1;
    }
    this.take(chunk.subarray(from), out);
    return out;
  }

  private take(bytes: Buffer, out: LineItem[]): void {
    if (this.dropping || bytes.length === 0) return;
    if (this.length + bytes.length > this.max) {
      out.push({ kind: 'oversize', length: this.length + bytes.length });
      this.parts = [];
      this.dropping = true;
      return;
    }
    this.parts.push(bytes);
    this.length += bytes.length;
  }
}

/** A request line to a Request, or why it is not one (the message the client gets back). */
export function parseRequest(text: string): Request | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { error: 'not JSON: expected one object per line, e.g. {"op":"state"}' };
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { error: 'expected a JSON object with "op"' };
  const r = v as Record<string, unknown>;
  switch (r.op) {
    case 'hello':
    case 'state':
    case 'metrics':
      return { op: r.op };
    case 'tap': {
      const streams = r.streams === undefined ? [...STREAMS] : r.streams;
      if (!Array.isArray(streams) || !streams.every((s): s is StreamName => (STREAMS as readonly unknown[]).includes(s))) {
        return { error: `tap: streams must be a list of ${STREAMS.join(', ')}` };
      }
      if (r.id !== undefined && typeof r.id !== 'string') return { error: 'tap: id must be a string' };
      return r.id ? { op: 'tap', streams, id: r.id } : { op: 'tap', streams };
    }
    default:
      return { error: `unknown op ${JSON.stringify(r.op)}: expected hello, state, metrics or tap` };
  }
}

/** One response as its line. */
export const encodeLine = (r: Response | Request): string => JSON.stringify(r) + '\n';

/** Parses `--stream a,b` into stream names; throws naming the unknown one. */
export function parseStreams(spec: string): StreamName[] {
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 1 && names[0] === 'all') return [...STREAMS];
  for (const n of names) if (!(STREAMS as readonly string[]).includes(n)) throw new Error(`unknown stream ${JSON.stringify(n)}: expected ${STREAMS.join(', ')} or all`);
  return names as StreamName[];
}
