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

test('a percent-encoded `..` stays a `..` segment in the path (WHATWG URL would fold it away), for the service to refuse', () => {
  assert.deepEqual(parseStdioUri('file:///tmp/%2e%2e/etc/x'), { kind: 'file', path: '/tmp/../etc/x' });
  assert.deepEqual(parseStdioUri('binary:///usr/%2E%2E/bin/sh'), { kind: 'binary', path: '/usr/../bin/sh', args: {} });
  assert.deepEqual(parseStdioUri('file:///tmp%2f..%2fetc/x'), { kind: 'file', path: '/tmp/../etc/x' });
});

test('a malformed URI is InvalidArgument naming the value, what is wrong and what was expected', () => {
  const invalid = (words: RegExp) => (e: unknown) => isKind(e, 'InvalidArgument') && words.test((e as Error).message) && /expected a fifo path, file:\/\/\/path or binary:\/\//.test((e as Error).message);
  assert.throws(() => parseStdioUri('file:///var/log/%zz', 'create c1: stdout'), invalid(/^create c1: stdout "file:\/\/\/var\/log\/%zz": malformed percent escape "%zz"/));
  assert.throws(() => parseStdioUri('file:///var/log/x%2'), invalid(/malformed percent escape "%2"/));
  assert.throws(() => parseStdioUri('binary:///bin/logger?id=%zz'), invalid(/"binary:\/\/\/bin\/logger\?id=%zz": malformed percent escape/));
  assert.throws(() => parseStdioUri('binary://['), invalid(/"binary:\/\/\[": malformed host "\["/));
  assert.throws(() => parseStdioUri('file://a]b/x'), invalid(/malformed host "a\]b"/));
  assert.throws(() => parseStdioUri('file:///a%ff'), invalid(/not UTF-8/));
  assert.throws(() => parseStdioUri('file:///a\nb'), invalid(/control character/));
});

test('binary:// args are decoded as Go\'s url.Query gives them to NewBinaryCmd: `+` is a space, a key\'s first value wins', () => {
  const t = parseStdioUri('binary:///bin/logger?x=1&x=2&a+b=c%20d&__proto__=p');
  assert.equal(t.kind, 'binary');
  assert.deepEqual(Object.entries((t as { args: Record<string, string> }).args), [['x', '1'], ['a b', 'c d'], ['__proto__', 'p']]);
  assert.deepEqual(parseStdioUri('binary://[::1]:80/bin/x'), { kind: 'binary', path: '/bin/x', args: {} });
  assert.deepEqual(parseStdioUri('FILE:///x#frag'), { kind: 'file', path: '/x' });
});
