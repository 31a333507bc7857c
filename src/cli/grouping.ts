import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Annotations that put containers in one group (one serving process), as containerd's runc
 * shim manager reads them (runtime/v2/runc/manager groupLabels).
 */
export const GROUP_ANNOTATIONS = ['io.containerd.runc.v2.group', 'io.kubernetes.cri.sandbox-id'];

export type Grouping = 'pod' | 'namespace';

/**
 * containerd's shim sandbox controller (sandboxer = "shim") keeps a pod's bundle in its own
 * state dir, <state>/io.containerd.sandbox.controller.v1.shim/<namespace>/<id> (v2.3.7
 * plugins/sandbox/controller.go: the plugin's PropertyStateDir, v2.NewBundle).
 */
const SANDBOX_CONTROLLER_DIR = 'io.containerd.sandbox.controller.v1.shim';
export const isSandboxBundle = (bundle: string): boolean => path.basename(path.dirname(path.dirname(bundle))) === SANDBOX_CONTROLLER_DIR;

/**
 * The key whose socket a container is served on. `pod`: the pod's sandbox id when the bundle
 * names one (so a pod's containers share the sandbox's shim), else the container's own id.
 * `namespace`: one serving process for the whole containerd namespace — except a Sandbox API
 * pod, which is a serving process of its own (its Sandbox service holds one pod; a second pod's
 * CreateSandbox there failed RunPodSandbox with NotFound).
 */
export function groupKey(grouping: Grouping, id: string, namespace: string, bundle: string): string {
  if (grouping === 'namespace' && !isSandboxBundle(bundle)) return `rx-namespace-${namespace}`;
  let annotations: Record<string, string> = {};
  try {
    annotations = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')).annotations ?? {};
  } catch {
    // no spec yet (or unreadable): the container is its own group
  }
  for (const label of GROUP_ANNOTATIONS) if (annotations[label]) return annotations[label];
  return id;
}

/** What `start` takes from the runtime options on its stdin: the grouping and the shim's cgroup. */
export function startOptions(stdin: Buffer): { grouping: Grouping; shimCgroup: string } {
  if (stdin.length === 0) return { grouping: 'pod', shimCgroup: '' };
  // Loaded only when containerd sent options: the common `start` stays free of protobufjs.
  const { decodeStartOptions } = require('./runtime-options') as typeof import('./runtime-options');
  const config = decodeStartOptions(stdin);
  return { grouping: config.grouping, shimCgroup: config.runc.shim_cgroup };
}

export const groupingFromOptions = (stdin: Buffer): Grouping => startOptions(stdin).grouping;
