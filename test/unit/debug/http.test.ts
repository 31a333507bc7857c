import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Subscription } from 'rxjs';
import { EXPOSITION_TYPE, listenAddress, metricsHttp$ } from '../../../src/debug/http';
import { parseShimConfig } from '../../../src/runc/options';

test('GET /metrics answers the rendered text as the exposition content type; other paths are 404; unsubscribing closes it', async () => {
  const logs: string[] = [];
  const http$ = metricsHttp$('127.0.0.1:0', async () => 'up 1\n', (msg) => void logs.push(msg));
  const sub = new Subscription();
  const port = await new Promise<number>((resolve) => sub.add(http$.subscribe(resolve)));
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), EXPOSITION_TYPE);
  assert.equal(await r.text(), 'up 1\n');
  assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 404);
  sub.unsubscribe();
  await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`));
  assert.deepEqual(logs, []);
});

test('a listen that fails is logged, and the stream neither errors nor completes', async () => {
  const logs: string[] = [];
  const first = metricsHttp$('127.0.0.1:0', async () => '', () => undefined);
  const sub = new Subscription();
  const port = await new Promise<number>((resolve) => sub.add(first.subscribe(resolve)));
  const second = metricsHttp$(`127.0.0.1:${port}`, async () => '', (msg, f) => void logs.push(`${msg} ${JSON.stringify(f)}`));
  const s2 = second.subscribe({ error: () => assert.fail('no error'), complete: () => assert.fail('no complete') });
  for (let i = 0; i < 250 && logs.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(logs[0] ?? '', /metrics listener: cannot serve.*EADDRINUSE/);
  s2.unsubscribe();
  sub.unsubscribe();
});

test('listenAddress reads host:port and [v6]:port', () => {
  assert.deepEqual(listenAddress('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(listenAddress('[::1]:80'), { host: '::1', port: 80 });
  assert.throws(() => listenAddress('9464'), /expected host:port/);
});

test('our config takes metrics_address as host:port and refuses anything else', () => {
  assert.equal(parseShimConfig('metrics_address = "127.0.0.1:9464"', 't').metricsAddress, '127.0.0.1:9464');
  assert.equal(parseShimConfig('metrics_address = "[::1]:9464"', 't').metricsAddress, '[::1]:9464');
  assert.equal(parseShimConfig('grouping = "pod"', 't').metricsAddress, undefined, 'off by default');
  assert.throws(() => parseShimConfig('metrics_address = 9464', 't'), /metrics_address = "9464": expected "host:port"/);
  assert.throws(() => parseShimConfig('metrics_address = "http://x:1"', 't'), /expected "host:port"/);
});
