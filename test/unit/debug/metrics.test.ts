import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUCKETS, eventLoopLag, Metrics, requestId } from '../../../src/debug/metrics';
import { encode } from '../../../src/proto';
import type { StateDump } from '../../../src/task/dump';

const dump = (queues?: Record<string, number>): StateDump => ({
  pid: 1, uptimeS: 1, rssBytes: 4096, fds: 12, inheritableFds: [], containers: [], creating: [], exitClaims: 0, heldExits: 0,
  publisher: { published: 5, delivered: 4, lost: 1, pending: 0, ...(queues ? { queues } : {}) },
});

/** The exposition text as name{labels} -> value; fails on a line that is neither a sample nor HELP/TYPE. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || /^# (HELP|TYPE) /.test(line)) continue;
    const m = /^([a-z_:][a-z0-9_:]*(?:\{.*\})?) (\S+)$/i.exec(line);
    assert.ok(m, `not a sample: ${line}`);
    out.set(m[1], Number(m[2]));
  }
  return out;
}

test('calls are counted by service, method and code, with a cumulative latency histogram', () => {
  const m = new Metrics();
  const T = 'containerd.task.v2.Task';
  m.observeCall({ service: T, method: 'Create', code: 0, ms: 80, id: 'c1' });
  m.observeCall({ service: T, method: 'Create', code: 6, ms: 0.5, id: 'c1' });
  m.observeCall({ service: T, method: 'Create', code: 0, ms: 20000, id: 'c1' });
  const s = samples(m.render(dump(), 0.002));
  assert.equal(s.get(`shim_rx_ttrpc_calls_total{service="${T}",method="Create",code="OK"}`), 2);
  assert.equal(s.get(`shim_rx_ttrpc_calls_total{service="${T}",method="Create",code="AlreadyExists"}`), 1);
  const bucket = (le: string) => s.get(`shim_rx_ttrpc_call_duration_seconds_bucket{service="${T}",method="Create",le="${le}"}`);
  assert.equal(bucket('0.001'), 1);
  assert.equal(bucket('0.1'), 2);
  assert.equal(bucket(String(BUCKETS[BUCKETS.length - 1])), 2, 'the 20 s call is over every bound');
  assert.equal(bucket('+Inf'), 3);
  assert.equal(s.get(`shim_rx_ttrpc_call_duration_seconds_count{service="${T}",method="Create"}`), 3);
  assert.ok(Math.abs(s.get(`shim_rx_ttrpc_call_duration_seconds_sum{service="${T}",method="Create"}`)! - 20.0805) < 1e-9);
});

test('events, queue depth per container, exits and the process facts come from the dump and the counters', () => {
  const m = new Metrics();
  m.observeExit();
  m.observeExit();
  const s = samples(m.render(dump({ 'c"1': 3 }), 0.25));
  assert.equal(s.get('shim_rx_events_published_total'), 5);
  assert.equal(s.get('shim_rx_events_delivered_total'), 4);
  assert.equal(s.get('shim_rx_events_lost_total'), 1);
  assert.equal(s.get('shim_rx_event_queue_depth{container="c\\"1"}'), 3, 'a quote in a label value is escaped');
  assert.equal(s.get('shim_rx_exits_reaped_total'), 2);
  assert.equal(s.get('process_resident_memory_bytes'), 4096);
  assert.equal(s.get('process_open_fds'), 12);
  assert.equal(s.get('nodejs_eventloop_lag_seconds'), 0.25);
});

test('every family has one HELP and one TYPE line, before its samples', () => {
  const text = new Metrics().render(dump(), 0);
  const types = [...text.matchAll(/^# TYPE (\S+) (counter|gauge|histogram)$/gm)].map((x) => x[1]);
  assert.equal(new Set(types).size, types.length);
  for (const t of types) assert.ok(text.indexOf(`# HELP ${t} `) < text.indexOf(`# TYPE ${t} `));
});

test('requestId reads field 1 of a Task API request, and nothing from other bytes', () => {
  assert.equal(requestId(encode('containerd.task.v2.StartRequest', { id: 'c1', exec_id: 'e1' })), 'c1');
  assert.equal(requestId(encode('containerd.task.v2.StartRequest', { id: 'x'.repeat(300) })), 'x'.repeat(300), 'a two-byte length');
  assert.equal(requestId(encode('containerd.task.v2.StartRequest', { exec_id: 'e1' })), '', 'no field 1');
  assert.equal(requestId(Buffer.from([0x0a, 0x05, 0x61])), '', 'a length past the end');
  assert.equal(requestId(Buffer.alloc(0)), '');
});

test('eventLoopLag is a non-negative number of seconds', async () => {
  const lag = await eventLoopLag();
  assert.ok(lag >= 0 && lag < 60);
});
