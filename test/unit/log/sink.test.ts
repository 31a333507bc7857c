import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { LogSink } from '../../../src/log';

const epipe = () => Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('after EPIPE lines are held, not written: a tapped SIGPIPE cannot feed on its own log line', () => {
  let writes = 0;
  const sink = new LogSink(99, 1000, () => {
    writes++;
    throw epipe();
  });
  for (let i = 0; i < 100; i++) sink.write(`line ${i}\n`);
  assert.equal(writes, 1, 'one syscall, not a hundred');
  assert.equal(sink.waiting, 100);
  assert.equal(sink.dropped, 0);
});

test('held lines reach a reader that comes back, in order, on the retry timer', async () => {
  const written: string[] = [];
  let readerBack = false;
  const sink = new LogSink(99, 30, (_fd, line) => {
    if (!readerBack) throw epipe();
    written.push(line);
  });
  sink.write('a\n');
  sink.write('b\n');
  readerBack = true;
  await sleep(80);
  assert.deepEqual(written, ['a\n', 'b\n']);
  assert.equal(sink.waiting, 0);
  sink.write('c\n');
  assert.deepEqual(written, ['a\n', 'b\n', 'c\n'], 'written at once again');
});

test('no more than `keep` lines are held; the oldest go first and are counted', () => {
  const sink = new LogSink(99, 1000, () => {
    throw epipe();
  }, 10);
  for (let i = 0; i < 25; i++) sink.write(`${i}\n`);
  assert.equal(sink.waiting, 10);
  assert.equal(sink.dropped, 15);
});

test('EAGAIN (reader slow) drops that line and goes on', () => {
  let writes = 0;
  const sink = new LogSink(99, 1000, () => {
    writes++;
    throw Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' });
  });
  sink.write('a\n');
  sink.write('b\n');
  assert.equal(writes, 2);
  assert.equal(sink.dropped, 2);
  assert.equal(sink.waiting, 0);
});

test('on a real fifo, lines reach the reader', () => {
  const p = path.join(mkdtempSync(path.join(os.tmpdir(), 'rx-sink-')), 'log');
  execFileSync('mkfifo', [p]);
  const reader = openSync(p, 'r+'); // lets the writer open without blocking
  const writer = openSync(p, 'w');
  const sink = new LogSink(writer);
  sink.write('seen\n');
  const out = Buffer.alloc(64);
  assert.equal(out.subarray(0, readSync(reader, out)).toString(), 'seen\n');
  assert.equal(sink.dropped, 0);
  closeSync(reader);
  closeSync(writer);
});
