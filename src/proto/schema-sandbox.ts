/** The Sandbox API's messages, and the part of CRI's pod config it reads. */
import type { INamespace } from 'protobufjs';
import { any, b, msg, s, ts, u32, type Fields } from './fields';

/**
 * api@v1.11.1 runtime/sandbox/v1/sandbox.proto (package containerd.runtime.sandbox.v1): what
 * containerd's shim sandbox controller (v2.3.7 plugins/sandbox/controller.go) sends us.
 */
export function sandboxV1(): INamespace {
  const annotations = { keyType: 'string', type: 'string', id: 6 } as Fields[string];
  return {
    nested: {
      v1: {
        nested: {
          CreateSandboxRequest: {
            fields: {
              sandbox_id: s(1), bundle_path: s(2),
              rootfs: { type: 'containerd.types.Mount', id: 3, rule: 'repeated' },
              options: any(4), netns_path: s(5), annotations,
            },
          },
          CreateSandboxResponse: msg({}),
          StartSandboxRequest: msg({ sandbox_id: s(1) }),
          StartSandboxResponse: msg({ pid: u32(1), created_at: ts(2), spec: any(3) }),
          PlatformRequest: msg({ sandbox_id: s(1) }),
          PlatformResponse: msg({ platform: { type: 'containerd.types.Platform', id: 1 } }),
          StopSandboxRequest: msg({ sandbox_id: s(1), timeout_secs: u32(2) }),
          StopSandboxResponse: msg({}),
          WaitSandboxRequest: msg({ sandbox_id: s(1) }),
          WaitSandboxResponse: msg({ exit_status: u32(1), exited_at: ts(2) }),
          SandboxStatusRequest: msg({ sandbox_id: s(1), verbose: b(2) }),
          SandboxStatusResponse: {
            fields: {
              sandbox_id: s(1), pid: u32(2), state: s(3),
              info: { keyType: 'string', type: 'string', id: 4 } as Fields[string],
              created_at: ts(5), exited_at: ts(6), extra: any(7),
            },
          },
          PingRequest: msg({ sandbox_id: s(1) }),
          PingResponse: msg({}),
          ShutdownSandboxRequest: msg({ sandbox_id: s(1) }),
          ShutdownSandboxResponse: msg({}),
          SandboxMetricsRequest: msg({ sandbox_id: s(1) }),
          SandboxMetricsResponse: msg({ metrics: { type: 'containerd.types.Metric', id: 1 } }),
        },
      },
    },
  };
}

/** api@v1.11.1 types/platform.proto and types/metrics.proto (package containerd.types). */
export function sandboxTypes(): Record<string, ReturnType<typeof msg>> {
  return {
    Platform: msg({ os: s(1), architecture: s(2), variant: s(3), os_version: s(4), os_features: { type: 'string', id: 5, rule: 'repeated' } }),
    Metric: msg({ timestamp: ts(1), id: s(2), data: any(3) }),
  };
}

/**
 * The subset of CRI's runtime.v1.PodSandboxConfig (k8s.io/cri-api v0.36.3 pkg/apis/runtime/v1
 * api.proto) the sandbox needs: CRI sends the whole config as CreateSandboxRequest.options
 * (v2.3.7 internal/cri/server/sandbox_run.go: sb.WithOptions(config)).
 */
export function criRuntimeV1(): INamespace {
  return {
    nested: {
      v1: {
        nested: {
          NamespaceMode: { values: { POD: 0, CONTAINER: 1, NODE: 2, TARGET: 3 } },
          NamespaceOption: msg({ network: { type: 'NamespaceMode', id: 1 }, pid: { type: 'NamespaceMode', id: 2 }, ipc: { type: 'NamespaceMode', id: 3 } }),
          LinuxSandboxSecurityContext: msg({ namespace_options: { type: 'NamespaceOption', id: 1 } }),
          LinuxPodSandboxConfig: msg({ cgroup_parent: s(1), security_context: { type: 'LinuxSandboxSecurityContext', id: 2 } }),
          PodSandboxMetadata: msg({ name: s(1), uid: s(2), namespace: s(3), attempt: u32(4) }),
          PodSandboxConfig: msg({ metadata: { type: 'PodSandboxMetadata', id: 1 }, hostname: s(2), log_directory: s(3), linux: { type: 'LinuxPodSandboxConfig', id: 8 } }),
        },
      },
    },
  };
}
