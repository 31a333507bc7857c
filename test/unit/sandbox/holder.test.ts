/** The real namespace holder (util-linux unshare and nsenter, /bin/sh): we are root in these tests. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { holderCommand, startHolder } from '../../../src/sandbox/holder';
import { childrenOf } from '../../../src/sys/proc';

const pod = { hostname: 'rx-unit-pod', ownNetwork: true, ownPid: true, ownIpc: true, cgroupParent: '' };
const ns = (pid: number | 'self', kind: string) => readlinkSync(`/proc/${pid}/ns/${kind}`);
const stateOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the holder\'s pid 1 owns new pid, ipc and uts namespaces, shares our network, and carries the pod\'s hostname', async () => {
  const h = await startHolder(holderCommand(pod, ''));
  try {
    for (const kind of ['pid', 'ipc', 'uts']) assert.notEqual(ns(h.pid, kind), ns('self', kind), kind);
    assert.equal(ns(h.pid, 'net'), ns('self', 'net'));
    assert.equal(execFileSync('nsenter', ['-t', String(h.pid), '--uts', 'hostname']).toString().trim(), 'rx-unit-pod');
    // pid 1 inside: what a container joining /proc/<pid>/ns/pid sees as its init.
    assert.match(readFileSync(`/proc/${h.pid}/status`, 'utf8'), /^NSpid:\s+\d+\s+1$/m);
  } finally {
    h.kill('SIGKILL');
    await h.exited;
  }
});

test('SIGTERM ends the holder with status 0, SIGKILL with 137', async () => {
  const a = await startHolder(holderCommand(pod, ''));
  a.kill('SIGTERM');
  assert.equal((await a.exited).status, 0);
  assert.equal(a.alive, false);
  const b = await startHolder(holderCommand(pod, ''));
  b.kill('SIGKILL');
  assert.equal((await b.exited).status, 137);
});

test('pid 1 reaps an orphan re-parented to it (as pause does): no zombie stays under it', async () => {
  const h = await startHolder(holderCommand(pod, ''));
  try {
    // A process in the pod's pid namespace whose parent exits at once: its child becomes pid 1's.
    execFileSync('nsenter', ['-t', String(h.pid), '--pid', '--', '/bin/sh', '-c', '/bin/sleep 0.3 & exit 0']);
    // The orphan's sleep ends at ~0.3 s; give pid 1 up to 5 s (a loaded machine) to reap it.
    await sleep(400);
    let kids = childrenOf(h.pid);
    for (let i = 0; i < 46 && kids.length > 0; i++) {
      await sleep(100);
      kids = childrenOf(h.pid);
    }
    assert.deepEqual(kids.map(stateOf).filter((s) => s === 'Z'), [], `children of pid 1: ${kids.join(' ')}`);
  } finally {
    h.kill('SIGKILL');
    await h.exited;
  }
});

test('joining a network namespace CRI made: nsenter --net puts the holder there', async () => {
  const name = `rx-unit-${process.pid}`;
  execFileSync('ip', ['netns', 'add', name]);
  try {
    const h = await startHolder(holderCommand(pod, `/var/run/netns/${name}`));
    try {
      assert.notEqual(ns(h.pid, 'net'), ns('self', 'net'));
      assert.equal(ns(h.pid, 'net'), execFileSync('ip', ['netns', 'exec', name, 'readlink', '/proc/self/ns/net']).toString().trim());
    } finally {
      h.kill('SIGKILL');
      await h.exited;
    }
  } finally {
    execFileSync('ip', ['netns', 'delete', name]);
  }
});

test('the holder dies with the process that started it (setpriv --pdeathsig, unshare --kill-child): no pod outlives its serving process', async () => {
  // A stand-in serving process: starts a holder, prints its pid 1, then is SIGKILLed.
  const script = `require(${JSON.stringify(require.resolve('../../../src/sandbox/holder'))}).startHolder(require(${JSON.stringify(require.resolve('../../../src/sandbox/holder'))}).holderCommand(${JSON.stringify(pod)}, '')).then((h) => console.log(h.pid))`;
  const { spawn } = await import('node:child_process');
  const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid1 = await new Promise<number>((res) => parent.stdout!.once('data', (d: Buffer) => res(Number(d.toString().trim()))));
  assert.ok(pid1 > 0 && existsSync(`/proc/${pid1}`));
  parent.kill('SIGKILL');
  const end = Date.now() + 5000;
  while (existsSync(`/proc/${pid1}`) && stateOf(pid1) !== 'Z' && Date.now() < end) await sleep(50);
  assert.ok(!existsSync(`/proc/${pid1}`) || stateOf(pid1) === 'Z', `pid 1 ${pid1} still runs after its serving process died`);
});

test('a holder that cannot start is an Internal error naming the command and its stderr', async () => {
  await assert.rejects(startHolder(holderCommand(pod, '/nonexistent/netns')), /namespace holder \(nsenter\).*status 1.*nonexistent/s);
});
