import type { Any } from '../proto';
import type { PodConfig } from './pod-config';

/** typeurl's name for an OCI runtime spec, sent as JSON (v2.3.7 client/client.go: typeurl.Register(&specs.Spec{}, "types.containerd.io", ...)). */
export const SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';

/**
 * The sandbox's spec for StartSandboxResponse.spec: CRI stores it as the sandbox's Spec and NRI
 * reads its annotations (v2.3.7 internal/cri/nri/nri_api_linux.go; an empty Any there is logged
 * as "failed to unmarshal sandbox spec" on every NRI call). It describes what the pause
 * container's spec would: the pod's namespaces, here as paths to the holder's.
 */
export function podSpec(c: PodConfig, netnsPath: string, pid: number, annotations: Record<string, string>, cgroupsPath = ''): Any {
  const ns = (type: string, file: string) => ({ type, path: `/proc/${pid}/ns/${file}` });
  const namespaces = [
    ...(c.ownPid ? [ns('pid', 'pid')] : []),
    ...(c.ownIpc ? [ns('ipc', 'ipc')] : []),
    ...(c.ownNetwork ? [ns('uts', 'uts')] : []),
    ...(netnsPath ? [{ type: 'network', path: netnsPath }] : []),
  ];
  const spec = {
    ociVersion: '1.2.0',
    ...(c.ownNetwork && c.hostname ? { hostname: c.hostname } : {}),
    annotations,
    // The pause container's cgroupsPath (podCgroupsPath), where the holder is.
    linux: { namespaces, ...(cgroupsPath ? { cgroupsPath } : {}) },
  };
  return { type_url: SPEC_TYPE_URL, value: Buffer.from(JSON.stringify(spec)) };
}
