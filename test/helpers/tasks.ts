import assert from 'node:assert/strict';
import { runtimeArgs } from './shim';
import type { Containerd } from './containerd';

export interface TaskRow {
  pid: number;
  /** CREATED, RUNNING, PAUSED, PAUSING, STOPPED, UNKNOWN; `ctr task ls` shows no exit status */
  status: string;
}

/** `ctr task ls` as rows by task id. */
export async function listTasks(ctd: Containerd, namespace = 'default'): Promise<Map<string, TaskRow>> {
  const r = await ctd.ctr(['task', 'ls'], { namespace });
  if (r.code !== 0) throw new Error(`ctr task ls failed: ${r.stderr}`);
  const rows = new Map<string, TaskRow>();
  for (const line of r.stdout.toString().split('\n').slice(1)) {
    const [id, pid, status] = line.trim().split(/\s+/);
    if (id) rows.set(id, { pid: Number(pid), status });
  }
  return rows;
}

/** Polls `ctr task ls` until task `id` shows `status`; rejects with the last status seen after `timeoutMs`. */
export async function waitForTask(ctd: Containerd, id: string, status = 'RUNNING', timeoutMs = 20000, namespace = 'default'): Promise<TaskRow> {
  const until = Date.now() + timeoutMs;
  let row: TaskRow | undefined;
  for (;;) {
    row = (await listTasks(ctd, namespace)).get(id);
    if (row?.status === status) return row;
    if (Date.now() > until) throw new Error(`task ${id} not ${status} in ${timeoutMs} ms (last seen: ${row?.status ?? 'absent'})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A container id no other test run on this machine uses at the same time: runc's state root
 * (/run/containerd/runc/<namespace>/<id>) and the shim socket's parent dir are shared by every
 * containerd on the machine, so two runs using the same id collide ("container with given ID
 * already exists").
 */
export const uniqueId = (name: string): string => `${name}-${process.pid}`;

/**
 * ctr-driven task steps for a test file's own containerd and rootfs (given as getters: both are
 * set in its before hook): run detached, read and await a status, kill and remove.
 * `tries` bounds waitStatus at that many 100 ms looks.
 */
export function ctrTasks(ctd: () => Containerd, rootfs: () => string, tries = 50) {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  async function runDetached(id: string, cmd = ['/bin/sleep', '600']) {
    const r = await ctd().ctr(['run', ...runtimeArgs(), '-d', '--rootfs', rootfs(), id, ...cmd]);
    assert.equal(r.code, 0, r.stderr);
  }
  async function status(id: string): Promise<string> {
    const line = (await ctd().ctr(['task', 'ls'])).stdout.toString().split('\n').find((l) => l.startsWith(id + ' '));
    return line?.trim().split(/\s+/)[2] ?? 'missing';
  }
  async function waitStatus(id: string, want: string) {
    for (let i = 0; i < tries && (await status(id)) !== want; i++) await sleep(100);
    assert.equal(await status(id), want);
  }
  async function remove(id: string) {
    await ctd().ctr(['task', 'kill', '-s', 'SIGKILL', id]);
    await waitStatus(id, 'STOPPED');
    await ctd().ctr(['task', 'delete', id]);
    await ctd().ctr(['container', 'delete', id]);
  }
  return { runDetached, status, waitStatus, remove };
}
