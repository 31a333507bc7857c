/**
 * A recorded lifecycle (`debug record`: DebugEvents, one JSON per line, in the order they
 * happened) as RxJS marble diagrams, one line per stream, and as a test/marbles skeleton that
 * feeds the recorded lifecycle$ through the ordering rules (pipeline.ts ordered$) and expects
 * the recorded events$: a lifecycle bug report becomes a marble test.
 *
 * Time is compressed: each value gets its own column, in recorded order, except that an events$
 * value joins the column of the value before it: events$ emits synchronously on the lifecycle
 * item that let it go (its taps run one after the other), so in virtual time both share a frame.
 */
import type { StateDump } from '../task/dump';
import type { DebugEvent, StreamName } from './protocol';
import { STREAMS } from './protocol';

/** A recorded value; `prelude`: not seen but known from the state when the recording began. */
export type Recorded = DebugEvent & { prelude?: true };

/**
 * What the ordering rules already knew when a recording began: each of the container's
 * processes whose start was published and which has not exited yet, as a start lifecycle item
 * and its event, so an exit of a process started before the recording is not held in the test
 * for a start it will never see.
 */
export function preludeOf(state: StateDump, id: string, t: number): Recorded[] {
  const c = state.containers.find((x) => x.id === id);
  if (!c) return [];
  const out: Recorded[] = [];
  for (const p of c.processes) {
    if (!p.startPublished || p.exitStatus !== undefined) continue;
    const event = p.exec
      ? { topic: '/tasks/exec-started', type: 'containerd.events.TaskExecStarted', containerId: id, event: { container_id: id, exec_id: p.exec, pid: p.pid } }
      : { topic: '/tasks/start', type: 'containerd.events.TaskStart', containerId: id, event: { container_id: id, pid: p.pid } };
    out.push({ t, stream: 'lifecycle', id, value: { kind: 'start', process: { containerId: id, execId: p.exec }, event }, prelude: true });
    out.push({ t, stream: 'events', id, value: event, prelude: true });
  }
  return out;
}

/** Marble value letters; `-|#^!()` and space mean something in a marble, so none of them. */
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789αβγδεζηθικλμνξοπρστυφχψω';

export interface MarbleLine {
  stream: StreamName;
  /** the marble, e.g. `a-b-(cd)-` */
  marble: string;
  /** letter -> the value it stands for */
  values: Record<string, unknown>;
  /** letters of values from the prelude (known from the state, not seen) */
  prelude: string[];
}

export interface Marbles {
  lines: MarbleLine[];
  /** wall-clock time of each column's first value */
  times: number[];
}

/** Reads a recording: one DebugEvent per line (blank lines and `dropped` notes skipped). */
export function parseRecording(text: string): Recorded[] {
  const out: Recorded[] = [];
  text.split('\n').forEach((line, n) => {
    if (!line.trim()) return;
    let v: any;
    try {
      v = JSON.parse(line);
    } catch {
      throw new Error(`line ${n + 1}: not JSON`);
    }
    if (v.op === 'dropped') return;
    if (typeof v.stream !== 'string' || typeof v.t !== 'number') throw new Error(`line ${n + 1}: not a recorded event (needs t and stream)`);
    out.push(v.prelude ? { t: v.t, stream: v.stream, id: v.id ?? '', value: v.value, prelude: true } : { t: v.t, stream: v.stream, id: v.id ?? '', value: v.value });
  });
  return out;
}

/** The recording as one marble line per stream that has values, in STREAMS order. */
export function toMarbles(events: readonly Recorded[]): Marbles {
  // Columns: per stream the letters of its values in that column.
  const columns: Array<Map<StreamName, string[]>> = [];
  const times: number[] = [];
  const letters = new Map<StreamName, Map<string, string>>();
  const values = new Map<StreamName, Record<string, unknown>>();
  const prelude = new Map<StreamName, string[]>();
  for (const e of events) {
    if (e.stream !== 'events' || columns.length === 0) {
      columns.push(new Map());
      times.push(e.t);
    }
    const byValue = letters.get(e.stream) ?? new Map<string, string>();
    letters.set(e.stream, byValue);
    const key = JSON.stringify(e.value);
    let letter = byValue.get(key);
    if (!letter) {
      if (byValue.size >= LETTERS.length) throw new Error(`stream ${e.stream} has more than ${LETTERS.length} distinct values: record a shorter lifecycle`);
      letter = LETTERS[byValue.size];
      byValue.set(key, letter);
      values.set(e.stream, { ...(values.get(e.stream) ?? {}), [letter]: e.value });
      if (e.prelude) prelude.set(e.stream, [...(prelude.get(e.stream) ?? []), letter]);
    }
    const col = columns[columns.length - 1];
    col.set(e.stream, [...(col.get(e.stream) ?? []), letter]);
  }
  const present = STREAMS.filter((s) => letters.has(s));
  const token = (ls: string[] | undefined) => (!ls ? '' : ls.length === 1 ? ls[0] : `(${ls.join('')})`);
  const marbles = new Map<StreamName, string>(present.map((s) => [s, '']));
  for (const col of columns) {
    // Every line's token padded to the widest, so a column is one frame on every line.
    const width = Math.max(...present.map((s) => token(col.get(s)).length), 1);
    for (const s of present) marbles.set(s, marbles.get(s)! + token(col.get(s)).padEnd(width, '-') + '-');
  }
  return { lines: present.map((s) => ({ stream: s, marble: marbles.get(s)!, values: values.get(s)!, prelude: prelude.get(s) ?? [] })), times };
}

/** The diagrams for people: one line per stream, then what each letter stands for. */
export function formatMarbles(m: Marbles, describe: (stream: StreamName, value: unknown) => string): string {
  const out = m.lines.map((l) => `${l.stream.padEnd(10)} ${l.marble}`);
  if (m.times.length) out.push(`${''.padEnd(10)} ${m.times.length} columns over ${((m.times[m.times.length - 1] - m.times[0]) / 1000).toFixed(3)} s`);
  for (const l of m.lines) {
    out.push('', `${l.stream}:`);
    for (const [letter, v] of Object.entries(l.values)) out.push(`  ${letter} = ${describe(l.stream, v)}${l.prelude.includes(letter) ? '  (before the recording, from its state)' : ''}`);
  }
  return out.join('\n') + '\n';
}

export interface SkeletonOptions {
  /** container id the recording is of */
  id: string;
  /** import path of the repository's src/ from where the test is put (test/marbles: ../../src) */
  src?: string;
}

/**
 * A node:test file that runs the recorded lifecycle$ through events$ (the ordering rules) in
 * virtual time and expects the recorded events$. It passes when the rules still do what the
 * shim did; change the expected line to what should have happened and it fails until fixed.
 */
export function marbleTest(m: Marbles, opts: SkeletonOptions): string {
  const src = opts.src ?? '../../src';
  const line = (s: StreamName) => m.lines.find((l) => l.stream === s);
  const lifecycle = line('lifecycle');
  const events = line('events');
  if (!lifecycle) throw new Error('the recording has no lifecycle values: record with the lifecycle stream');
  const width = m.times.length * 2;
  const emptyEvents = '-'.repeat(width);
  const comment = m.lines.map((l) => ` *   ${l.stream.padEnd(10)} ${l.marble}`).join('\n');
  return `/**
 * Recorded lifecycle of container ${opts.id} (containerd-shim-rx-v2 debug record; ${new Date(m.times[0] ?? 0).toISOString()}).
 * What the serving process's streams did, one column per value:
${comment}
 * The test feeds the recorded lifecycle$ through the ordering rules (ordered$) and expects the
 * events$ the shim published. To turn a bug report into a failing test, edit \`expected\` to
 * what should have been published.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestScheduler } from 'rxjs/testing';
import { ordered$ } from '${src}/pipeline';
import type { Lifecycle } from '${src}/ordering/lifecycle';
import type { TaskEvent } from '${src}/publisher/envelope';

const lifecycle: Record<string, Lifecycle> = ${JSON.stringify(lifecycle.values, null, 2)};

const published: Record<string, TaskEvent> = ${JSON.stringify(events?.values ?? {}, null, 2)};

test(${JSON.stringify(`recorded lifecycle of ${opts.id}: the ordering rules publish what the shim published`)}, () => {
  new TestScheduler((actual, expected) => assert.deepEqual(actual, expected)).run(({ hot, expectObservable }) => {
    const lifecycle$ = hot(${JSON.stringify(lifecycle.marble)}, lifecycle);
    const expected = ${JSON.stringify(events?.marble.replace(/-+$/, '') ?? emptyEvents.replace(/-+$/, ''))};
    expectObservable(ordered$(lifecycle$)).toBe(expected, published);
  });
});
`;
}
