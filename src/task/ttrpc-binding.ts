import { invalidArgument, unimplemented } from '../errors';
import { decode, encode } from '../proto';
import type { CallContext } from '../ttrpc/services';
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

type Method = keyof TaskService & string;

/** rpc name -> [request type, response type, service method; null would answer Unimplemented]. */
const methods: Record<string, [string, string, Method | null]> = {
  State: ['StateRequest', 'StateResponse', 'state'],
  Create: ['CreateTaskRequest', 'CreateTaskResponse', 'create'],
  Start: ['StartRequest', 'StartResponse', 'start'],
  Delete: ['DeleteRequest', 'DeleteResponse', 'delete'],
  Pids: ['PidsRequest', 'PidsResponse', 'pids'],
  Pause: ['PauseRequest', EMPTY, 'pause'],
  Resume: ['ResumeRequest', EMPTY, 'resume'],
  Checkpoint: ['CheckpointTaskRequest', EMPTY, 'checkpoint'],
  Kill: ['KillRequest', EMPTY, 'kill'],
  Exec: ['ExecProcessRequest', EMPTY, 'exec'],
  ResizePty: ['ResizePtyRequest', EMPTY, 'resizePty'],
  CloseIO: ['CloseIORequest', EMPTY, 'closeIO'],
  Update: ['UpdateTaskRequest', EMPTY, 'update'],
  Wait: ['WaitRequest', 'WaitResponse', 'wait'],
  Stats: ['StatsRequest', 'StatsResponse', 'stats'],
  Connect: ['ConnectRequest', 'ConnectResponse', 'connect'],
  Shutdown: ['ShutdownRequest', EMPTY, 'shutdown'],
};

const full = (t: string) => (t.includes('.') ? t : T + t);

/**
 * Handlers for the ttrpc registry: bytes in, bytes out; errors stay ShimError values. The call's
 * signal goes to the service method, which hands it to the runc it runs.
 */
export function taskHandlers(service: TaskService): Record<string, (payload: Buffer, ctx?: CallContext) => Promise<Buffer>> {
  const out: Record<string, (payload: Buffer, ctx?: CallContext) => Promise<Buffer>> = {};
  for (const [rpc, [reqType, resType, method]] of Object.entries(methods)) {
    out[rpc] = async (payload: Buffer, ctx?: CallContext) => {
      if (!method) throw unimplemented(`${rpc} is not implemented by containerd-shim-rx yet`);
      let req: object;
      try {
        req = decode(full(reqType), payload);
      } catch (err) {
        throw invalidArgument(`${rpc}: request is not a valid ${full(reqType)}: ${(err as Error).message}`);
      }
      const res = await (service[method] as (r: object, signal?: AbortSignal) => Promise<object>).call(service, req, ctx?.signal);
      return encode(full(resType), res ?? {});
    };
  }
  return out;
}
