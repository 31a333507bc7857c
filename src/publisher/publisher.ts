import { Observable, Subject, share, tap, lastValueFrom, defaultIfEmpty } from 'rxjs';
import { unavailable } from '../errors';
import type { Logger } from '../log';
import { envelopeOf, EVENTS_SERVICE, FORWARD_METHOD, forwardRequest, type Envelope, type TaskEvent } from './envelope';
import { forward$, type ForwardResult } from './forward$';

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
  /** Events waiting beyond this many are dropped and counted as lost. */
  maxQueue?: number;
  retries?: number;
  backoff?: (attempt: number) => number;
  callTimeoutMs?: number;
  now?: () => Date;
}

export interface PublisherStats {
  published: number;
  delivered: number;
  lost: number;
  pending: number;
}

/**
 * The event publisher: a bounded, ordered queue to containerd's Events/Forward with bounded
 * retries and back-off; the connection is dialled lazily and dialled again after it closes.
 */
export class Publisher {
  private readonly input = new Subject<Envelope>();
  private conn?: Promise<EventsConnection>;
  private readonly stats: PublisherStats = { published: 0, delivered: 0, lost: 0, pending: 0 };
  private closedInput = false;
  /** results$: one ForwardResult per event, in order; completes when drained after close. Hot. */
  readonly results$: Observable<ForwardResult>;
  private readonly drained: Promise<void>;

  constructor(private readonly opts: PublisherOptions) {
    const backoff = opts.backoff ?? ((n: number) => Math.min(100 * 2 ** (n - 1), 5000));
    this.results$ = forward$(this.input, {
      forward: (env) => this.forwardOnce(env),
      retries: opts.retries ?? 10,
      backoff,
    }).pipe(
      tap((r) => this.account(r)),
      share(),
    );
    this.drained = lastValueFrom(this.results$.pipe(defaultIfEmpty(undefined))).then(() => undefined);
  }

  publish(ev: TaskEvent): void {
    if (this.closedInput) {
      this.lose(ev.topic, 'publisher closed');
      return;
    }
    if (this.stats.pending >= (this.opts.maxQueue ?? 2048)) {
      this.lose(ev.topic, 'queue full');
      return;
    }
    this.stats.published++;
    this.stats.pending++;
    this.input.next(envelopeOf(ev, this.opts.namespace, (this.opts.now ?? (() => new Date()))()));
  }

  /** Stop taking events; resolves when every queued event is delivered or given up. */
  drain(): Promise<void> {
    if (!this.closedInput) {
      this.closedInput = true;
      this.input.complete();
    }
    return this.drained;
  }

  /** Counts, and what is still queued counted as lost: for the final log line. */
  snapshot(): PublisherStats {
    return { ...this.stats };
  }

  close(): void {
    this.closedInput = true;
    this.conn?.then((c) => c.close(), () => {});
  }

  private account(r: ForwardResult): void {
    this.stats.pending--;
    if (r.delivered) {
      this.stats.delivered++;
      this.opts.log.debug({ topic: r.envelope.topic, id: r.envelope.containerId, attempts: r.attempts }, 'event forwarded');
    } else {
      this.stats.lost++;
      this.opts.log.error({ topic: r.envelope.topic, id: r.envelope.containerId, attempts: r.attempts, err: r.error, lost: this.stats.lost }, 'event lost');
    }
  }

  private lose(topic: string, why: string): void {
    this.stats.lost++;
    this.opts.log.error({ topic, why, lost: this.stats.lost }, 'event lost');
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
