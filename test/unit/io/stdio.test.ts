import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKind } from '../../../src/errors';
import { parseStdioUri } from '../../../src/task/io/stdio';

test('an empty stdio string is none', () => {
  assert.deepEqual(parseStdioUri(''), { kind: 'none' });
});

test('a plain path is a FIFO containerd made (cio sends fifos without a scheme)', () => {
  assert.deepEqual(parseStdioUri('/run/containerd/fifo/123/c1-stdout'), { kind: 'fifo', path: '/run/containerd/fifo/123/c1-stdout' });
});

test('file:///path is a file to append to, its path unescaped', () => {
  assert.deepEqual(parseStdioUri('file:///var/log/c%201.log'), { kind: 'file', path: '/var/log/c 1.log' });
});

test('binary:///path?k=v is a logging binary with its query as args', () => {
  assert.deepEqual(parseStdioUri('binary:///usr/bin/logger?id=c1&flag'), { kind: 'binary', path: '/usr/bin/logger', args: { id: 'c1', flag: '' } });
});

test('an unknown scheme is Unimplemented, naming the scheme', () => {
  assert.throws(
    () => parseStdioUri('tcp://host:1'),
    (e: unknown) => isKind(e, 'Unimplemented') && /tcp:/.test((e as Error).message),
  );
});
