/**
 * Host hygiene of our processes (issue 9): SIGUSR1 never opens Node's inspector (in the serving
 * process it writes a state dump into the log instead), and nothing the serving process holds
 * leaks into what it spawns (every fd close-on-exec).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decode, encode } from '../../src/proto';
import { dial } from '../../src/ttrpc/client';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { settleLeaks } from '../helpers/leaks';
import { HOST } from '../helpers/host';
import { runInPty } from '../helpers/pty';
import { runtimeArgs, SHIM_RUNTIME } from '../helpers/shim';
import { uniqueId, waitForTask } from '../helpers/tasks';

const TASK = 'containerd.task.v2.Task';
const T = 'containerd.task.v2.';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The state dump, our launcher's paths and grouping are ours: not asked of another runtime. */
const ours = { skip: !!process.env.SHIM_RUNTIME && 'our shim only' };

let ctd: Containerd;
let rootfs: string;
before(async () => {
  ctd = await startContainerd({ name: 'security', logLevel: 'info' });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
});
after(async () => ctd?.stop());

const bundleOf = (id: string, ns: string) => path.join(ctd.state, 'io.containerd.runtime.v2.task', ns, id);
async function shimPidOf(id: string, ns = 'default'): Promise<number> {
  const address = readFileSync(path.join(bundleOf(id, ns), 'address'), 'utf8').trim().replace(/^unix:\/\//, '');
  const c = await dial(address);
  try {
    return decode(T + 'ConnectResponse', await c.call(TASK, 'Connect', encode(T + 'ConnectRequest', { id }))).shim_pid;
  } finally {
    c.close();
  }
}
async function until(what: string, cond: () => boolean, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

/** Listening TCP sockets of this network namespace (state 0A in /proc/net/tcp and tcp6). */
function tcpListeners(): Array<{ port: number; inode: string }> {
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[3] === '0A')
      .map((f) => ({ port: parseInt(f[1].split(':')[1], 16), inode: f[9] })),
  );
}

/** What each fd of a process points at, by fd number. */
function fdTargets(pid: number | string): Map<number, string> {
  const out = new Map<number, string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.set(Number(fd), readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** The TCP listeners held by process `pid`, as "port (inode)". */
function listenersOf(pid: number): string[] {
  const held = new Set([...fdTargets(pid).values()].map((t) => /^socket:\[(\d+)\]$/.exec(t)?.[1]).filter(Boolean));
  return tcpListeners().filter((l) => held.has(l.inode)).map((l) => `${l.port} (${l.inode})`);
}

/** Wait until a process uses no more CPU (start-up done: it waits on its input or a child). */
async function idle(pid: number): Promise<void> {
  const ticks = () => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  let last = -1;
  let still = 0;
  const end = Date.now() + 30000;
  while (still < 3) {
    if (Date.now() > end) throw new Error(`pid ${pid} never went idle`);
    await sleep(150);
    const now = ticks();
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

const newOn9229 = (before: Array<{ port: number; inode: string }>) => {
  const seen = new Set(before.map((l) => l.inode));
  return tcpListeners().filter((l) => l.port === 9229 && !seen.has(l.inode));
};

/** The state dump lines serving process `pid` wrote into its log (which containerd copies into its own). */
const dumpsOf = (pid: number) =>
  ctd
    .log()
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('"state dump"'))
    .map((l) => JSON.parse(l).dump)
    .filter((d) => d?.pid === pid);

/** The dump after the first `seen` of serving process `pid`, once it is in the log. */
async function nextDump(pid: number, seen: number): Promise<any> {
  await until("the state dump in containerd's log", () => dumpsOf(pid).length > seen);
  return dumpsOf(pid)[seen];
}

/** SIGUSR1 to a serving process, and the state dump it writes for it. */
async function requestDump(pid: number): Promise<any> {
  const seen = dumpsOf(pid).length;
  process.kill(pid, 'SIGUSR1');
  return nextDump(pid, seen);
}

test('SIGUSR1 to a serving process with a running container: no listening socket appears, a state dump is in the log, the container runs on', ours, async () => {
  const id = uniqueId('usr1');
  let r = await ctd.ctr(['run', ...runtimeArgs(), '-d', '--rootfs', rootfs, id, '/bin/sleep', '600']);
  assert.equal(r.code, 0, r.stderr);
  try {
    const shim = await shimPidOf(id);
    const before = tcpListeners();
    assert.deepEqual(listenersOf(shim), [], 'no TCP listener before');

    const seen = dumpsOf(shim).length;
    process.kill(shim, 'SIGUSR1');
    // The inspector, had it opened, listens within milliseconds of the signal.
    await sleep(1000);
    assert.deepEqual(listenersOf(shim), [], 'the serving process holds no TCP listener after SIGUSR1');
    assert.deepEqual(newOn9229(before), [], 'nothing new listens on 9229');

    const dump = await nextDump(shim, seen);

    const c = dump.containers.find((x: { id: string }) => x.id === id);
    assert.ok(c, `the dump names container ${id}: ${JSON.stringify(dump)}`);
    assert.equal(c.processes[0].state, 'running');
    assert.ok(c.processes[0].pid > 0);
    assert.equal(c.processes[0].startPublished, true);
    assert.equal(typeof dump.publisher.pending, 'number');
    assert.ok(dump.fds > 3 && dump.rssBytes > 1e6, `fds ${dump.fds}, rss ${dump.rssBytes}`);
    assert.deepEqual(dump.inheritableFds, [], 'every fd beyond stdio is close-on-exec');

    await waitForTask(ctd, id, 'RUNNING');
    r = await ctd.ctr(['task', 'exec', '--exec-id', 'after', id, '/bin/echo', 'still-here']);
    assert.equal(r.stdout.toString(), 'still-here\n', r.stderr);
    assert.equal(await shimPidOf(id), shim, 'the same serving process');
  } finally {
    await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
    await waitForTask(ctd, id, 'STOPPED', 10000).catch(() => undefined);
    await ctd.ctr(['task', 'delete', id]);
    await ctd.ctr(['container', 'delete', id]);
  }
});

/** Collect a child's stderr; resolves with its exit code and stderr once it exits. */
function watch(child: ChildProcess): { stderr: () => string; exit: Promise<number | null> } {
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return { stderr: () => err, exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

test('start (reading its stdin) sent SIGUSR1 opens no inspector and says nothing', ours, async () => {
  const before = tcpListeners();
  // start reads its stdin to EOF before anything else: held open, it waits there.
  const child = spawn(SHIM_RUNTIME, ['-namespace', 'rx-sec', '-id', 'never', '-address', path.join(ctd.dir, 'none.sock'), 'start'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const w = watch(child);
  try {
    await idle(child.pid!);
    child.kill('SIGUSR1');
    await sleep(1000);
    assert.equal(child.exitCode, null, 'start is still waiting on its stdin');
    assert.deepEqual(listenersOf(child.pid!), [], 'start holds no TCP listener');
    assert.deepEqual(newOn9229(before), [], 'nothing new listens on 9229');
    assert.equal(w.stderr(), '', 'nothing on stderr (no "Debugger listening")');
  } finally {
    // Closing stdin would let start make a real shim socket: end it here instead.
    child.kill('SIGKILL');
    await w.exit;
  }
});

test('delete (waiting on runc) sent SIGUSR1 opens no inspector and finishes normally', ours, async () => {
  const before = tcpListeners();
  const dir = path.join(ctd.dir, 'delete-usr1');
  const bundle = path.join(dir, 'bundle');
  const root = path.join(dir, 'runc-root');
  const marker = path.join(dir, 'runc-called');
  mkdirSync(bundle, { recursive: true });
  mkdirSync(path.join(root, 'rx-sec', 'gone'), { recursive: true });
  // A runc that says it was called and takes its time: delete waits on it.
  const slow = path.join(dir, 'slow-runc');
  writeFileSync(slow, `#!/bin/sh\ntouch ${marker}\nsleep 2\n`);
  chmodSync(slow, 0o755);
  writeFileSync(path.join(bundle, 'options.json'), JSON.stringify({ binary_name: slow, root }));
  const child = spawn(SHIM_RUNTIME, ['-namespace', 'rx-sec', '-id', 'gone', '-address', path.join(ctd.dir, 'none.sock'), '-bundle', bundle, 'delete'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const w = watch(child);
  child.stdout!.resume();
  try {
    await until('delete runs runc', () => existsSync(marker));
    child.kill('SIGUSR1');
    await sleep(1000);
    assert.deepEqual(listenersOf(child.pid!), [], 'delete holds no TCP listener');
    assert.deepEqual(newOn9229(before), [], 'nothing new listens on 9229');
    assert.equal(await w.exit, 0, w.stderr());
    assert.equal(w.stderr(), '', 'nothing on stderr (no "Debugger listening")');
  } finally {
    child.kill('SIGKILL');
  }
});

/** `ls -l /proc/<pid>/fd` as recorded by a stand-in: fd -> target, without the script's own fd. */
function recorded(file: string, script: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = / (\d+) -> (.*)$/.exec(line);
    if (m && m[2] !== script) out.set(Number(m[1]), m[2]);
  }
  return out;
}

test('what a runc and a binary:// logger inherit while another container of the same serving process has a terminal: only their own stdio and the fds the contract hands them', ours, async () => {
  const ns = 'rx-sec-fds';
  const dir = path.join(ctd.dir, 'fds');
  const rec = path.join(dir, 'records');
  mkdirSync(rec, { recursive: true });
  const grouped = path.join(dir, 'grouped.toml');
  writeFileSync(grouped, 'grouping = "namespace"\n');
  // The stand-in runc and logger list the fds they were started with. An inner sh lists the outer
  // shell's fds by pid, so no redirection of the outer shell adds a saved fd of its own.
  const standin = path.join(dir, 'runc-standin');
  writeFileSync(standin, `#!/bin/sh\nsh -c "ls -l /proc/$$/fd > ${rec}/runc.$$; echo runc $* >> ${rec}/runc.$$"\nexec runc "$@"\n`);
  const logger = path.join(dir, 'logger');
  writeFileSync(logger, `#!/bin/sh\nsh -c "ls -l /proc/$$/fd > ${rec}/logger.$$"\nexec 5>&-\ncat <&3 >/dev/null & cat <&4 >/dev/null\nwait\n`);
  chmodSync(standin, 0o755);
  chmodSync(logger, 0o755);
  const withStandin = path.join(dir, 'standin.toml');
  writeFileSync(withStandin, `grouping = "namespace"\n[runc]\nbinary_name = "${standin}"\n`);

  // Container A, with a terminal, kept by a ctr attached to a pty of ours.
  const a = uniqueId('tty-a');
  const attached = runInPty([HOST.ctr, '-a', ctd.address, '-n', ns, 'run', ...runtimeArgs(), '--runtime-config-path', grouped, '-t', '--rootfs', rootfs, a, '/bin/sleep', '600'], { timeoutMs: 120000 });
  attached.catch(() => undefined);
  const b = uniqueId('logged-b');
  try {
    await waitForTask(ctd, a, 'RUNNING', 30000, ns);
    const shim = await shimPidOf(a, ns);
    const ptmx = () => [...fdTargets(shim).values()].filter((t) => /^\/dev\/(pts\/)?ptmx$/.test(t));
    await until('the serving process holds A\'s terminal', () => ptmx().length > 0);
    const listening = fdTargets(shim).get(3)!;
    assert.match(listening, /^socket:/, 'the serving process\'s fd 3 is its listening socket');

    // Container B in the same serving process: the stand-in runc, a binary:// logger.
    const r = await ctd.ctr(['run', ...runtimeArgs(), '--runtime-config-path', withStandin, '--log-uri', `binary://${logger}`, '-d', '--rootfs', rootfs, b, '/bin/sleep', '600'], { namespace: ns });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await shimPidOf(b, ns), shim, 'A and B share one serving process');

    const files = readdirSync(rec);
    const runcs = files.filter((f) => f.startsWith('runc.'));
    const loggers = files.filter((f) => f.startsWith('logger.'));
    assert.ok(runcs.length >= 2, `runc create and start went through the stand-in: ${files}`);
    assert.equal(loggers.length, 1, `one logger: ${files}`);
    for (const f of runcs) {
      const fds = recorded(path.join(rec, f), standin);
      const extra = [...fds].filter(([fd]) => fd > 2);
      assert.deepEqual(extra, [], `runc gets its stdio only; it was given:\n${readFileSync(path.join(rec, f), 'utf8')}`);
    }
    const fds = recorded(path.join(rec, loggers[0]), logger);
    assert.deepEqual([...fds.keys()].sort(), [0, 1, 2, 3, 4, 5], `the logger: stdio, then stdout, stderr and ready pipes: ${JSON.stringify([...fds])}`);
    for (const fd of [3, 4, 5]) assert.match(fds.get(fd)!, /^pipe:/, `logger fd ${fd}`);
    for (const fd of [0, 1, 2]) assert.doesNotMatch(fds.get(fd)!, /socket|ptmx|pts/, `logger fd ${fd}`);
    for (const t of [...fds.values()]) assert.notEqual(t, listening, 'the logger does not hold the shim socket');

    // And from inside: the serving process's own dump finds no fd beyond stdio without close-on-exec.
    const dump = await requestDump(shim);
    assert.equal(dump.containers.length, 2, `A and B in the dump: ${JSON.stringify(dump.containers)}`);
    assert.deepEqual(dump.inheritableFds, [], 'serving-process fds without close-on-exec');
  } finally {
    for (const id of [a, b]) await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id], { namespace: ns });
    await attached.catch(() => undefined);
    for (const id of [a, b]) {
      await waitForTask(ctd, id, 'STOPPED', 10000, ns).catch(() => undefined);
      await ctd.ctr(['task', 'delete', id], { namespace: ns });
      await ctd.ctr(['container', 'delete', id], { namespace: ns });
    }
  }
});

test('afterwards no shim process, no mount and no zombie is left', async () => {
  assert.deepEqual(await settleLeaks([ctd.state, ctd.root, ctd.dir]), { shims: [], mounts: [], zombies: [] });
});
