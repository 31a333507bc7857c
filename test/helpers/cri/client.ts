/**
 * A small CRI (runtime.v1) client over gRPC on a unix socket, as kubelet speaks to containerd.
 * Messages are plain objects with the proto's snake_case field names; int64s come back as
 * numbers, enums as their names, bytes as Buffers.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { criDescriptor } from './schema';

const root = protobuf.Root.fromJSON(criDescriptor);

// Plain objects: the tests build requests from literals and read fields by their proto names.
export type Msg = Record<string, any>;

export class CriError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    readonly details: string,
  ) {
    super(`CRI ${method}: ${grpc.status[code] ?? code}: ${details}`);
  }
}

export class CriClient {
  private readonly client: grpc.Client;

  /** `socket`: containerd's grpc socket path (CRI shares it). */
  constructor(socket: string) {
    this.client = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure());
  }

  /** One unary call to `/runtime.v1.<service>/<method>`, with a deadline. */
  call(service: 'RuntimeService' | 'ImageService', method: string, request: Msg, timeoutMs = 60000): Promise<Msg> {
    const svc = root.lookupService(`runtime.v1.${service}`);
    const m = svc.methods[method];
    if (!m) throw new Error(`CRI ${service}.${method} is not in our descriptor`);
    const reqType = root.lookupType(`runtime.v1.${m.requestType}`);
    const resType = root.lookupType(`runtime.v1.${m.responseType}`);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        `/runtime.v1.${service}/${method}`,
        (r: Msg) => Buffer.from(reqType.encode(reqType.fromObject(r)).finish()),
        (b: Buffer) => resType.toObject(resType.decode(b), { longs: Number, enums: String, bytes: Buffer, defaults: true }),
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (e: grpc.ServiceError | null, res?: Msg) => (e ? reject(new CriError(method, e.code, e.details)) : resolve(res!)),
      );
    });
  }

  version = () => this.call('RuntimeService', 'Version', { version: 'v1' });
  runPodSandbox = (config: Msg, runtimeHandler: string) => this.call('RuntimeService', 'RunPodSandbox', { config, runtime_handler: runtimeHandler }).then((r) => r.pod_sandbox_id as string);
  stopPodSandbox = (id: string) => this.call('RuntimeService', 'StopPodSandbox', { pod_sandbox_id: id });
  removePodSandbox = (id: string) => this.call('RuntimeService', 'RemovePodSandbox', { pod_sandbox_id: id });
  podSandboxStatus = (id: string) => this.call('RuntimeService', 'PodSandboxStatus', { pod_sandbox_id: id }).then((r) => r.status as Msg);
  createContainer = (podId: string, config: Msg, sandboxConfig: Msg) =>
    this.call('RuntimeService', 'CreateContainer', { pod_sandbox_id: podId, config, sandbox_config: sandboxConfig }).then((r) => r.container_id as string);
  startContainer = (id: string) => this.call('RuntimeService', 'StartContainer', { container_id: id });
  stopContainer = (id: string, timeout = 0) => this.call('RuntimeService', 'StopContainer', { container_id: id, timeout });
  removeContainer = (id: string) => this.call('RuntimeService', 'RemoveContainer', { container_id: id });
  listContainers = (filter: Msg = {}) => this.call('RuntimeService', 'ListContainers', { filter }).then((r) => r.containers as Msg[]);
  containerStatus = (id: string) => this.call('RuntimeService', 'ContainerStatus', { container_id: id }).then((r) => r.status as Msg);
  /** ExecSync; `timeout` in seconds (0: none), the call's own deadline a little later. */
  execSync = (id: string, cmd: string[], timeout = 30) =>
    this.call('RuntimeService', 'ExecSync', { container_id: id, cmd, timeout }, (timeout + 10) * 1000) as Promise<{ stdout: Buffer; stderr: Buffer; exit_code: number }>;
  containerStats = (id: string) => this.call('RuntimeService', 'ContainerStats', { container_id: id }).then((r) => r.stats as Msg);
  reopenContainerLog = (id: string) => this.call('RuntimeService', 'ReopenContainerLog', { container_id: id });
  imageStatus = (image: string) => this.call('ImageService', 'ImageStatus', { image: { image } }).then((r) => r.image as Msg | null);

  close(): void {
    this.client.close();
  }
}
