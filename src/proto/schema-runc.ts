/**
 * runc's own option types: runtime/v2/runc/options/oci.proto (package containerd.runc.v1), and
 * runtime/linux/runctypes/runc.proto (containerd.linux.runc), the legacy types ctr still sends
 * for --no-pivot and friends when the runtime is not a runc shim.
 */
import type { INamespace } from 'protobufjs';
import { b, msg, s, u32 } from './fields';

/** containerd.runc: v1's Options, CheckpointOptions, ProcessDetails. */
export function runcV1(): INamespace {
  return {
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
  };
}

/** containerd.linux: runc's RuncOptions and CreateOptions. */
export function linuxRunc(): INamespace {
  return {
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
  };
}
