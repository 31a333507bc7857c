import { decode, type Any } from '../proto';
import { invalidArgument } from '../errors';

/** containerd.runc.v1.Options (runtime/v2/runc/options/oci.proto), as far as we honour it. */
export interface RuncOptions {
  no_pivot_root: boolean;
  no_new_keyring: boolean;
  shim_cgroup: string;
  io_uid: number;
  io_gid: number;
  binary_name: string;
  root: string;
  criu_path: string;
  systemd_cgroup: boolean;
  criu_image_path: string;
  criu_work_path: string;
}

export const RUNC_OPTIONS_TYPE = 'containerd.runc.v1.Options';

/** Options from a Create request's Any; none given is the defaults. */
export function runcOptions(any: Any | null | undefined): RuncOptions {
  const empty = decode<RuncOptions>('containerd.runc.v1.Options', Buffer.alloc(0));
  if (!any || (!any.type_url && (!any.value || any.value.length === 0))) return empty;
  const type = any.type_url.replace(/^.*\//, '');
  if (type === RUNC_OPTIONS_TYPE || type === 'containerd.linux.runc.RuncOptions') {
    return decode<RuncOptions>('containerd.runc.v1.Options', any.value);
  }
  throw invalidArgument(`unsupported runtime options type ${JSON.stringify(any.type_url)}: expected ${RUNC_OPTIONS_TYPE}`);
}
