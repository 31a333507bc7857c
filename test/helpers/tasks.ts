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
