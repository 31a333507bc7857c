import { bindService, type RpcTable } from '../ttrpc/binding';
import type { Handler } from '../ttrpc/services';
import type { TaskService } from './service';

/** The Task service's name on the wire (runtime/v2/task/shim.proto: package containerd.task.v2). */
export const TASK_SERVICE = 'containerd.task.v2.Task';

/**
 * containerd 2.x talks this name to a shim whose `start` answered version 3 (core/runtime/v2
 * NewTaskClient); api@v1.11.1 runtime/task/v3/shim.proto has the same rpcs, messages and field
 * numbers as v2, so the same handlers serve both.
 */
export const TASK_SERVICE_V3 = 'containerd.task.v3.Task';

const T = 'containerd.task.v2.';
const EMPTY = 'google.protobuf.Empty';

/** shim.proto's service Task: rpc -> [request, response, TaskService method]. */
const rpcs: RpcTable<keyof TaskService & string> = {
  State: [T + 'StateRequest', T + 'StateResponse', 'state'],
  Create: [T + 'CreateTaskRequest', T + 'CreateTaskResponse', 'create'],
  Start: [T + 'StartRequest', T + 'StartResponse', 'start'],
  Delete: [T + 'DeleteRequest', T + 'DeleteResponse', 'delete'],
  Pids: [T + 'PidsRequest', T + 'PidsResponse', 'pids'],
  Pause: [T + 'PauseRequest', EMPTY, 'pause'],
  Resume: [T + 'ResumeRequest', EMPTY, 'resume'],
  Checkpoint: [T + 'CheckpointTaskRequest', EMPTY, 'checkpoint'],
  Kill: [T + 'KillRequest', EMPTY, 'kill'],
  Exec: [T + 'ExecProcessRequest', EMPTY, 'exec'],
  ResizePty: [T + 'ResizePtyRequest', EMPTY, 'resizePty'],
  CloseIO: [T + 'CloseIORequest', EMPTY, 'closeIO'],
  Update: [T + 'UpdateTaskRequest', EMPTY, 'update'],
  Wait: [T + 'WaitRequest', T + 'WaitResponse', 'wait'],
  Stats: [T + 'StatsRequest', T + 'StatsResponse', 'stats'],
  Connect: [T + 'ConnectRequest', T + 'ConnectResponse', 'connect'],
  Shutdown: [T + 'ShutdownRequest', EMPTY, 'shutdown'],
};

/** The ttrpc binding of the task service: its handlers, each handing the call's signal to the method. */
export function taskHandlers(service: TaskService): Record<string, Handler> {
  return bindService(service, rpcs);
}
