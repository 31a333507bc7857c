import * as grpc from '@grpc/grpc-js';
import { Writer } from 'protobufjs/minimal';

/**
 * A sliver of containerd's own gRPC API (api/services/tasks/v1/tasks.proto) for what ctr 1.6
 * cannot do: Tasks/Update {container_id=1, resources=2 Any{type_url=1, value=2}}. The request
 * goes through containerd to the shim, as kubelet's updates do.
 */
export async function updateTask(address: string, namespace: string, id: string, resources: object): Promise<void> {
  const any = Writer.create().uint32(0x0a).string('types.containerd.io/opencontainers/runtime-spec/1/LinuxResources').uint32(0x12).bytes(Buffer.from(JSON.stringify(resources))).finish();
  const req = Buffer.from(Writer.create().uint32(0x0a).string(id).uint32(0x12).bytes(any).finish());
  const client = new grpc.Client(`unix://${address}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('containerd-namespace', namespace);
  try {
    await new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest(
        '/containerd.services.tasks.v1.Tasks/Update',
        (b: Buffer) => b,
        (b: Buffer) => b,
        req,
        metadata,
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  } finally {
    client.close();
  }
}
