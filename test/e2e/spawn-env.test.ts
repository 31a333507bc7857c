/**
 * What the serving process hands its children: runc and binary:// loggers get an environment
 * built on purpose (src/runc/env.ts). containerd under systemd (Type=notify) keeps NOTIFY_SOCKET
 * in its environment and passes it to shims; go-runc strips it before running runc (go-runc
 * command_linux.go command()), since with it `runc create` hands the container a notify socket
 * and `runc start` waits for READY=1. Here the private containerd gets a NOTIFY_SOCKET that a
 * small python3 listener binds (node's dgram has no unix sockets).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startContainerd, type Containerd } from '../helpers/containerd';
import { busyboxRootfs } from '../helpers/rootfs';
import { runtimeArgs } from '../helpers/shim';
import { uniqueId, waitForTask } from '../helpers/tasks';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every datagram as one JSON line {pid, msg}: the sender's pid from SCM_CREDENTIALS. */
const LISTENER = `
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    msg, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(12))
    pid = 0
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", data[:12])[0]
    print(json.dumps({"pid": pid, "msg": msg.decode(errors="replace")}), flush=True)
`;

/** Variables set in containerd's environment that only the serving process may see. */
const OURS = { RX_TAP: 'exits', SHIM_RX_PROBE: 'only-for-the-shim', NODE_OPTIONS: '--no-warnings' };

let tmp: string;
let notifySocket: string;
let listener: ChildProcess;
let received = '';
let ctd: Containerd;
let rootfs: string;

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rx-spawn-env-'));
  notifySocket = path.join(tmp, 'notify.sock');
  listener = spawn('python3', ['-c', LISTENER, notifySocket], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.stdout!.on('data', (d: Buffer) => {
      received += d;
      if (received.startsWith('ready\n')) resolve();
    });
  });
  ctd = await startContainerd({ name: 'spawnenv', logLevel: 'info', env: { NOTIFY_SOCKET: notifySocket, ...OURS } });
  rootfs = busyboxRootfs(path.join(ctd.dir, 'rootfs'));
});

after(async () => {
  await ctd?.stop();
  listener?.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

/** The datagrams the notify socket got, other than containerd's own (it sends READY=1 itself). */
const strangers = () =>
  received
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { pid: number; msg: string })
    .filter((d) => d.pid !== ctd.pid());

test('with NOTIFY_SOCKET in containerd\'s environment, ctr run -d reaches RUNNING, the container does not see it, and the socket hears nothing from us', async () => {
  const id = uniqueId('notify-sleep');
  // Before the fix `runc start` blocked here waiting for READY=1: bounded, so it fails instead of hanging.
  const r = await ctd.ctr(['run', ...runtimeArgs(), '-d', '--rootfs', rootfs, id, '/bin/sleep', '600'], { timeoutMs: 20000 });
  assert.equal(r.code, 0, r.stderr);
  await waitForTask(ctd, id, 'RUNNING', 10000);

  const brief = uniqueId('notify-env');
  const e = await ctd.ctr(['run', ...runtimeArgs(), '--rm', '--env', 'SPEC_MARK=1', '--rootfs', rootfs, brief, '/bin/env'], { timeoutMs: 20000 });
  assert.equal(e.code, 0, e.stderr);
  const env = e.stdout.toString();
  assert.match(env, /^SPEC_MARK=1$/m, 'the container printed its environment');
  assert.doesNotMatch(env, /NOTIFY_SOCKET/);

  await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
  await waitForTask(ctd, id, 'STOPPED', 10000);
  assert.equal((await ctd.ctr(['task', 'delete', id])).code, 0);
  assert.equal((await ctd.ctr(['container', 'delete', id])).code, 0);
  await sleep(200);
  // The socket works: containerd itself says READY=1 on it (cmd/containerd's sd_notify at serve).
  assert.match(received, /"msg": "READY=1"/, 'containerd\'s own READY=1 reached the listener');
  assert.deepEqual(strangers(), [], 'datagrams from processes other than containerd');
});

test('runc and a binary:// logger get no NOTIFY_SOCKET and none of the shim\'s own variables', async () => {
  const dir = path.join(ctd.dir, 'env-probe');
  mkdirSync(dir, { recursive: true });
  // A runc that writes down its environment, once per command, then is the real runc.
  const wrapper = path.join(dir, 'runc-env');
  writeFileSync(wrapper, `#!/bin/sh\nenv > "${dir}/runc-env.$$"\nexec runc "$@"\n`);
  chmodSync(wrapper, 0o755);
  const config = path.join(dir, 'rx.toml');
  writeFileSync(config, `[runc]\nbinary_name = "${wrapper}"\n`);
  const logger = path.join(dir, 'logger');
  writeFileSync(logger, `#!/bin/sh\nenv > "${dir}/logger-env"\nexec 5>&-\ncat <&3 >/dev/null & cat <&4 >/dev/null; wait\ntouch "${dir}/logger-done"\n`);
  chmodSync(logger, 0o755);

  const id = uniqueId('env-probe');
  const r = await ctd.ctr(
    ['run', ...runtimeArgs(), '--runtime-config-path', config, '--log-uri', `binary://${logger}`, '--rm', '--rootfs', rootfs, id, '/bin/true'],
    { timeoutMs: 20000 },
  );
  assert.equal(r.code, 0, r.stderr);
  for (let i = 0; i < 100 && !existsSync(path.join(dir, 'logger-done')); i++) await sleep(50);

  const runcEnvs = readdirSync(dir).filter((f) => f.startsWith('runc-env.'));
  assert.ok(runcEnvs.length >= 3, `runc ran (create, start, delete): ${runcEnvs.length} environments written`);
  for (const f of runcEnvs) {
    const env = readFileSync(path.join(dir, f), 'utf8');
    assert.doesNotMatch(env, /^NOTIFY_SOCKET=/m, `${f}: go-runc strips NOTIFY_SOCKET`);
    for (const name of Object.keys(OURS)) assert.doesNotMatch(env, new RegExp(`^${name}=`, 'm'), `${f}: ${name} is the shim's`);
    // What go-runc keeps (os.Environ): PATH, by which runc finds criu, and containerd's own variables.
    assert.match(env, /^PATH=/m, `${f}: PATH is kept`);
    assert.match(env, /^TTRPC_ADDRESS=/m, `${f}: containerd's TTRPC_ADDRESS is kept, as go-runc keeps it`);
  }
  const loggerEnv = readFileSync(path.join(dir, 'logger-env'), 'utf8');
  assert.match(loggerEnv, new RegExp(`^CONTAINER_ID=${id}$`, 'm'));
  assert.match(loggerEnv, /^CONTAINER_NAMESPACE=default$/m);
  assert.doesNotMatch(loggerEnv, /NOTIFY_SOCKET|RX_TAP|SHIM_RX_|NODE_OPTIONS/);
  assert.deepEqual(strangers(), [], 'datagrams from processes other than containerd');
});
