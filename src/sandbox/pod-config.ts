import { invalidArgument } from '../errors';
import { decode, type Any } from '../proto';

/** What the namespace holder needs from the pod's config. */
export interface PodConfig {
  hostname: string;
  /** own namespaces for the pod; false where the pod shares the node's (NamespaceMode NODE) */
  ownNetwork: boolean;
  ownPid: boolean;
  ownIpc: boolean;
  cgroupParent: string;
}

const CRI_CONFIG = 'runtime.v1.PodSandboxConfig';

/** No options (not CRI, e.g. a bare sandbox client): a pod with its own pid, ipc and uts namespaces. */
const DEFAULTS: PodConfig = { hostname: '', ownNetwork: true, ownPid: true, ownIpc: true, cgroupParent: '' };

/**
 * CRI sends the whole runtime.v1.PodSandboxConfig as CreateSandboxRequest.options, packed by
 * typeurl under its proto name (v2.3.7 internal/cri/server/sandbox_run.go sb.WithOptions; core/
 * sandbox/controller.go WithOptions). Its namespace modes decide what the pod owns, as the
 * podsandbox controller decides for the pause container (internal/cri/server/podsandbox/
 * sandbox_run_linux.go: host network drops the net and uts namespaces, NODE pid/ipc drop those).
 */
export function podConfig(options: Any | null | undefined): PodConfig {
  if (!options || !options.type_url) return { ...DEFAULTS };
  if (options.type_url.replace(/^.*\//, '') !== CRI_CONFIG) {
    throw invalidArgument(`CreateSandbox: options of type ${JSON.stringify(options.type_url)} are not supported; expected ${CRI_CONFIG} (what containerd's CRI sends) or none`);
  }
  let c: Record<string, any>;
  try {
    c = decode(CRI_CONFIG, options.value);
  } catch (err) {
    throw invalidArgument(`CreateSandbox: options are not a valid ${CRI_CONFIG}: ${(err as Error).message}`);
  }
  const ns = c.linux?.security_context?.namespace_options ?? {};
  const node = (mode: unknown) => mode === 'NODE' || mode === 2;
  return {
    hostname: c.hostname ?? '',
    ownNetwork: !node(ns.network),
    ownPid: !node(ns.pid),
    ownIpc: !node(ns.ipc),
    cgroupParent: c.linux?.cgroup_parent ?? '',
  };
}
