import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Reader, Writer } from 'protobufjs/minimal';
import type { Containerd } from './containerd';
import type { EventWatch } from './events';
import { mountsUnder } from './leaks';
import { call, processRequest } from './tasks-grpc';

/**
 * The differential mode (issue 11 item 1): one scenario runs once through each runtime on the
 * same containerd, and what containerd's clients saw (codes, exit statuses, outputs, states,
 * event topics, what is left after delete) is compared after normalising ids away.
 */

/** What one run of a scenario saw, key by key (compared key by key). */
export type Obs = Record<string, unknown>;

export interface Ctx {
  ctd: Containerd;
  /** the runtime of this run: a path (ours) or io.containerd.runc.v2 */
  runtime: string;
  rootfs: string;
  /** this run's container id */
  id: string;
  /** `ctr` with the result normalised: {code, stdout, stderr} with the id replaced */
  ctr(args: string[], opts?: { input?: string; endInputAfter?: Promise<unknown> }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** `ctr run --runtime <runtime> -d --rootfs <rootfs> <id> ...cmd`; throws if ctr fails */
  runDetached(cmd: string[]): Promise<void>;
  /** the task's (or an exec's) status from Tasks/Get, or the gRPC code name if Get fails */
  state(execId?: string): Promise<string>;
  /** polls state() until it is `want` (up to 10 s); returns the last one seen */
  waitState(want: string, execId?: string): Promise<string>;
  /** SIGKILL the task, wait for it, delete task and container: what a scenario ends with */
  remove(): Promise<void>;
}

export interface Scenario {
  name: string;
  run(c: Ctx): Promise<Obs>;
  /**
   * Keys of the observation where the runtimes may differ, each with a one-line reason:
   * intentional, or `ours: <what>` for a known bug of ours left for the coordinator.
   */
  differs?: Record<string, string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The gRPC code name of a call's outcome: OK, or NotFound, FailedPrecondition, ... */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    const code = (err as grpc.ServiceError)?.code;
    return code === undefined ? `not gRPC: ${String(err)}` : grpc.status[code];
  }
}

/** Top-level fields of a protobuf message: field number -> every value (varint as number, bytes). */
export function fields(buf: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const r = Reader.create(buf);
  const out = new Map<number, (number | Uint8Array)[]>();
  while (r.pos < r.len) {
    const tag = r.uint32();
    const wire = tag & 7;
    let v: number | Uint8Array;
    if (wire === 0) v = Number(r.int64());
    else if (wire === 2) v = r.bytes();
    else {
      r.skipType(wire);
      continue;
    }
    const list = out.get(tag >>> 3) ?? [];
    list.push(v);
    out.set(tag >>> 3, list);
  }
  return out;
}
const str = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString() : '');

/** containerd.v1.types.Status (api/types/task/task.proto). */
const STATUS = ['UNKNOWN', 'CREATED', 'RUNNING', 'STOPPED', 'PAUSED', 'PAUSING'];

/** Tasks/Get {container_id=1, exec_id=2} -> Process{status=4, exit_status=9}. */
export async function getProcess(address: string, ns: string, id: string, execId = ''): Promise<{ status: string; exitStatus: number }> {
  const res = await call(address, ns, 'Get', processRequest(id, execId));
  const proc = fields((fields(res).get(1)?.[0] as Uint8Array) ?? new Uint8Array());
  return { status: STATUS[Number(proc.get(4)?.[0] ?? 0)] ?? 'UNKNOWN', exitStatus: Number(proc.get(9)?.[0] ?? 0) };
}

/** Tasks/Start {container_id=1, exec_id=2}. */
export const startProcess = (address: string, ns: string, id: string, execId = '') => call(address, ns, 'Start', processRequest(id, execId));

/** Tasks/Wait {container_id=1, exec_id=2} -> exit_status=1. */
export async function waitProcess(address: string, ns: string, id: string, execId = ''): Promise<number> {
  return Number(fields(await call(address, ns, 'Wait', processRequest(id, execId))).get(1)?.[0] ?? 0);
}

/** Tasks/DeleteProcess {container_id=1, exec_id=2}. */
export const deleteProcess = (address: string, ns: string, id: string, execId: string) => call(address, ns, 'DeleteProcess', processRequest(id, execId));

/** Tasks/ListPids -> ProcessInfo{pid=1, info=2 Any of runc's ProcessDetails{exec_id=1}}: the exec ids, init as "". */
export async function listPidExecIds(address: string, ns: string, id: string): Promise<string[]> {
  const res = fields(await call(address, ns, 'ListPids', processRequest(id)));
  return (res.get(1) ?? []).map((p) => {
    const info = fields(p as Uint8Array).get(2)?.[0] as Uint8Array | undefined;
    const value = info ? (fields(info).get(2)?.[0] as Uint8Array | undefined) : undefined;
    return value ? str(fields(value).get(1)?.[0]) : '';
  });
}

/** Tasks/Metrics {filters=1 ["id==<id>"]} -> the type_url of each Metric's data (3). */
export async function metricTypes(address: string, ns: string, id: string): Promise<string[]> {
  const res = fields(await call(address, ns, 'Metrics', Writer.create().uint32(0x0a).string(`id==${id}`).finish()));
  return (res.get(1) ?? []).map((m) => {
    const data = fields(m as Uint8Array).get(3)?.[0] as Uint8Array | undefined;
    return data ? str(fields(data).get(1)?.[0]) : 'none';
  });
}

/** The event topics of container `id` as one line each: topic, with exec id and exit status where the event has them. */
export function eventLines(watch: EventWatch, id: string): string[] {
  return watch
    .events()
    .filter((e) => e.event && (e.event.container_id === id || e.event.containerID === id || e.event.id === id))
    .map((e) => {
      const ev = e.event!;
      // TaskExit names its process in `id` (the container id for init), the exec events in exec_id.
      const execId = ev.exec_id ?? ev.execID ?? (ev.container_id !== undefined && ev.id !== id ? ev.id : undefined);
      const status = ev.exit_status ?? ev.exitStatus;
      return [e.topic, execId && execId !== id ? `exec=${String(execId)}` : '', status !== undefined ? `status=${String(status)}` : ''].filter(Boolean).join(' ');
    });
}

/** Every file under `dir`, relative to it (directories only as the path to their files). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (p !== 'rootfs' && p !== 'work') walk(p);
      } else out.push(p);
    }
  };
  walk('');
  return out.sort();
}

/** Processes still there for run `id`: its shim (`-id <id>` with this containerd's address) and any whose root is `rootfs`. */
function processesOf(ctd: Containerd, id: string, rootfs: string): { shims: number; inContainer: number } {
  let shims = 0;
  let inContainer = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      const i = argv.indexOf('-id');
      if (i >= 0 && argv[i + 1] === id && argv.includes(ctd.address)) shims++;
      else if (readlinkSync(`/proc/${name}/root`) === rootfs) inContainer++;
    } catch {
      // gone, or not ours to read
    }
  }
  return { shims, inContainer };
}

/** What is left of run `id` once it was deleted: bundle entries, mounts, shim and container processes (settles up to 5 s). */
export async function leftover(ctd: Containerd, id: string, rootfs: string): Promise<Obs> {
  const bundle = path.join(ctd.state, 'io.containerd.runtime.v2.task', 'default', id);
  const look = () => ({
    bundle: existsSync(bundle) ? readdirSync(bundle).sort() : 'absent',
    mounts: mountsUnder(ctd.dir).filter((m) => m.includes(id)).length,
    ...processesOf(ctd, id, rootfs),
  });
  let seen = look();
  for (let i = 0; i < 25 && (seen.bundle !== 'absent' || seen.mounts || seen.shims || seen.inContainer); i++) {
    await sleep(200);
    seen = look();
  }
  return seen;
}

const replaceAll = (s: string, id: string) => s.split(id).join('<id>');

/** Runs scenario `s` once with `runtime`, container id `id`: its own observation, plus events and leftovers. */
export async function runOnce(ctd: Containerd, watch: EventWatch, rootfs: string, s: Scenario, runtime: string, id: string): Promise<Obs> {
  const ns = 'default';
  const ctx: Ctx = {
    ctd,
    runtime,
    rootfs,
    id,
    async ctr(args, opts = {}) {
      const r = await ctd.ctr(args, { input: opts.input, endInputAfter: opts.endInputAfter });
      return { code: r.code, stdout: replaceAll(r.stdout.toString(), id), stderr: replaceAll(r.stderr, id) };
    },
    async runDetached(cmd) {
      const r = await ctd.ctr(['run', '--runtime', runtime, '-d', '--rootfs', rootfs, id, ...cmd]);
      if (r.code !== 0) throw new Error(`ctr run -d ${id} failed (${r.code}): ${r.stderr}`);
    },
    async state(execId = '') {
      try {
        return (await getProcess(ctd.address, ns, id, execId)).status;
      } catch (err) {
        return await codeOf(Promise.reject(err));
      }
    },
    async waitState(want, execId = '') {
      let last = await ctx.state(execId);
      for (let i = 0; i < 100 && last !== want; i++) {
        await sleep(100);
        last = await ctx.state(execId);
      }
      return last;
    },
    async remove() {
      await ctd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
      await ctx.waitState('STOPPED');
      await ctd.ctr(['task', 'delete', id]);
      await ctd.ctr(['container', 'delete', id]);
    },
  };
  let obs: Obs;
  try {
    obs = await s.run(ctx);
  } finally {
    // Only if the scenario failed half-way: nothing of this run may outlive it.
    if ((await ctd.ctr(['container', 'info', id])).code === 0) {
      await ctd.ctr(['task', 'delete', '-f', id]);
      await ctd.ctr(['container', 'delete', id]);
    }
  }
  await watch.waitFor((evs) => evs.some((e) => e.topic === '/containers/delete' && e.event?.id === id), 5000).catch(() => undefined);
  // Late task events (an exit or delete published after the container's delete) belong to the run too.
  await sleep(200);
  return { ...obs, events: eventLines(watch, id), left: await leftover(ctd, id, rootfs) };
}

/** The keys where two observations differ (JSON comparison). */
export function differingKeys(a: Obs, b: Obs): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}
