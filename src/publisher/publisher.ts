import { Observable, Subject, share, tap, lastValueFrom, defaultIfEmpty } from 'rxjs';
import { unavailable } from '../errors';
import type { Logger } from '../log';
import { envelopeOf, EVENTS_SERVICE, FORWARD_METHOD, forwardRequest, type Envelope, type TaskEvent } from './envelope';
import { DEFAULT_RETRIES, defaultBackoff } from './forward$';
import { emptyLedger, type Ledger } from './ledger';
import { queues$ } from './queues$';

/** What the publisher needs of a ttrpc connection. */
export interface EventsConnection {
  call(service: string, method: string, payload: Buffer, opts?: { timeoutMs?: number; metadata?: Record<string, string> }): Promise<Buffer>;
  close(): void;
  readonly closed: Promise<void>;
}

export interface PublisherOptions {
  namespace: string;
  connect: () => Promise<EventsConnection>;
  log: Logger;
  /** Events queued or in flight beyond this many are dropped and counted as lost (Go's queueSize, 2048). */
  maxQueue?: number;
  /** The same bound for one container's queue. */
  maxQueuePerContainer?: number;
  retries?: number;
  backoff?: (attempt: number) => number;
  callTimeoutMs?: number;
  now?: () => Date;
}

export interface PublisherStats {
  /** events taken into a queue */
  published: number;
  delivered: number;
  /** given up after the retries, dropped at a bound, or published after close */
  lost: number;
  /** queued or in flight, all containers */
  pending: number;
  /** depth of each container's queue that holds events; absent when none does */
  queues?: Record<string, number>;
}

/** containerd pkg/shim/publisher.go (v2.3.7) queueSize: the Go shim's bound on events waiting. */
export const MAX_QUEUE = 2048;
/** Ours: an eighth of the whole, so a few containers in a burst cannot crowd out the rest. */
export const MAX_QUEUE_PER_CONTAINER = 256;

/**
 * The event publisher: one bounded, ordered queue per container to containerd's Events/Forward,
 * with bounded retries and back-off (queues$); the connection is dialled lazily and dialled
 * again after it closes.
 */
export class Publisher {
  /** envelopes$: each published event, stamped; completes on drain(). Hot (a Subject). */
  private readonly envelopes$ = new Subject<Envelope>();
  private conn?: Promise<EventsConnection>;
  private readonly counts = { published: 0, delivered: 0, lost: 0 };
  private ledger: Ledger = emptyLedger();
  private closedInput = false;
  /** results$: the queues' ledger after each step; completes when drained after close. Hot. */
  readonly results$: Observable<Ledger>;
  private readonly drained: Promise<void>;

  constructor(private readonly opts: PublisherOptions) {
    this.results$ = queues$(this.envelopes$, {
      forward: (env) => this.forwardOnce(env),
      retries: opts.retries ?? DEFAULT_RETRIES,
      backoff: opts.backoff ?? defaultBackoff,
      maxQueue: opts.maxQueue ?? MAX_QUEUE,
      maxQueuePerContainer: opts.maxQueuePerContainer ?? MAX_QUEUE_PER_CONTAINER,
    }).pipe(
      tap((l) => this.account(l)),
      share(),
    );
    this.drained = lastValueFrom(this.results$.pipe(defaultIfEmpty(undefined))).then(() => undefined);
  }

  publish(ev: TaskEvent): void {
    if (this.closedInput) {
      this.lose(ev.topic, ev.containerId, 'publisher closed');
      return;
    }
    // The ledger queues it or drops it at a bound, synchronously (account sees which).
    this.envelopes$.next(envelopeOf(ev, this.opts.namespace, (this.opts.now ?? (() => new Date()))()));
  }

  /** Stop taking events; resolves when every container's queue is delivered or given up. */
  drain(): Promise<void> {
    if (!this.closedInput) {
      this.closedInput = true;
      this.envelopes$.complete();
    }
    return this.drained;
  }

  /** Counts and queue depths now: for the final log line and the state dump. */
  snapshot(): PublisherStats {
    const stats: PublisherStats = { ...this.counts, pending: this.ledger.pending };
    if (this.ledger.depths.size > 0) stats.queues = Object.fromEntries(this.ledger.depths);
    return stats;
  }

  close(): void {
    this.closedInput = true;
    this.conn?.then((c) => c.close(), () => {});
  }

  private account(l: Ledger): void {
    this.ledger = l;
    const step = l.last;
    switch (step?.kind) {
      case 'queued':
        this.counts.published++;
        break;
      case 'dropped':
        this.lose(step.envelope.topic, step.envelope.containerId, step.why);
        break;
      case 'settled': {
        const r = step.result;
        const fields = { topic: r.envelope.topic, id: r.envelope.containerId, attempts: r.attempts };
        if (r.delivered) {
          this.counts.delivered++;
          this.opts.log.debug(fields, 'event forwarded');
        } else {
          this.counts.lost++;
          this.opts.log.error({ ...fields, err: r.error, lost: this.counts.lost }, 'event lost');
        }
        break;
      }
      case 'released':
        this.opts.log.debug({ id: step.containerId }, 'event queue released');
        break;
    }
  }

  private lose(topic: string, id: string, why: string): void {
    this.counts.lost++;
    this.opts.log.error({ topic, id, why, lost: this.counts.lost }, 'event lost');
  }

  private async forwardOnce(env: Envelope): Promise<void> {
    const conn = await this.connection();
    await conn.call(EVENTS_SERVICE, FORWARD_METHOD, forwardRequest(env), {
      timeoutMs: this.opts.callTimeoutMs ?? 5000,
      metadata: { 'containerd-namespace-ttrpc': env.namespace },
    });
  }

  private connection(): Promise<EventsConnection> {
    if (!this.conn) {
      const pending = this.opts.connect().catch((err) => {
        this.conn = undefined;
        throw unavailable(`connect to containerd events: ${err?.message ?? err}`);
      });
      this.conn = pending;
      // A closed connection is dropped so the next try dials again (containerd restarted).
      pending.then((c) => c.closed.finally(() => { if (this.conn === pending) this.conn = undefined; }), () => {});
    }
    return this.conn;
  }
}
