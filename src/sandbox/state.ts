import { alreadyExists, failedPrecondition } from '../errors';

/**
 * The pod's life in this serving process. containerd's shim sandbox controller calls Create,
 * then Start, then Wait/Status/Stop, and Shutdown last (v2.3.7 plugins/sandbox/controller.go);
 * `stopped` is reached when the namespace holder exits, however that came about.
 */
export type PodState = 'new' | 'created' | 'running' | 'stopped';

export type PodCall = 'create' | 'start' | 'stop' | 'wait' | 'status' | 'ping' | 'platform' | 'metrics' | 'shutdown';

/** Which call is legal in which state; everything not listed is refused by `check`. */
const legal: Record<PodState, readonly PodCall[]> = {
  new: ['create', 'stop', 'status', 'ping', 'platform', 'shutdown'],
  created: ['start', 'stop', 'wait', 'status', 'ping', 'platform', 'shutdown'],
  running: ['stop', 'wait', 'status', 'ping', 'platform', 'metrics', 'shutdown'],
  stopped: ['stop', 'wait', 'status', 'ping', 'platform', 'shutdown'],
};

/** Throws the error containerd expects for a call the state does not allow; returns otherwise. */
export function check(id: string, state: PodState, call: PodCall): void {
  if (legal[state].includes(call)) return;
  if (call === 'create') throw alreadyExists(`sandbox ${id} is already created (state ${state})`);
  if (call === 'start' && state !== 'new') throw failedPrecondition(`sandbox ${id} cannot start: it is ${state}, not created`);
  throw failedPrecondition(`sandbox ${id} cannot ${call}: it is ${state}${state === 'new' ? ' (CreateSandbox first)' : ''}`);
}

/** containerd's CRI reads the state as a runtime.v1.PodSandboxState name (internal/cri/server/sandbox_status.go toCRISandboxStatus). */
export const criState = (state: PodState): string => (state === 'running' ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY');
