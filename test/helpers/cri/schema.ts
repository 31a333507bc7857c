/**
 * Our own protobufjs JSON descriptor of the part of CRI `runtime.v1` the e2e tests call.
 * Field numbers from k8s.io/cri-api pkg/apis/runtime/v1/api.proto (as vendored by containerd);
 * messages carry only the fields we set or read — protobuf skips the others on the wire.
 */
import type { INamespace } from 'protobufjs';

type Field = { type: string; id: number; rule?: 'repeated'; keyType?: string };
const f = (type: string, id: number): Field => ({ type, id });
const rep = (type: string, id: number): Field => ({ type, id, rule: 'repeated' });
const map = (id: number): Field => ({ keyType: 'string', type: 'string', id });
const msg = (fields: Record<string, Field>) => ({ fields });
const rpc = (name: string) => ({ requestType: `${name}Request`, responseType: `${name}Response` });

const runtimeV1 = {
  nested: {
    NamespaceMode: { values: { POD: 0, CONTAINER: 1, NODE: 2, TARGET: 3 } },
    PodSandboxState: { values: { SANDBOX_READY: 0, SANDBOX_NOTREADY: 1 } },
    ContainerState: { values: { CONTAINER_CREATED: 0, CONTAINER_RUNNING: 1, CONTAINER_EXITED: 2, CONTAINER_UNKNOWN: 3 } },

    VersionRequest: msg({ version: f('string', 1) }),
    VersionResponse: msg({ version: f('string', 1), runtime_name: f('string', 2), runtime_version: f('string', 3), runtime_api_version: f('string', 4) }),

    NamespaceOption: msg({ network: f('NamespaceMode', 1), pid: f('NamespaceMode', 2), ipc: f('NamespaceMode', 3), target_id: f('string', 4) }),
    Int64Value: msg({ value: f('int64', 1) }),
    LinuxSandboxSecurityContext: msg({ namespace_options: f('NamespaceOption', 1), run_as_user: f('Int64Value', 3), readonly_rootfs: f('bool', 4), privileged: f('bool', 6) }),
    LinuxPodSandboxConfig: msg({ cgroup_parent: f('string', 1), security_context: f('LinuxSandboxSecurityContext', 2), sysctls: map(3) }),
    PodSandboxMetadata: msg({ name: f('string', 1), uid: f('string', 2), namespace: f('string', 3), attempt: f('uint32', 4) }),
    PodSandboxConfig: msg({
      metadata: f('PodSandboxMetadata', 1),
      hostname: f('string', 2),
      log_directory: f('string', 3),
      labels: map(6),
      annotations: map(7),
      linux: f('LinuxPodSandboxConfig', 8),
    }),
    RunPodSandboxRequest: msg({ config: f('PodSandboxConfig', 1), runtime_handler: f('string', 2) }),
    RunPodSandboxResponse: msg({ pod_sandbox_id: f('string', 1) }),
    StopPodSandboxRequest: msg({ pod_sandbox_id: f('string', 1) }),
    StopPodSandboxResponse: msg({}),
    RemovePodSandboxRequest: msg({ pod_sandbox_id: f('string', 1) }),
    RemovePodSandboxResponse: msg({}),
    PodSandboxStatusRequest: msg({ pod_sandbox_id: f('string', 1), verbose: f('bool', 2) }),
    PodSandboxStatus: msg({
      id: f('string', 1),
      metadata: f('PodSandboxMetadata', 2),
      state: f('PodSandboxState', 3),
      created_at: f('int64', 4),
      labels: map(7),
      annotations: map(8),
      runtime_handler: f('string', 9),
    }),
    PodSandboxStatusResponse: msg({ status: f('PodSandboxStatus', 1), info: map(2) }),

    ImageSpec: msg({ image: f('string', 1), annotations: map(2) }),
    KeyValue: msg({ key: f('string', 1), value: f('string', 2) }),
    ContainerMetadata: msg({ name: f('string', 1), attempt: f('uint32', 2) }),
    LinuxContainerSecurityContext: msg({ privileged: f('bool', 2), namespace_options: f('NamespaceOption', 3), readonly_rootfs: f('bool', 7) }),
    LinuxContainerConfig: msg({ security_context: f('LinuxContainerSecurityContext', 2) }),
    ContainerConfig: msg({
      metadata: f('ContainerMetadata', 1),
      image: f('ImageSpec', 2),
      command: rep('string', 3),
      args: rep('string', 4),
      working_dir: f('string', 5),
      envs: rep('KeyValue', 6),
      labels: map(9),
      annotations: map(10),
      log_path: f('string', 11),
      stdin: f('bool', 12),
      stdin_once: f('bool', 13),
      tty: f('bool', 14),
      linux: f('LinuxContainerConfig', 15),
    }),
    CreateContainerRequest: msg({ pod_sandbox_id: f('string', 1), config: f('ContainerConfig', 2), sandbox_config: f('PodSandboxConfig', 3) }),
    CreateContainerResponse: msg({ container_id: f('string', 1) }),
    StartContainerRequest: msg({ container_id: f('string', 1) }),
    StartContainerResponse: msg({}),
    StopContainerRequest: msg({ container_id: f('string', 1), timeout: f('int64', 2) }),
    StopContainerResponse: msg({}),
    RemoveContainerRequest: msg({ container_id: f('string', 1) }),
    RemoveContainerResponse: msg({}),

    ContainerStateValue: msg({ state: f('ContainerState', 1) }),
    ContainerFilter: msg({ id: f('string', 1), state: f('ContainerStateValue', 2), pod_sandbox_id: f('string', 3), label_selector: map(4) }),
    ListContainersRequest: msg({ filter: f('ContainerFilter', 1) }),
    Container: msg({
      id: f('string', 1),
      pod_sandbox_id: f('string', 2),
      metadata: f('ContainerMetadata', 3),
      image: f('ImageSpec', 4),
      image_ref: f('string', 5),
      state: f('ContainerState', 6),
      created_at: f('int64', 7),
      labels: map(8),
      annotations: map(9),
    }),
    ListContainersResponse: msg({ containers: rep('Container', 1) }),

    ContainerStatusRequest: msg({ container_id: f('string', 1), verbose: f('bool', 2) }),
    ContainerStatus: msg({
      id: f('string', 1),
      metadata: f('ContainerMetadata', 2),
      state: f('ContainerState', 3),
      created_at: f('int64', 4),
      started_at: f('int64', 5),
      finished_at: f('int64', 6),
      exit_code: f('int32', 7),
      image: f('ImageSpec', 8),
      image_ref: f('string', 9),
      reason: f('string', 10),
      message: f('string', 11),
      labels: map(12),
      annotations: map(13),
      log_path: f('string', 15),
    }),
    ContainerStatusResponse: msg({ status: f('ContainerStatus', 1), info: map(2) }),

    ExecSyncRequest: msg({ container_id: f('string', 1), cmd: rep('string', 2), timeout: f('int64', 3) }),
    ExecSyncResponse: msg({ stdout: f('bytes', 1), stderr: f('bytes', 2), exit_code: f('int32', 3) }),

    UInt64Value: msg({ value: f('uint64', 1) }),
    MemoryUsage: msg({ timestamp: f('int64', 1), working_set_bytes: f('UInt64Value', 2), available_bytes: f('UInt64Value', 3), usage_bytes: f('UInt64Value', 4), rss_bytes: f('UInt64Value', 5) }),
    ContainerStats: msg({ memory: f('MemoryUsage', 3) }),
    ContainerStatsRequest: msg({ container_id: f('string', 1) }),
    ContainerStatsResponse: msg({ stats: f('ContainerStats', 1) }),
    ReopenContainerLogRequest: msg({ container_id: f('string', 1) }),
    ReopenContainerLogResponse: msg({}),

    Image: msg({ id: f('string', 1), repo_tags: rep('string', 2), repo_digests: rep('string', 3), size: f('uint64', 4) }),
    ImageStatusRequest: msg({ image: f('ImageSpec', 1), verbose: f('bool', 2) }),
    ImageStatusResponse: msg({ image: f('Image', 1), info: map(2) }),

    RuntimeService: {
      methods: {
        Version: rpc('Version'),
        RunPodSandbox: rpc('RunPodSandbox'),
        StopPodSandbox: rpc('StopPodSandbox'),
        RemovePodSandbox: rpc('RemovePodSandbox'),
        PodSandboxStatus: rpc('PodSandboxStatus'),
        CreateContainer: rpc('CreateContainer'),
        StartContainer: rpc('StartContainer'),
        StopContainer: rpc('StopContainer'),
        RemoveContainer: rpc('RemoveContainer'),
        ListContainers: rpc('ListContainers'),
        ContainerStatus: rpc('ContainerStatus'),
        ExecSync: rpc('ExecSync'),
        ContainerStats: rpc('ContainerStats'),
        ReopenContainerLog: rpc('ReopenContainerLog'),
      },
    },
    ImageService: { methods: { ImageStatus: rpc('ImageStatus') } },
  },
};

/** The descriptor root: package `runtime.v1`. */
// protobufjs's INamespace typing wants a `comment` on each method; the JSON loader does not.
export const criDescriptor = { nested: { runtime: { nested: { v1: runtimeV1 } } } } as unknown as INamespace;
