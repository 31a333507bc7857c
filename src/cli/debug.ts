/**
 * `containerd-shim-rx-v2 debug <tap|state|metrics|record|marbles> ...`: watch a serving
 * process through its debug socket (debug/protocol.ts). Loaded only for `debug` (main.ts), in
 * its own bundle file: `start` and `delete` never parse it.
 */
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { connectDebug, type DebugClient } from '../debug/client';
import { describe, formatEvent, formatState } from '../debug/format';
import { locate, NotFound } from '../debug/locate';
import { formatMarbles, marbleTest, parseRecording, preludeOf, toMarbles } from '../debug/marbles';
import { parseStreams, STREAMS, type DebugEvent, type Response, type StreamName } from '../debug/protocol';
import type { StateDump } from '../task/dump';
import { readFlag, UsageError } from './flags';

export interface DebugArgs {
  sub: string;
  file: string;
  address: string;
  namespace: string;
  id: string;
  bundle: string;
  /** the debug socket itself, found by other means */
  socket: string;
  stream: string;
  json: boolean;
  /** tap: every container of that serving process, not only -id's */
  all: boolean;
  out: string;
  /** marbles: the import path of src/ in the skeleton */
  src: string;
}

const spec: Record<string, [keyof DebugArgs, boolean]> = {
  address: ['address', true],
  namespace: ['namespace', true],
  n: ['namespace', true],
  id: ['id', true],
  bundle: ['bundle', true],
  socket: ['socket', true],
  stream: ['stream', true],
  json: ['json', false],
  all: ['all', false],
  out: ['out', true],
  src: ['src', true],
};

export const DEBUG_USAGE = `usage: containerd-shim-rx-v2 debug <subcommand> [-address <containerd socket>] [-namespace <ns>] -id <container> | -bundle <path>
  tap [--stream ${STREAMS.join(',')}] [--all] [--json]   live, one line per value; on stdin +name / -name switch a stream on or off
  state [--json]                                         containers, processes, states, pids, queues, fds, RSS
  metrics                                                Prometheus text exposition
  record --out F                                         the container's streams with timestamps, until its TaskDelete (or ^C)
  marbles F [--out T] [--src ../../src]                  marble diagrams of a recording, and a test/marbles skeleton (to T)
`;

/** The debug subcommand's arguments: a subcommand, flags in Go's syntax anywhere, `marbles` takes a file. */
export function parseDebugArgs(argv: string[]): DebugArgs {
  const a: DebugArgs = { sub: '', file: '', address: '', namespace: 'default', id: '', bundle: '', socket: '', stream: '', json: false, all: false, out: '', src: '' };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('-') && argv[i] !== '-') i = readFlag(argv, i, spec, a as unknown as Record<string, string | boolean>);
    else positional.push(argv[i]);
  }
  [a.sub = '', a.file = ''] = positional;
  if (!['tap', 'state', 'metrics', 'record', 'marbles'].includes(a.sub)) throw new UsageError(`debug: unknown subcommand ${JSON.stringify(a.sub)}\n${DEBUG_USAGE}`);
  if (a.sub === 'marbles' && !a.file) throw new UsageError('debug marbles: name the recording: debug marbles <file>');
  if (a.sub === 'record' && !a.out) throw new UsageError('debug record: pass --out <file>');
  if (positional.length > (a.sub === 'marbles' ? 2 : 1)) throw new UsageError(`debug ${a.sub}: unexpected arguments ${positional.slice(1).join(' ')}`);
  return a;
}

async function connect(a: DebugArgs): Promise<DebugClient> {
  const path = a.socket || (await locate({ address: a.address, namespace: a.namespace, id: a.id, bundle: a.bundle })).path;
  try {
    return await connectDebug(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new NotFound(code === 'ENOENT' || code === 'ECONNREFUSED' ? `the serving process is gone (${path}: ${code})` : `${path}: ${code ?? err}`);
  }
}

async function answer(c: DebugClient, req: Parameters<DebugClient['request']>[0]): Promise<Response> {
  const r = await c.request(req);
  if (r.op === 'error') throw new Error(`debug socket: ${r.message}`);
  return r;
}

/** The streams a tap asks for: --stream, or all of them. */
const streamsOf = (a: DebugArgs): StreamName[] => (a.stream ? parseStreams(a.stream) : [...STREAMS]);

async function tap(a: DebugArgs): Promise<void> {
  const c = await connect(a);
  let streams = streamsOf(a);
  const id = a.all ? undefined : a.id || undefined;
  c.onEvent((r) => {
    if (r.op === 'dropped') process.stderr.write(`(${r.count} values dropped: reading too slowly)\n`);
    else if (r.op === 'event') process.stdout.write(a.json ? JSON.stringify(eventOf(r)) + '\n' : formatEvent(r) + '\n');
  });
  await answer(c, { op: 'tap', streams, id });
  process.stderr.write(`tapping ${streams.join(',')} of ${id ?? 'every container'}\n`);
  // +calls / -signals on stdin switch a stream on or off, live, on the same connection.
  const commands = createInterface({ input: process.stdin });
  commands.on('line', (line) => {
    const m = /^\s*([+-])\s*(\w+)\s*$/.exec(line);
    if (!m || !(STREAMS as readonly string[]).includes(m[2])) return void process.stderr.write(`expected +stream or -stream (${STREAMS.join(', ')})\n`);
    const s = m[2] as StreamName;
    streams = m[1] === '+' ? [...new Set([...streams, s])] : streams.filter((x) => x !== s);
    c.request({ op: 'tap', streams, id }).then(() => process.stderr.write(`tapping ${streams.join(',') || 'nothing'}\n`), () => undefined);
  });
  let stopped = false;
  const stop = () => {
    stopped = true;
    c.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await c.closed;
  // The other end went: the serving process stopped (its container deleted) or was killed.
  if (!stopped) process.stderr.write('the serving process closed the debug connection (it has stopped)\n');
  commands.close();
  process.stdin.destroy();
}

const eventOf = (r: DebugEvent): DebugEvent => ({ t: r.t, stream: r.stream, id: r.id, value: r.value });

async function record(a: DebugArgs): Promise<void> {
  const c = await connect(a);
  const out = createWriteStream(a.out);
  let n = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    c.close();
  };
  c.onEvent((r) => {
    if (r.op !== 'event') return void out.write(JSON.stringify(r) + '\n');
    out.write(JSON.stringify(eventOf(r)) + '\n');
    n++;
    // A container's lifecycle ends with its TaskDelete (of its init: the event names no exec).
    const v = r.value as { topic?: string; containerId?: string };
    if (r.stream === 'events' && v.topic === '/tasks/delete' && v.containerId === a.id) finish();
  });
  // The state and the tap in one write: the server runs both with no value between them.
  const [state, ack] = await c.requests([{ op: 'state' }, { op: 'tap', streams: streamsOf(a), id: a.id || undefined }]);
  if (state.op !== 'state' || ack.op !== 'ack') throw new Error(`debug socket: ${state.op === 'error' ? state.message : ack.op === 'error' ? ack.message : 'unexpected answer'}`);
  for (const p of preludeOf(state.state as StateDump, a.id, Date.now())) out.write(JSON.stringify(p) + '\n');
  process.stderr.write(`recording ${a.id || 'every container'} to ${a.out} (until its TaskDelete, or ^C)\n`);
  process.once('SIGINT', finish);
  process.once('SIGTERM', finish);
  await c.closed;
  await new Promise<void>((resolve) => out.end(resolve));
  process.stderr.write(`recorded ${n} values to ${a.out}\n`);
}

function marbles(a: DebugArgs): void {
  const events = parseRecording(readFileSync(a.file, 'utf8'));
  const m = toMarbles(events);
  process.stdout.write(formatMarbles(m, (stream, value) => describe({ stream, value })));
  const ids = [...new Set(events.map((e) => e.id).filter(Boolean))];
  const skeleton = marbleTest(m, { id: ids.join(', ') || 'unknown', src: a.src || undefined });
  if (a.out) {
    writeFileSync(a.out, skeleton);
    process.stderr.write(`marble test written to ${a.out}\n`);
  } else {
    process.stdout.write(`\n// ---- test/marbles skeleton ----\n${skeleton}`);
  }
}

export async function debugAction(argv: string[]): Promise<void> {
  const a = parseDebugArgs(argv);
  switch (a.sub) {
    case 'tap':
      return tap(a);
    case 'record':
      return record(a);
    case 'marbles':
      return marbles(a);
    case 'state': {
      const c = await connect(a);
      const r = await answer(c, { op: 'state' });
      c.close();
      if (r.op === 'state') process.stdout.write(a.json ? JSON.stringify(r.state, null, 2) + '\n' : formatState(r.state as StateDump));
      return;
    }
    case 'metrics': {
      const c = await connect(a);
      const r = await answer(c, { op: 'metrics' });
      c.close();
      if (r.op === 'metrics') process.stdout.write(r.text);
      return;
    }
  }
}
