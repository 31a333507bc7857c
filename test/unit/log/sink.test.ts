import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { LogSink } from '../../../src/log';

const epipe = () => Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });

test('after EPIPE the sink tries no write for a second: a tapped SIGPIPE cannot feed on its own log line', () => {
  let clock = 1000;
  let writes = 0;
  const sink = new LogSink(99, 1000, () => clock, () => {
    writes++;
    throw epipe();
  });
  for (let i = 0; i < 100; i++) sink.write('line\n');
  assert.equal(writes, 1, 'one syscall, not a hundred');
  assert.equal(sink.dropped, 100);
  clock += 1001;
  sink.write('again\n');
  assert.equal(writes, 2, 'tried again after the pause');
});

test('EAGAIN (reader slow) drops the line but does not pause: the next line is tried', () => {
  let writes = 0;
  const sink = new LogSink(99, 1000, () => 0, () => {
    writes++;
    throw Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' });
  });
  sink.write('a\n');
  sink.write('b\n');
  assert.equal(writes, 2);
  assert.equal(sink.dropped, 2);
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
