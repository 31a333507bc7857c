/** The publisher and the taps against the real peer: containerd 1.6's events service on its ttrpc socket. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { runtimeArgs } from '../helpers/shim';
import { Publisher } from '../../src/publisher/publisher';
import { dial } from '../../src/ttrpc/client';
import { silentLogger } from '../../src/log';
import { uniqueId } from '../helpers/tasks';
// Container ids of this run only: runc's state root is shared by every containerd on the machine.
const [TAP1] = ['tap1'].map(uniqueId);

let ctd: Containerd;
before(async () => {
  ctd = await startContainerd({ name: 'publisher', env: { RX_TAP: 'signals,exits,lifecycle,events' } });
});
after(async () => ctd?.stop());

test('our publisher forwards a TaskOOM envelope that ctr events shows with its container id', async () => {
  const events = ctd.ctrSpawn(['events']);
  let text = '';
  events.stdout!.on('data', (d) => (text += d));
  await new Promise((r) => setTimeout(r, 300));
  const publisher = new Publisher({ namespace: 'default', connect: () => dial(ctd.ttrpcAddress), log: silentLogger() });
  publisher.publish({ topic: '/tasks/oom', type: 'containerd.events.TaskOOM', containerId: 'oom-probe', event: { container_id: 'oom-probe' } });
  await publisher.drain();
  assert.deepEqual(publisher.snapshot(), { published: 1, delivered: 1, lost: 0, pending: 0 });
  for (let i = 0; i < 30 && !text.includes('oom-probe'); i++) await new Promise((r) => setTimeout(r, 100));
  events.kill();
  assert.match(text, /default\s+\/tasks\/oom\s+.*oom-probe/);
  publisher.close();
});

test('an envelope containerd refuses (empty namespace) is counted lost at once, not retried', async () => {
  const publisher = new Publisher({ namespace: '', connect: () => dial(ctd.ttrpcAddress), log: silentLogger(), backoff: () => 1000 });
  publisher.publish({ topic: '/tasks/oom', type: 'containerd.events.TaskOOM', containerId: 'x', event: { container_id: 'x' } });
  const started = Date.now();
  await publisher.drain();
  assert.equal(publisher.snapshot().lost, 1);
  assert.ok(Date.now() - started < 1000, 'no back-off for a refusal');
  publisher.close();
});

test('with RX_TAP set, each tapped stream writes one structured line per event into containerd\'s log', async () => {
  const rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
  const r = await ctd.ctr(['run', ...runtimeArgs(), '--rm', '--rootfs', rootfs, TAP1, '/bin/sh', '-c', 'exit 4']);
  assert.equal(r.code, 4, r.stderr);
  await new Promise((res) => setTimeout(res, 300));
  const lines = ctd
    .log()
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('"stream"'))
    .map((l) => JSON.parse(l));
  const streams = new Set(lines.map((l) => l.stream));
  for (const s of ['signals', 'exits', 'lifecycle', 'events']) assert.ok(streams.has(s), `stream ${s} tapped (saw ${[...streams]})`);
  const exit = lines.find((l) => l.stream === 'exits' && l.event === 'next');
  assert.equal(exit.value.status, 4, 'the exits$ tap shows the status');
  const topics = lines.filter((l) => l.stream === 'events' && l.event === 'next').map((l) => l.value.topic);
  assert.deepEqual(topics, ['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete']);
});

test('each tapped event is logged once, however many subscribers the stream has', async () => {
  const lines = ctd.log().split('\n').filter((l) => l.startsWith('{') && l.includes('"stream":"exits"') && l.includes('"event":"next"'));
  const keys = lines.map((l) => {
    const j = JSON.parse(l);
    return `${j.pid}:${j.value.pid}:${j.value.time}`;
  });
  assert.ok(keys.length > 0);
  assert.equal(new Set(keys).size, keys.length, `duplicated tap lines: ${keys.join(' ')}`);
});
