import * as grpc from '@grpc/grpc-js';
import { Writer } from 'protobufjs/minimal';

/**
 * A sliver of containerd's own gRPC API (api/services/tasks/v1/tasks.proto), for what ctr cannot
 * do or does not show: Update (ctr 1.6 has no command for it), and an error's gRPC code, which
 * ctr 2.x no longer prints (errdefs 1.0 WithMessage keeps only the message). The requests go
 * through containerd to the shim, as kubelet's do.
 */
export async function call(address: string, namespace: string, method: string, req: Uint8Array): Promise<Buffer> {
  const tasks = openTasks(address, namespace);
  try {
    return await tasks.call(method, req);
  } finally {
    tasks.close();
  }
}

/** One connection to containerd's Tasks service for many calls (the bench's latency samples). */
export function openTasks(address: string, namespace: string): { call(method: string, req: Uint8Array): Promise<Buffer>; close(): void } {
  const client = new grpc.Client(`unix://${address}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('containerd-namespace', namespace);
  return {
    call: (method, req) =>
      new Promise<Buffer>((resolve, reject) =>
        client.makeUnaryRequest(
          `/containerd.services.tasks.v1.Tasks/${method}`,
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from(req),
          metadata,
          (err, res) => (err ? reject(err) : resolve(res ?? Buffer.alloc(0))),
        ),
      ),
    close: () => client.close(),
  };
}

/** {container_id=1, exec_id=2}: the request of Get, Start, Wait and DeleteProcess alike. */
export const processRequest = (id: string, execId = ''): Uint8Array => {
  const w = Writer.create().uint32(0x0a).string(id);
  return (execId ? w.uint32(0x12).string(execId) : w).finish();
};

/** Tasks/Exec {container_id=1, spec=6 Any (OCI Process), exec_id=7}, no stdio. */
export const execRequest = (id: string, execId: string, args: string[]): Uint8Array =>
  Writer.create()
    .uint32(0x0a)
    .string(id)
    .uint32(0x32)
    .bytes(any('types.containerd.io/opencontainers/runtime-spec/1/Process', Buffer.from(JSON.stringify({ args, cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } }))))
    .uint32(0x3a)
    .string(execId)
    .finish();

/** An Any {type_url=1, value=2}. */
const any = (typeUrl: string, value: Buffer) => Writer.create().uint32(0x0a).string(typeUrl).uint32(0x12).bytes(value).finish();

/** Tasks/Update {container_id=1, resources=2 Any} with OCI LinuxResources. */
export async function updateTask(address: string, namespace: string, id: string, resources: object): Promise<void> {
  const res = any('types.containerd.io/opencontainers/runtime-spec/1/LinuxResources', Buffer.from(JSON.stringify(resources)));
  await call(address, namespace, 'Update', Writer.create().uint32(0x0a).string(id).uint32(0x12).bytes(res).finish());
}

/** Tasks/Pause {container_id=1}. */
export async function pauseTask(address: string, namespace: string, id: string): Promise<void> {
  await call(address, namespace, 'Pause', processRequest(id));
}

/** Tasks/Kill {container_id=1, exec_id=2, signal=3}. */
export async function killProcess(address: string, namespace: string, id: string, execId: string, signal = 9): Promise<void> {
  await call(address, namespace, 'Kill', Writer.create().uint32(0x0a).string(id).uint32(0x12).string(execId).uint32(0x18).uint32(signal).finish());
}

/** Tasks/Exec, no stdio. */
export async function execProcess(address: string, namespace: string, id: string, execId: string, args: string[]): Promise<void> {
  await call(address, namespace, 'Exec', execRequest(id, execId, args));
}

/**
 * A predicate for assert.rejects: a gRPC error of `code` (grpc.status name) whose message names
 * each of `facts` (ids, states) as a word of its own.
 */
export function grpcError(code: keyof typeof grpc.status, facts: string[]): (err: unknown) => boolean {
  return (err: unknown) => {
    const e = err as grpc.ServiceError;
    if (e?.code !== grpc.status[code]) throw new Error(`expected gRPC ${code}, got ${e?.code === undefined ? String(err) : `${grpc.status[e.code]}: ${e.details}`}`);
    for (const fact of facts) {
      if (!new RegExp(`(^|[^\\w-])${fact.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w-])`).test(e.details)) throw new Error(`the ${code} error does not name ${fact}: ${e.details}`);
    }
    return true;
  };
}

/** Tasks/Delete {container_id=1}: the task's delete, as `ctr task delete` sends it. */
export async function deleteTask(address: string, namespace: string, id: string): Promise<void> {
  await call(address, namespace, 'Delete', processRequest(id));
}
