/**
 * Our own protobuf schema for the subset of containerd's API the shim speaks, as a protobufjs
 * JSON descriptor. Field numbers and package names are wire facts taken from containerd 1.6:
 * runtime/v2/task/shim.proto, api/events/task.proto, api/types/{mount,task/task}.proto,
 * api/services/ttrpc/events/v1/events.proto, runtime/v2/runc/options/oci.proto; containerd 2.x
 * additions name their api@v1.11.1 file where they are defined.
 */
import type { INamespace } from 'protobufjs';

type Fields = Record<string, { type: string; id: number; rule?: 'repeated' }>;
const msg = (fields: Fields) => ({ fields });
const s = (id: number) => ({ type: 'string', id });
const u32 = (id: number) => ({ type: 'uint32', id });
const b = (id: number) => ({ type: 'bool', id });
const ts = (id: number) => ({ type: 'google.protobuf.Timestamp', id });
const any = (id: number) => ({ type: 'google.protobuf.Any', id });

const idExec = { id: s(1), exec_id: s(2) };

const u64 = (id: number) => ({ type: 'uint64', id });

export const schema: INamespace = {
  nested: {
    // cgroups/stats/v1/metrics.proto and cgroups/v2/stats/metrics.proto: the subset we fill.
    io: {
      nested: {
        containerd: {
          nested: {
            cgroups: {
              nested: {
                v1: {
                  nested: {
                    Metrics: msg({ pids: { type: 'PidsStat', id: 2 }, cpu: { type: 'CPUStat', id: 3 }, memory: { type: 'MemoryStat', id: 4 } }),
                    PidsStat: msg({ current: u64(1), limit: u64(2) }),
                    CPUStat: msg({ usage: { type: 'CPUUsage', id: 1 }, throttling: { type: 'Throttle', id: 2 } }),
                    CPUUsage: msg({ total: u64(1), kernel: u64(2), user: u64(3), per_cpu: { type: 'uint64', id: 4, rule: 'repeated' } }),
                    Throttle: msg({ periods: u64(1), throttled_periods: u64(2), throttled_time: u64(3) }),
                    MemoryStat: msg({
                      cache: u64(1), rss: u64(2), rss_huge: u64(3), mapped_file: u64(4), dirty: u64(5), writeback: u64(6),
                      pg_pg_in: u64(7), pg_pg_out: u64(8), pg_fault: u64(9), pg_maj_fault: u64(10),
                      inactive_anon: u64(11), active_anon: u64(12), inactive_file: u64(13), active_file: u64(14), unevictable: u64(15),
                      hierarchical_memory_limit: u64(16), total_cache: u64(18), total_rss: u64(19),
                      usage: { type: 'MemoryEntry', id: 33 }, swap: { type: 'MemoryEntry', id: 34 }, kernel: { type: 'MemoryEntry', id: 35 },
                    }),
                    MemoryEntry: msg({ limit: u64(1), usage: u64(2), max: u64(3), failcnt: u64(4) }),
                  },
                },
                v2: {
                  nested: {
                    Metrics: msg({ pids: { type: 'PidsStat', id: 1 }, cpu: { type: 'CPUStat', id: 2 }, memory: { type: 'MemoryStat', id: 4 } }),
                    PidsStat: msg({ current: u64(1), limit: u64(2) }),
                    CPUStat: msg({ usage_usec: u64(1), user_usec: u64(2), system_usec: u64(3), nr_periods: u64(4), nr_throttled: u64(5), throttled_usec: u64(6) }),
                    MemoryStat: msg({ anon: u64(1), file: u64(2), usage: u64(32), usage_limit: u64(33), swap_usage: u64(34), swap_limit: u64(35) }),
                  },
                },
              },
            },
          },
        },
      },
    },
    // pkg/runtimeoptions/v1/api.proto: what CRI and `ctr --runtime-config-path` send a non-runc runtime.
    // config_body (3) is a later addition; containerd 1.6 sends only the path.
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
        // runtime/linux/runctypes/runc.proto: the legacy types ctr still sends for --no-pivot and
        // friends when the runtime is not a runc shim.
        linux: {
          nested: {
            runc: {
              nested: {
                RuncOptions: msg({ runtime: s(1), runtime_root: s(2), criu_path: s(3), systemd_cgroup: b(4) }),
                CreateOptions: msg({
                  no_pivot_root: b(1), open_tcp: b(2), external_unix_sockets: b(3), terminal: b(4), file_locks: b(5),
                  empty_namespaces: { type: 'string', id: 6, rule: 'repeated' }, cgroups_mode: s(7), no_new_keyring: b(8),
                  shim_cgroup: s(9), io_uid: u32(10), io_gid: u32(11), criu_work_path: s(12), criu_image_path: s(13),
                }),
              },
            },
          },
        },
        runc: {
          nested: {
            v1: {
              nested: {
                Options: msg({
                  no_pivot_root: b(1), no_new_keyring: b(2), shim_cgroup: s(3), io_uid: u32(4), io_gid: u32(5),
                  binary_name: s(6), root: s(7), criu_path: s(8), systemd_cgroup: b(9),
                  criu_image_path: s(10), criu_work_path: s(11),
                }),
                CheckpointOptions: msg({
                  exit: b(1), open_tcp: b(2), external_unix_sockets: b(3), terminal: b(4), file_locks: b(5),
                  empty_namespaces: { type: 'string', id: 6, rule: 'repeated' },
                  cgroups_mode: s(7), image_path: s(8), work_path: s(9),
                }),
                ProcessDetails: msg({ exec_id: s(1) }),
              },
            },
          },
        },
      },
    },
  },
};
