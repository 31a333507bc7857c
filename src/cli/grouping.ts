import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Annotations that put containers in one group (one serving process), as containerd's runc
 * shim manager reads them (runtime/v2/runc/manager groupLabels).
 */
export const GROUP_ANNOTATIONS = ['io.containerd.runc.v2.group', 'io.kubernetes.cri.sandbox-id'];

export type Grouping = 'pod' | 'namespace';

/**
 * The key whose socket a container is served on. `pod`: the pod's sandbox id when the bundle
 * names one (so a pod's containers share the sandbox's shim), else the container's own id.
 * `namespace`: one serving process for the whole containerd namespace.
 */
export function groupKey(grouping: Grouping, id: string, namespace: string, bundle: string): string {
  if (grouping === 'namespace') return `rx-namespace-${namespace}`;
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
export function startOptions(stdin: Buffer): { grouping: Grouping; shimCgroup: string; metricsAddress?: string } {
  if (stdin.length === 0) return { grouping: 'pod', shimCgroup: '' };
  // Loaded only when containerd sent options: the common `start` stays free of protobufjs.
  const { decodeStartOptions } = require('./runtime-options') as typeof import('./runtime-options');
  const config = decodeStartOptions(stdin);
  return { grouping: config.grouping, shimCgroup: config.runc.shim_cgroup, metricsAddress: config.metricsAddress };
}

export const groupingFromOptions = (stdin: Buffer): Grouping => startOptions(stdin).grouping;
