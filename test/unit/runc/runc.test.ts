import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runc } from '../../../src/runc/runc';
import { RuncError } from '../../../src/runc/errors';

let dir: string;
let fake: string;
let argv: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rx-runc-'));
  argv = path.join(dir, 'argv');
  fake = path.join(dir, 'fake-runc');
  // A runc that records its argv; FAIL_WITH makes it log a runc-style JSON error and exit 1.
  writeFileSync(
    fake,
    `#!/bin/sh
echo "$@" >> ${argv}
log=""; prev=""
for a in "$@"; do [ "$prev" = "--log" ] && log="$a"; prev="$a"; done
if [ -n "$FAIL_WITH" ]; then
  echo '{"level":"info","msg":"starting"}' >> "$log"
  echo "{\\"level\\":\\"error\\",\\"msg\\":\\"$FAIL_WITH\\"}" >> "$log"
  echo "stderr words" >&2
  exit 1
fi
case "$*" in *" ps "*) echo '[12,34]';; *" state "*) echo '{"id":"c1","pid":12,"status":"running","bundle":"/b"}';; esac
`,
  );
  chmodSync(fake, 0o755);
});

const last = () => readFileSync(argv, 'utf8').trim().split('\n').pop();
const runc = () => new Runc({ binary: fake, root: '/run/r/ns', log: path.join(dir, 'log.json'), logFormat: 'json', criu: '/usr/sbin/criu' });

test('global flags come first, then each command with its flags, as go-runc builds them', async () => {
  const r = runc();
  await r.create('c1', '/b', { pidFile: '/b/init.pid', noPivot: true, noNewKeyring: true, consoleSocket: '/s' });
  assert.equal(last(), `--root /run/r/ns --log ${dir}/log.json --log-format json --criu /usr/sbin/criu create --bundle /b --pid-file /b/init.pid --console-socket /s --no-pivot --no-new-keyring c1`);
  await r.start('c1');
  assert.match(last()!, / start c1$/);
  await r.kill('c1', 9, { all: true });
  assert.match(last()!, / kill --all c1 9$/);
  await r.delete('c1', { force: true });
  assert.match(last()!, / delete --force c1$/);
  await r.exec('c1', '/b/p.json', { pidFile: '/b/e.pid', detach: true });
  assert.match(last()!, / exec --process \/b\/p.json --detach --pid-file \/b\/e.pid c1$/);
  await r.checkpoint('c1', { imagePath: '/img', workPath: '/w', leaveRunning: true, tcpEstablished: true });
  assert.match(last()!, / checkpoint --image-path \/img --work-path \/w --tcp-established --leave-running c1$/);
  assert.deepEqual(await r.ps('c1'), [12, 34]);
  assert.equal((await r.state('c1')).pid, 12);
});

test('a failure carries runc\'s own words from its JSON log, the exit status, and the right kind', async () => {
  process.env.FAIL_WITH = 'container does not exist';
  try {
    await assert.rejects(runc().state('nope'), (e: unknown) => {
      assert.ok(e instanceof RuncError);
      assert.equal(e.kind, 'NotFound');
      assert.equal(e.exitStatus, 1);
      assert.equal(e.message, 'runc state failed: container does not exist: exit status 1');
      assert.match(e.stderr, /stderr words/);
      return true;
    });
    process.env.FAIL_WITH = 'unable to apply cgroup configuration';
    await assert.rejects(runc().start('c1'), (e: unknown) => e instanceof RuncError && e.kind === 'Internal' && /unable to apply cgroup configuration/.test(e.message));
  } finally {
    delete process.env.FAIL_WITH;
  }
});

test('a runc binary that does not exist is an error naming it', async () => {
  await assert.rejects(new Runc({ binary: '/nonexistent/runc' }).start('c1'), /cannot run \/nonexistent\/runc/);
});

test('the real runc: state of a container that does not exist is NotFound', async () => {
  await assert.rejects(new Runc({ root: path.join(dir, 'root') }).state('nope'), (e: unknown) => e instanceof RuncError && e.kind === 'NotFound');
});
