/**
 * The publisher's ledger: how many events each container's queue holds and how many all hold,
 * folded from what enters and what settles. It decides at the door which event is dropped at a
 * bound, and when a container's queue may be released. The fold for scan() in queues$.
 */
import { TOPIC } from '../task/events';
import type { Envelope } from './envelope';
import type { ForwardResult } from './forward$';

/** A deleted task's topic (containerd core/runtime/events.go TaskDeleteEventTopic): a container's last event. */
export const TASK_DELETE_TOPIC = TOPIC.delete;

export interface Bounds {
  /** Events queued or in flight, all containers together, beyond which a new one is dropped. */
  maxQueue: number;
  /** The same for one container, so one container's burst cannot take every place. */
  maxQueuePerContainer: number;
}

/** What the ledger is told: an event came, one settled, a container's queue was torn down, no more will come. */
export type Entry =
  | { kind: 'enter'; envelope: Envelope }
  | { kind: 'settle'; result: ForwardResult }
  | { kind: 'release'; containerId: string }
  | { kind: 'close' };

/** What the last entry did. */
export type Step =
  | { kind: 'queued'; envelope: Envelope }
  | { kind: 'dropped'; envelope: Envelope; why: 'queue full' | 'container queue full' }
  /** `release`: that was the container's TaskDelete and its queue is now empty */
  | { kind: 'settled'; result: ForwardResult; release: boolean }
  | { kind: 'released'; containerId: string }
  | { kind: 'closed' };

export interface Ledger {
  /** Events queued or in flight per container; a container with none is not listed. */
  readonly depths: ReadonlyMap<string, number>;
  /** Events queued or in flight, all containers. */
  readonly pending: number;
  /** No event will enter any more. */
  readonly closed: boolean;
  readonly last?: Step;
}

/** A new ledger, for one subscription: its depth map is its own. */
export const emptyLedger = (): Ledger => ({ depths: new Map(), pending: 0, closed: false });

/**
 * The depth map is updated in place, not copied: a copy per event would cost O(containers), and
 * 2,000 queued events for 1,000 containers took seconds. Only the fold writes it.
 */
function setDepth(depths: ReadonlyMap<string, number>, id: string, depth: number): ReadonlyMap<string, number> {
  const own = depths as Map<string, number>;
  if (depth > 0) own.set(id, depth);
  else own.delete(id);
  return depths;
}

/** book(bounds): the fold step; a new ledger per entry, sharing the depth map of the one before. */
export const book =
  (bounds: Bounds) =>
  (l: Ledger, e: Entry): Ledger => {
    switch (e.kind) {
      case 'enter': {
        const id = e.envelope.containerId;
        const depth = l.depths.get(id) ?? 0;
        const why = l.pending >= bounds.maxQueue ? 'queue full' : depth >= bounds.maxQueuePerContainer ? 'container queue full' : undefined;
        if (why) return { ...l, last: { kind: 'dropped', envelope: e.envelope, why } };
        return { ...l, depths: setDepth(l.depths, id, depth + 1), pending: l.pending + 1, last: { kind: 'queued', envelope: e.envelope } };
      }
      case 'settle': {
        const id = e.result.envelope.containerId;
        const depth = (l.depths.get(id) ?? 1) - 1;
        const release = depth === 0 && e.result.envelope.topic === TASK_DELETE_TOPIC;
        return { ...l, depths: setDepth(l.depths, id, depth), pending: l.pending - 1, last: { kind: 'settled', result: e.result, release } };
      }
      case 'release':
        return { ...l, last: { kind: 'released', containerId: e.containerId } };
      case 'close':
        return { ...l, closed: true, last: { kind: 'closed' } };
    }
  };

/** True when this step lets container `id`'s queue go: its TaskDelete settled and nothing is behind it. */
export const releases = (step: Step | undefined, id: string): boolean =>
  step?.kind === 'settled' && step.release && step.result.envelope.containerId === id;
