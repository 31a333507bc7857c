/**
 * The binary:// logging binary, started as containerd-shim-runc-v2 starts it, with containerd's
 * RLIMIT_NOFILE soft limit given back (src/sys/nofile.ts). This file's process records 256 as
 * that limit before anything reads it (the launcher records it in the serving process).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NOFILE_ENV } from '../../../src/sys/nofile';
import { startLoggingBinary } from '../../../src/task/io/binary-logger';

process.env[NOFILE_ENV] = '256';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rx-logger-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the logger gets CONTAINER_ID and the recorded soft limit, and its ready pipe is what start waits on', async () => {
  const logger = path.join(dir, 'logger');
  writeFileSync(logger, `#!/bin/sh\necho "$CONTAINER_ID $(ulimit -Sn)" > "${dir}/facts"\nexec 5>&-\ncat <&3 >/dev/null\n`);
  chmodSync(logger, 0o755);
  const l = await startLoggingBinary({ kind: 'binary', path: logger, args: {} }, 'c1', 'ns');
  l.stop();
  await l.exited;
  assert.equal(readFileSync(path.join(dir, 'facts'), 'utf8'), 'c1 256\n');
});

test('a missing logging binary is an error naming it, not a logger that started and left (prlimit would exec nothing)', async () => {
  const missing = path.join(dir, 'no-such-logger');
  await assert.rejects(startLoggingBinary({ kind: 'binary', path: missing, args: {} }, 'c1', 'ns'), new RegExp(`cannot start logging binary ${missing}: no executable file`));
});
