/**
 * Our own protobuf schema for the subset of containerd's API the shim speaks, as a protobufjs
 * JSON descriptor. Field numbers and package names are wire facts taken from containerd 1.6:
 * runtime/v2/task/shim.proto, api/events/task.proto, api/types/{mount,task/task}.proto,
 * api/services/ttrpc/events/v1/events.proto, runtime/v2/runc/options/oci.proto; containerd 2.x
 * additions name their api@v1.11.1 file where they are defined. The cgroup metrics
 * (schema-cgroups.ts), runc's option types (schema-runc.ts) and the Sandbox API with CRI's pod
 * config (schema-sandbox.ts) are built in files of their own.
 */
import type { INamespace } from 'protobufjs';

import { any, b, idExec, msg, s, ts, u32, type Fields } from './fields';
import { cgroupsMetrics } from './schema-cgroups';
import { linuxRunc, runcV1 } from './schema-runc';
import { criRuntimeV1, sandboxTypes, sandboxV1 } from './schema-sandbox';

export const schema: INamespace = {
  nested: {
    // io.containerd.cgroups.v1/v2 Metrics (schema-cgroups.ts).
    io: { nested: { containerd: { nested: { cgroups: cgroupsMetrics() } } } },
    // pkg/runtimeoptions/v1/api.proto: what CRI and `ctr --runtime-config-path` send a non-runc runtime.
    // config_body (3) is a later addition; containerd 1.6 sends only the path.
    runtime: criRuntimeV1(),
    runtimeoptions: {
      nested: {
        v1: {
          nested: {
            Options: msg({ type_url: s(1), config_path: s(2), config_body: { type: 'bytes', id: 3 } }),
          },
        },
      },
    },
    google: {
      nested: {
        protobuf: {
          nested: {
            Any: msg({ type_url: s(1), value: { type: 'bytes', id: 2 } }),
            Empty: msg({}),
            Timestamp: msg({ seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } }),
          },
        },
      },
    },
    containerd: {
      nested: {
        // api@v1.11.1 runtime/bootstrap/v1/bootstrap.proto (containerd 2.3+): what `start` reads
        // and prints. The shim itself codes them by hand (cli/bootstrap.ts); tests check it with these.
        runtime: {
          nested: {
            sandbox: sandboxV1(),
            bootstrap: {
              nested: {
                v1: {
                  nested: {
                    LogLevel: {
                      values: {
                        LOG_LEVEL_INFO: 0, LOG_LEVEL_TRACE: -8, LOG_LEVEL_DEBUG: -4, LOG_LEVEL_WARN: 4,
                        LOG_LEVEL_ERROR: 8, LOG_LEVEL_FATAL: 10, LOG_LEVEL_PANIC: 12,
                      },
                    },
                    Extension: msg({ value: any(1) }),
                    BootstrapParams: {
                      fields: {
                        instance_id: s(1), namespace: s(2), log_level: { type: 'LogLevel', id: 3 },
                        containerd_version: s(4), containerd_ttrpc_address: s(5), containerd_grpc_address: s(6),
                        containerd_binary: s(7), extensions: { type: 'Extension', id: 8, rule: 'repeated' },
                        socket_dir: { type: 'string', id: 9, options: { proto3_optional: true } },
                      },
                      oneofs: { _socket_dir: { oneof: ['socket_dir'] } },
                    },
                    Capability: { values: { CAPABILITY_UNSPECIFIED: 0 } },
                    BootstrapResult: {
                      fields: {
                        version: { type: 'int32', id: 1 }, address: s(2), protocol: s(3),
                        capabilities: { type: 'Capability', id: 4, rule: 'repeated' },
                        metadata: { keyType: 'string', type: 'string', id: 5 } as Fields[string],
                      },
                    },
                  },
                },
              },
            },
          },
        },
        types: {
          nested: {
            // api@v1.11.1 types/introspection.proto: what `-info` prints (cli/info.ts codes it by hand).
            RuntimeRequest: msg({ runtime_path: s(1), options: any(2) }),
            RuntimeVersion: msg({ version: s(1), revision: s(2) }),
            RuntimeInfo: {
              fields: {
                name: s(1), version: { type: 'RuntimeVersion', id: 2 }, options: any(3), features: any(4),
                annotations: { keyType: 'string', type: 'string', id: 5 } as Fields[string],
              },
            },
            Mount: msg({ type: s(1), source: s(2), target: s(3), options: { type: 'string', id: 4, rule: 'repeated' } }),
            ...sandboxTypes(),
          },
        },
        v1: {
          nested: {
            types: {
              nested: {
                Status: {
                  values: { UNKNOWN: 0, CREATED: 1, RUNNING: 2, STOPPED: 3, PAUSED: 4, PAUSING: 5 },
                },
                ProcessInfo: msg({ pid: u32(1), info: any(2) }),
              },
            },
          },
        },
        task: {
          nested: {
            v2: {
              nested: {
                CreateTaskRequest: msg({
                  id: s(1), bundle: s(2),
                  rootfs: { type: 'containerd.types.Mount', id: 3, rule: 'repeated' },
                  terminal: b(4), stdin: s(5), stdout: s(6), stderr: s(7),
                  checkpoint: s(8), parent_checkpoint: s(9), options: any(10),
                }),
                CreateTaskResponse: msg({ pid: u32(1) }),
                DeleteRequest: msg(idExec),
                DeleteResponse: msg({ pid: u32(1), exit_status: u32(2), exited_at: ts(3) }),
                ExecProcessRequest: msg({
                  ...idExec, terminal: b(3), stdin: s(4), stdout: s(5), stderr: s(6), spec: any(7),
                }),
                ResizePtyRequest: msg({ ...idExec, width: u32(3), height: u32(4) }),
                StateRequest: msg(idExec),
                StateResponse: msg({
                  id: s(1), bundle: s(2), pid: u32(3),
                  status: { type: 'containerd.v1.types.Status', id: 4 },
                  stdin: s(5), stdout: s(6), stderr: s(7), terminal: b(8),
                  exit_status: u32(9), exited_at: ts(10), exec_id: s(11),
                }),
                KillRequest: msg({ ...idExec, signal: u32(3), all: b(4) }),
                CloseIORequest: msg({ ...idExec, stdin: b(3) }),
                PidsRequest: msg({ id: s(1) }),
                PidsResponse: msg({
                  processes: { type: 'containerd.v1.types.ProcessInfo', id: 1, rule: 'repeated' },
                }),
                CheckpointTaskRequest: msg({ id: s(1), path: s(2), options: any(3) }),
                UpdateTaskRequest: {
                  fields: {
                    id: s(1), resources: any(2),
                    annotations: { keyType: 'string', type: 'string', id: 3 } as Fields[string],
                  },
                },
                StartRequest: msg(idExec),
                StartResponse: msg({ pid: u32(1) }),
                WaitRequest: msg(idExec),
                WaitResponse: msg({ exit_status: u32(1), exited_at: ts(2) }),
                StatsRequest: msg({ id: s(1) }),
                StatsResponse: msg({ stats: any(1) }),
                ConnectRequest: msg({ id: s(1) }),
                ConnectResponse: msg({ shim_pid: u32(1), task_pid: u32(2), version: s(3) }),
                ShutdownRequest: msg({ id: s(1), now: b(2) }),
                PauseRequest: msg({ id: s(1) }),
                ResumeRequest: msg({ id: s(1) }),
              },
            },
          },
        },
        events: {
          nested: {
            TaskIO: msg({ stdin: s(1), stdout: s(2), stderr: s(3), terminal: b(4) }),
            TaskCreate: msg({
              container_id: s(1), bundle: s(2),
              rootfs: { type: 'containerd.types.Mount', id: 3, rule: 'repeated' },
              io: { type: 'TaskIO', id: 4 }, checkpoint: s(5), pid: u32(6),
            }),
            TaskStart: msg({ container_id: s(1), pid: u32(2) }),
            TaskDelete: msg({ container_id: s(1), pid: u32(2), exit_status: u32(3), exited_at: ts(4), id: s(5) }),
            TaskExit: msg({ container_id: s(1), id: s(2), pid: u32(3), exit_status: u32(4), exited_at: ts(5) }),
            TaskOOM: msg({ container_id: s(1) }),
            TaskExecAdded: msg({ container_id: s(1), exec_id: s(2) }),
            TaskExecStarted: msg({ container_id: s(1), exec_id: s(2), pid: u32(3) }),
            TaskPaused: msg({ container_id: s(1) }),
            TaskResumed: msg({ container_id: s(1) }),
            TaskCheckpointed: msg({ container_id: s(1), checkpoint: s(2) }),
          },
        },
        services: {
          nested: {
            events: {
              nested: {
                ttrpc: {
                  nested: {
                    v1: {
                      nested: {
                        Envelope: msg({ timestamp: ts(1), namespace: s(2), topic: s(3), event: any(4) }),
                        ForwardRequest: msg({ envelope: { type: 'Envelope', id: 1 } }),
                      },
                    },
                  },
                },
              },
            },
          },
        },
        // runc's option types (schema-runc.ts).
        linux: linuxRunc(),
        runc: runcV1(),
      },
    },
  },
};
