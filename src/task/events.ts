/**
 * The task events the service publishes, one builder per event: topic and message as containerd
 * reads them (topics: containerd core/runtime/events.go; messages: api/events/task.proto).
 */
import { timestamp } from '../proto';
import type { TaskEvent } from '../publisher/envelope';
import type { Stdio } from './io/stdio';

/** Every topic the task service publishes (containerd core/runtime/events.go *EventTopic). */
export const TOPIC = {
  create: '/tasks/create',
  start: '/tasks/start',
  exit: '/tasks/exit',
  delete: '/tasks/delete',
  execAdded: '/tasks/exec-added',
  execStarted: '/tasks/exec-started',
  paused: '/tasks/paused',
  resumed: '/tasks/resumed',
  checkpointed: '/tasks/checkpointed',
  oom: '/tasks/oom',
} as const;

const event = (topic: string, type: string, containerId: string, body: Record<string, unknown>): TaskEvent => ({
  topic,
  type: `containerd.events.${type}`,
  containerId,
  event: body,
});

type Mount = { type: string; source: string; options: string[] };

export const taskCreate = (id: string, bundle: string, rootfs: Mount[], io: Stdio, checkpoint: string, pid: number) =>
  event(TOPIC.create, 'TaskCreate', id, {
    container_id: id,
    bundle,
    rootfs,
    io: { stdin: io.stdin, stdout: io.stdout, stderr: io.stderr, terminal: io.terminal },
    checkpoint,
    pid,
  });

export const taskStart = (id: string, pid: number) => event(TOPIC.start, 'TaskStart', id, { container_id: id, pid });

/** `processId`: TaskExit.id, the exec id, or the container id for the init. */
export const taskExit = (id: string, processId: string, pid: number, status: number, at: Date) =>
  event(TOPIC.exit, 'TaskExit', id, { container_id: id, id: processId, pid, exit_status: status, exited_at: timestamp(at) });

export const taskDelete = (id: string, pid: number, status: number, at: Date) =>
  event(TOPIC.delete, 'TaskDelete', id, { container_id: id, pid, exit_status: status, exited_at: timestamp(at), id });

export const execAdded = (id: string, execId: string) => event(TOPIC.execAdded, 'TaskExecAdded', id, { container_id: id, exec_id: execId });

export const execStarted = (id: string, execId: string, pid: number) =>
  event(TOPIC.execStarted, 'TaskExecStarted', id, { container_id: id, exec_id: execId, pid });

export const taskPaused = (id: string) => event(TOPIC.paused, 'TaskPaused', id, { container_id: id });
export const taskResumed = (id: string) => event(TOPIC.resumed, 'TaskResumed', id, { container_id: id });
export const taskCheckpointed = (id: string, path: string) => event(TOPIC.checkpointed, 'TaskCheckpointed', id, { container_id: id, checkpoint: path });
export const taskOOM = (id: string) => event(TOPIC.oom, 'TaskOOM', id, { container_id: id });
