/**
 * The task service over a runtime that makes no container, wired as the serving process wires it
 * (pipeline.ts events$): pids are handed out, exits are pushed by the test on `exits$`, and what
 * would be published is collected. Hooks let a test hold or interleave a runc call.
 */
import { Subject } from 'rxjs';
import { silentLogger } from '../../src/log';
import { events$ } from '../../src/pipeline';
import type { TaskEvent } from '../../src/publisher/envelope';
import type { Exit } from '../../src/streams/exits$';
import { createShutdown } from '../../src/streams/shutdown$';
import type { ContainerDriver, ContainerRuntime } from '../../src/task/runtime';
import { TaskService } from '../../src/task/service';

export interface Hooks {
  onStart?: (id: string) => void;
  onCreate?: (pid: number) => void;
  /** Runs as runc exec would return the pid. */
  onExec?: (pid: number) => void;
  onKill?: () => Promise<void>;
  /** runc pause / runc delete: resolve to let them return. */
  onPause?: () => Promise<void>;
  onDelete?: () => Promise<void>;
}

/** A runtime that makes no container; `calls` records what it was asked, in order. */
export function fakeRuntime(hooks: Hooks = {}) {
  const calls: string[] = [];
  let nextPid = 1000;
  const resources = () => ({ drained: async () => {}, closeStdin: () => {}, close: () => calls.push('io.close') });
  const driver: ContainerDriver = {
    create: async (id) => (calls.push(`create ${id}`), hooks.onCreate?.(nextPid + 1), { pid: ++nextPid, resources: resources() }),
    start: async (id) => {
      calls.push(`start ${id}`);
      hooks.onStart?.(id);
    },
    exec: async (id, execId) => (calls.push(`exec ${id} ${execId}`), hooks.onExec?.(nextPid + 1), { pid: ++nextPid, resources: resources() }),
    kill: async (id, sig) => {
      calls.push(`kill ${id} ${sig}`);
      await hooks.onKill?.();
    },
    delete: async (id) => {
      calls.push(`delete ${id}`);
      await hooks.onDelete?.();
    },
    ps: async () => [1001],
    initExited: async (id) => void calls.push(`initExited ${id}`),
    pause: async (id) => {
      calls.push(`pause ${id}`);
      await hooks.onPause?.();
    },
    stats: async (id) => (calls.push(`stats ${id}`), { type_url: 'x', value: Buffer.alloc(0) }),
    update: async (id, res) => void calls.push(`update ${id} ${JSON.stringify(res)}`),
    checkpoint: (id) => async () => void calls.push(`checkpoint ${id}`),
    restore: async (id) => (calls.push(`restore ${id}`), { pid: ++nextPid, resources: resources() }),
    resume: async (id) => void calls.push(`resume ${id}`),
  };
  const runtime: ContainerRuntime = {
    driver: () => driver,
    mountAll: (_m, target) => void calls.push(`mount ${target}`),
    unmountAll: async (target) => void calls.push(`unmount ${target}`),
    watchOOM: (pid) => (calls.push(`oom.watch ${pid}`), { close: () => void calls.push('oom.close') }),
    packProcessDetails: (execId) => ({ type_url: 'containerd.runc.v1.ProcessDetails', value: Buffer.from(execId) }),
  };
  return { runtime, calls };
}

/** The service, its exits$, and what it published (through the ordering rules). */
export function fakeTasks(hooks?: Hooks) {
  const exits$ = new Subject<Exit>();
  const published: TaskEvent[] = [];
  const shutdown = createShutdown();
  const { runtime, calls } = fakeRuntime(hooks);
  const service = new TaskService({ namespace: 'test', runtime, shutdown, log: silentLogger(), version: '0' });
  // The serving process's one stream: exits matched and recorded, then the ordering rules.
  events$(exits$, service, () => (o) => o).subscribe((e) => published.push(e));
  const topics = () => published.map((e) => e.topic);
  return { service, exits$, published, topics, calls, shutdown };
}

export const createReq = (id = 'c1', rootfs: object[] = []) => ({ id, bundle: `/tmp/bundle-${id}`, rootfs, stdin: '', stdout: '', stderr: '', terminal: false });

export const execReq = (execId: string, id = 'c1') => ({
  id,
  exec_id: execId,
  stdin: '',
  stdout: '',
  stderr: '',
  terminal: false,
  spec: { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process', value: Buffer.from('{"args":["true"],"cwd":"/"}') },
});
