import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { filter, firstValueFrom, Subject, take, toArray, type Observable } from 'rxjs';
import { createExits$, type Exit } from '../../../src/streams/exits$';
import { createSignals$ } from '../../../src/streams/signals$';
import { trackNodeChildren } from '../../../src/sys/children';
import { setChildSubreaper } from '../../../src/sys/subreaper';
import { exitedChild, exitStatus, waitNoHang } from '../../../src/sys/wait';

// This test file's process becomes the subreaper, as the serving process does.
trackNodeChildren();
setChildSubreaper();
const sigchld$ = createSignals$(process, ['SIGCHLD']);
const exits$: Observable<Exit> = createExits$(sigchld$, { sweepIntervalMs: 200 });

/**
 * Start `sh -c 'script & echo $!'`: the background child is orphaned to us when sh exits. The
 * script must outlive sh (a short sleep first), or sh may reap it itself.
 */
function orphan(script: string): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', `(${script}) >/dev/null 2>&1 & echo $!`], (err, out) => (err ? reject(err) : resolve(Number(out.trim()))));
  });
}

test('exit statuses as containerd reports them: code, or 128+signal', () => {
  assert.equal(exitStatus(3 << 8), 3);
  assert.equal(exitStatus(9), 137);
  assert.equal(exitStatus(15), 143);
});

test('an orphaned grandchild re-parents to us (subreaper) and exits$ reports its status 3', async () => {
  const seen = new Subject<Exit>();
  const sub = exits$.subscribe(seen);
  const pid = await orphan('sleep 0.3; exit 3');
  const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  assert.equal(ppid, process.pid, 'the orphan is ours');
  const exit = await firstValueFrom(seen.pipe(filter((e) => e.pid === pid)));
  sub.unsubscribe();
  assert.equal(exit.status, 3);
});

test('exitedChild peeks without reaping: 0 while an orphan sleeps, its pid once it exits, 0 after its waitpid', async () => {
  // No exits$ subscriber here, so nothing sweeps it away meanwhile.
  const pid = await orphan('sleep 0.3; exit 4');
  assert.equal(exitedChild(), 0, 'nothing has exited yet');
  // Poll: under load the orphan's 0.3 s sleep can end well after 0.3 s.
  for (let i = 0; i < 100 && exitedChild() === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(exitedChild(), pid, 'the orphan is a zombie of ours');
  assert.equal(exitedChild(), pid, 'and still is: the peek did not reap it');
  const r = waitNoHang(pid);
  assert.equal(r && exitStatus(r.status), 4);
  assert.equal(exitedChild(), 0);
});

test('an orphan killed by SIGKILL is reported as 137', async () => {
  const seen = new Subject<Exit>();
  const sub = exits$.subscribe(seen);
  const pid = await orphan('sleep 30');
  const got = firstValueFrom(seen.pipe(filter((e) => e.pid === pid)));
  process.kill(pid, 'SIGKILL');
  assert.equal((await got).status, 137);
  sub.unsubscribe();
});

test('exits$ never steals a child_process child: 50 spawns all fire exit with their code while orphans die', async () => {
  const reported: number[] = [];
  const sub = exits$.subscribe((e) => reported.push(e.pid));
  const orphans = await Promise.all(Array.from({ length: 10 }, () => orphan('sleep 0.1')));
  const kids = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      new Promise<{ pid: number; code: number | null }>((resolve) => {
        const c = spawn('/bin/sh', ['-c', `exit ${i % 4}`]);
        c.once('exit', (code) => resolve({ pid: c.pid!, code }));
      }),
    ),
  );
  kids.forEach((k, i) => assert.equal(k.code, i % 4, `child ${i} got its own exit code`));
  for (let i = 0; i < 30 && !orphans.every((p) => reported.includes(p)); i++) await new Promise((r) => setTimeout(r, 100));
  sub.unsubscribe();
  for (const k of kids) assert.ok(!reported.includes(k.pid), `libuv child ${k.pid} was not reaped by exits$`);
  for (const p of orphans) assert.ok(reported.includes(p), `orphan ${p} was reported`);
});

test('exits$ is hot and multicast: two subscribers see the same exit from one reap', async () => {
  let lastPid = -1;
  const pick = () => firstValueFrom(exits$.pipe(filter((e) => e.pid === lastPid), take(1), toArray()));
  const a = pick();
  const b = pick();
  lastPid = await orphan('sleep 0.2; exit 5');
  const [ea, eb] = await Promise.all([a, b]);
  assert.equal(ea[0].status, 5);
  assert.deepEqual(ea, eb);
});

test('exits$ sweeps on its timer even when SIGCHLD is not delivered to it', async () => {
  const quiet = createExits$(new Subject<void>(), { sweepIntervalMs: 50 });
  let pid = -1;
  const got = firstValueFrom(quiet.pipe(filter((e) => e.pid === pid)));
  pid = await orphan('sleep 0.2; exit 6');
  assert.equal((await got).status, 6);
});

test('a process.on(SIGCHLD) listener is called and does not disturb libuv: every child_process exit still fires', async () => {
  let signalled = 0;
  const onChld = () => signalled++;
  process.on('SIGCHLD', onChld);
  const codes = await Promise.all(
    Array.from({ length: 20 }, () => new Promise<number | null>((resolve) => spawn('/bin/sh', ['-c', 'exit 7']).once('exit', resolve))),
  );
  await new Promise((r) => setTimeout(r, 50));
  process.off('SIGCHLD', onChld);
  assert.deepEqual(codes, Array(20).fill(7));
  assert.ok(signalled > 0, 'our listener saw SIGCHLD');
});
