import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Observable } from 'rxjs';
import { unavailable, invalidArgument } from '../../../src/errors';
import type { Envelope } from '../../../src/publisher/envelope';
import { forward$ } from '../../../src/publisher/forward$';

const env = (topic: string): Envelope => ({ timestamp: new Date(0), namespace: 'ns', topic, type: 't', event: {}, containerId: 'c1' });
const envs: Record<string, Envelope> = { a: env('a'), b: env('b'), c: env('c') };

test('events of one container keep their order: b waits while a is retried', async () => {
  // Retries take real promises, so this runs in real time with a tiny back-off.
  const failures: Record<string, number> = { a: 2 };
  const sent: string[] = [];
  const results: string[] = [];
  await new Promise<void>((resolve, reject) =>
    forward$(new Observable<Envelope>((s) => { s.next(envs.a); s.next(envs.b); s.next(envs.c); s.complete(); }), {
      forward: (e) => {
        sent.push(e.topic);
        if ((failures[e.topic] ?? 0) > 0) {
          failures[e.topic]--;
          return Promise.reject(unavailable('containerd is away'));
        }
        return Promise.resolve();
      },
      retries: 5,
      backoff: () => 1,
    }).subscribe({ next: (r) => results.push(`${r.envelope.topic}:${r.attempts}`), complete: resolve, error: reject }),
  );
  assert.deepEqual(sent, ['a', 'a', 'a', 'b', 'c'], 'b is not sent before a is delivered');
  assert.deepEqual(results, ['a:3', 'b:1', 'c:1']);
});

test('an event still failing after the last retry is reported lost and the queue moves on', async () => {
  const results: string[] = [];
  await new Promise<void>((resolve) =>
    forward$(new Observable<Envelope>((s) => { s.next(envs.a); s.next(envs.b); s.complete(); }), {
      forward: (e) => (e.topic === 'a' ? Promise.reject(unavailable('gone')) : Promise.resolve()),
      retries: 3,
      backoff: () => 1,
    }).subscribe({ next: (r) => results.push(`${r.envelope.topic}:${r.delivered}:${r.attempts}`), complete: resolve }),
  );
  assert.deepEqual(results, ['a:false:4', 'b:true:1']);
});

test('a refusal that is not about reachability (InvalidArgument) is not retried', async () => {
  let calls = 0;
  const results: string[] = [];
  await new Promise<void>((resolve) =>
    forward$(new Observable<Envelope>((s) => { s.next(envs.a); s.complete(); }), {
      forward: () => (calls++, Promise.reject(invalidArgument('bad namespace'))),
      retries: 5,
      backoff: () => 1,
    }).subscribe({ next: (r) => results.push(`${r.delivered}:${r.attempts}`), complete: resolve }),
  );
  assert.equal(calls, 1);
  assert.deepEqual(results, ['false:1']);
});

test('forward$ completes (the drain) only after the last queued event settles', async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let completed = false;
  const done = new Promise<void>((resolve) =>
    forward$(new Observable<Envelope>((s) => { s.next(envs.a); s.next(envs.b); s.complete(); }), {
      forward: (e) => (e.topic === 'b' ? held : Promise.resolve()),
      retries: 0,
      backoff: () => 0,
    }).subscribe({ complete: () => { completed = true; resolve(); } }),
  );
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(completed, false, 'input completed, but b is still in flight');
  release();
  await done;
  assert.equal(completed, true);
});
