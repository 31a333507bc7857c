import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, constants, existsSync, mkdtempSync, open, openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Runc } from '../../../src/runc/runc';
import { RuncError } from '../../../src/runc/errors';
import { readPidFile } from '../../../src/runc/pid-file';
import { isKind } from '../../../src/errors';
import { pipe } from '../../../src/sys/pipe';
import { closeQuietly } from '../../../src/sys/fd';

let dir: string;
let fake: string;
let argv: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rx-runc-'));
  argv = path.join(dir, 'argv');
  fake = path.join(dir, 'fake-runc');
  // A runc that records its argv (and what it was given: stdin, the --process file); FAIL_WITH
  // makes it log a runc-style JSON error and exit 1; NOISE makes it talk on stdout and stderr;
  // SELF_KILL makes it die of SIGKILL; LINGER leaves a child behind holding its stdio.
  writeFileSync(
    fake,
    `#!/bin/sh
echo "$@" >> ${argv}
log=""; prev=""; proc=""
for a in "$@"; do [ "$prev" = "--log" ] && log="$a"; [ "$prev" = "--process" ] && proc="$a"; prev="$a"; done
[ -n "$proc" ] && cp "$proc" ${dir}/process.json
[ -n "$NOISE" ] && { echo "runc stdout noise"; echo "runc stderr noise" >&2; }
[ -n "$SELF_KILL" ] && kill -9 $$
[ -n "$LINGER" ] && { sleep 2 & }
if [ -n "$FAIL_WITH" ]; then
  if [ -n "$log" ]; then
    echo '{"level":"info","msg":"starting"}' >> "$log"
    echo "{\\"level\\":\\"error\\",\\"msg\\":\\"$FAIL_WITH\\"}" >> "$log"
  fi
  echo "stderr words" >&2
  exit 1
fi
case "$*" in
  *" ps "*) echo '[12,34]';;
  *" state "*) echo '{"id":"c1","pid":12,"status":"running","bundle":"/b"}';;
  *" update "*) cat > ${dir}/stdin;;
  *" events --stats "*) echo '{"type":"stats","id":"c1","data":{"pids":{"current":3}}}';;
esac
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
    await assert.rejects(runc().start('c1'), (e: unknown) => e instanceof RuncError && e.kind === 'Unknown' && /unable to apply cgroup configuration/.test(e.message));
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

/** Run `fn` with some of the fake runc's switches set in the environment it inherits. */
async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
  }
}

test('pause, resume, restore, stats, update and --systemd-cgroup build go-runc\'s argv; update sends the resources as JSON on stdin', async () => {
  const r = new Runc({ binary: fake, root: '/run/r/ns', systemdCgroup: true });
  await r.pause('c1');
  assert.equal(last(), '--root /run/r/ns --systemd-cgroup pause c1');
  await r.resume('c1');
  assert.equal(last(), '--root /run/r/ns --systemd-cgroup resume c1');
  await r.restore('c1', '/b', { imagePath: '/img', workPath: '/w', pidFile: '/b/init.pid', noPivot: true });
  assert.equal(last(), '--root /run/r/ns --systemd-cgroup restore --image-path /img --work-path /w --detach --pid-file /b/init.pid --no-pivot --bundle /b c1');
  assert.deepEqual(await r.stats('c1'), { pids: { current: 3 } });
  assert.equal(last(), '--root /run/r/ns --systemd-cgroup events --stats c1');
  const resources = { memory: { limit: 1 << 20 }, cpu: { shares: 512 } };
  await r.update('c1', resources);
  assert.equal(last(), '--root /run/r/ns --systemd-cgroup update --resources - c1');
  assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'stdin'), 'utf8')), resources);
});

test('exec with a process spec object writes it to a temp file for runc, and removes the file after', async () => {
  const spec = { args: ['sh', '-c', 'echo hi'], cwd: '/', env: ['A=1'] };
  await runc().exec('c1', spec, { pidFile: '/b/e.pid', detach: true });
  const file = / exec --process (\S+) /.exec(last()!)![1];
  assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'process.json'), 'utf8')), spec);
  assert.equal(existsSync(file), false, `${file} left behind`);
});

test('create hands runc the given fds as its 0, 1, 2 (the container inherits them)', async () => {
  const [r, w] = pipe();
  const reader = new net.Socket({ fd: r, readable: true, writable: false });
  const got = new Promise<string>((resolve) => {
    let text = '';
    reader.on('data', (d) => (text += d));
    reader.on('end', () => resolve(text));
  });
  let spawned = false;
  await withEnv({ NOISE: '1' }, () => runc().create('c1', '/b', { pidFile: '/b/p', stdio: [null, w, w], onSpawn: () => (spawned = true) }));
  closeQuietly(w);
  assert.equal(await got, 'runc stdout noise\nrunc stderr noise\n');
  assert.equal(spawned, true);
});

test('create without stdio gives runc /dev/null: a process it leaves behind cannot hold the call open', async () => {
  const started = Date.now();
  await withEnv({ LINGER: '1' }, () => runc().create('c1', '/b', { pidFile: '/b/p' }));
  assert.ok(Date.now() - started < 1500, `create took ${Date.now() - started} ms: it waited for the lingering child`);
});

test('runc\'s own stdout and stderr never reach the shim\'s stdout', () => {
  const script = `
    const { Runc } = require(${JSON.stringify(path.resolve(__dirname, '../../../src/runc/runc.js'))});
    const r = new Runc({ binary: ${JSON.stringify(fake)} });
    (async () => { await r.start('c1'); await r.kill('c1', 15); await r.create('c1', '/b', { pidFile: '/b/p' }); await r.ps('c1').catch(() => {}); await r.start('x').catch(() => {}); })();
  `;
  const res = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, NOISE: '1' }, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout, '');
  assert.equal(res.stderr, '');
});

test('a runc killed by a signal reports 128 + signo as its exit status', async () => {
  await withEnv({ SELF_KILL: '1' }, () =>
    assert.rejects(runc().start('c1'), (e: unknown) => e instanceof RuncError && e.exitStatus === 137 && /exit status 137$/.test(e.message)),
  );
});

test('without a --log file, the failure carries runc\'s stderr', async () => {
  await withEnv({ FAIL_WITH: 'x' }, () =>
    assert.rejects(new Runc({ binary: fake }).start('c1'), (e: unknown) => e instanceof RuncError && e.message === 'runc start failed: stderr words: exit status 1'),
  );
});

test('only the error logged by this call is reported, not an older one in the same --log file', async () => {
  const r = new Runc({ binary: fake, log: path.join(dir, 'shared-log.json'), logFormat: 'json' });
  await withEnv({ FAIL_WITH: 'container does not exist' }, () => assert.rejects(r.state('c1')));
  // This call fails without logging anything: runc's stderr is the only account of it.
  writeFileSync(path.join(dir, 'silent-runc'), '#!/bin/sh\necho "silent failure" >&2\nexit 2\n');
  chmodSync(path.join(dir, 'silent-runc'), 0o755);
  const silent = new Runc({ binary: path.join(dir, 'silent-runc'), log: path.join(dir, 'shared-log.json'), logFormat: 'json' });
  await assert.rejects(silent.start('c1'), (e: unknown) => e instanceof RuncError && e.kind === 'Unknown' && e.message === 'runc start failed: silent failure: exit status 2');
});

test('readPidFile reads the pid runc wrote', async () => {
  const file = path.join(dir, 'ok.pid');
  writeFileSync(file, '4242');
  assert.equal(await readPidFile(file), 4242);
});

test('readPidFile reads an empty pid file again until the pid is in it', async () => {
  const file = path.join(dir, 'late.pid');
  writeFileSync(file, '');
  setTimeout(() => writeFileSync(file, '777\n'), 30);
  assert.equal(await readPidFile(file, { attempts: 50, delayMs: 5 }), 777);
});

test('readPidFile: a missing file is NotFound, garbage or a file that stays empty is Internal', async () => {
  await assert.rejects(readPidFile(path.join(dir, 'none.pid')), (e: unknown) => isKind(e, 'NotFound'));
  writeFileSync(path.join(dir, 'bad.pid'), 'abc');
  await assert.rejects(readPidFile(path.join(dir, 'bad.pid')), (e: unknown) => isKind(e, 'Internal') && /bad pid file/.test((e as Error).message));
  writeFileSync(path.join(dir, 'empty.pid'), '');
  await assert.rejects(readPidFile(path.join(dir, 'empty.pid'), { attempts: 3, delayMs: 1 }), (e: unknown) => isKind(e, 'Internal'));
});

test('runc\'s words are found even when the thread pool is busy: the log offset is taken before runc runs', async () => {
  // Four blocking FIFO opens hold libuv's four pool threads; an offset taken by a stat queued
  // behind them would land after runc's own lines, and the words would be lost.
  const fifos = [0, 1, 2, 3].map((i) => path.join(dir, `busy-${i}`));
  execFileSync('mkfifo', fifos);
  const opened = fifos.map((f) => new Promise<number>((resolve) => open(f, 'r', (_e, fd) => resolve(fd))));
  setTimeout(() => fifos.forEach((f) => closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK))), 300);
  try {
    await withEnv({ FAIL_WITH: 'container does not exist' }, () =>
      assert.rejects(runc().state('busy'), (e: unknown) => e instanceof RuncError && e.kind === 'NotFound' && e.runcMessage === 'container does not exist'),
    );
  } finally {
    (await Promise.all(opened)).forEach((fd) => closeSync(fd));
  }
});
