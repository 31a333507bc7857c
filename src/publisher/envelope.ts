import { encode, packAny, timestamp } from '../proto';

/** containerd's events service on its ttrpc socket (api/services/ttrpc/events/v1/events.proto). */
export const EVENTS_SERVICE = 'containerd.services.events.ttrpc.v1.Events';
export const FORWARD_METHOD = 'Forward';

/** One event on its way to containerd: a topic and a message of our schema. */
export interface TaskEvent {
  topic: string;
  /** Full proto name, which is also containerd's type URL for it (e.g. containerd.events.TaskExit). */
  type: string;
  event: Record<string, unknown>;
  /** Container the event belongs to, for ordering and logs. */
  containerId: string;
}

export interface Envelope {
  timestamp: Date;
  namespace: string;
  topic: string;
  type: string;
  event: Record<string, unknown>;
  containerId: string;
}

export function envelopeOf(ev: TaskEvent, namespace: string, now: Date): Envelope {
  return { timestamp: now, namespace, topic: ev.topic, type: ev.type, event: ev.event, containerId: ev.containerId };
}

/** The ForwardRequest bytes for one envelope. */
export function forwardRequest(env: Envelope): Buffer {
  return encode('containerd.services.events.ttrpc.v1.ForwardRequest', {
    envelope: {
      timestamp: timestamp(env.timestamp),
      namespace: env.namespace,
      topic: env.topic,
      event: packAny(env.type, env.event),
    },
  });
}
