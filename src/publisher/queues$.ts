import { concat, connect, defer, endWith, filter, groupBy, ignoreElements, map, merge, mergeMap, Observable, of, scan, share, Subject, takeWhile, tap } from 'rxjs';
import type { Envelope } from './envelope';
import { forward$, type ForwardDeps } from './forward$';
import { book, emptyLedger, releases, type Bounds, type Entry, type Ledger } from './ledger';

export type QueuesDeps = ForwardDeps & Bounds;

/**
 * containerQueues$: one ordered queue per container (groupBy task id, forward$ in each), so one
 * container's failing event never delays another's. Emits a 'settle' entry per event forwarded
 * or given up, and a 'release' entry when a container's queue is torn down: its group ends when
 * the ledger says its TaskDelete settled with nothing behind it (a reused id then starts a new
 * group, which cannot overtake the old one: the old one is empty). Completes after ledger$ does
 * and every queue has settled. Hot: it rides on ledger$.
 */
const containerQueues$ = (ledger$: Observable<Ledger>, deps: ForwardDeps): Observable<Entry> => {
  // releasing$: the ledger after each step that releases a queue; completes with ledger$; hot
  // (shared). Only these reach the groups' duration selectors, so an event that releases
  // nothing costs one check, and a release one per live queue, not every event.
  const releasing$ = ledger$.pipe(filter((l) => l.last?.kind === 'settled' && l.last.release), share());
  return ledger$.pipe(
    map((l) => l.last),
    filter((step) => step?.kind === 'queued'),
    map((step) => (step as { envelope: Envelope }).envelope),
    groupBy((env) => env.containerId, { duration: (group) => releasing$.pipe(filter((l) => releases(l.last, group.key))) }),
    mergeMap((group) =>
      concat(
        forward$(group, deps).pipe(map((result): Entry => ({ kind: 'settle', result }))),
        of<Entry>({ kind: 'release', containerId: group.key }),
      ),
    ),
  );
};

/**
 * queues$: the publisher's queues. Emits the ledger after each envelope is queued or dropped at a
 * bound, after each event settles (delivered or given up) and after each container's queue is
 * released. Completes when envelopes$ has completed and every queue is empty: the drain. Cold:
 * each subscription has its own queues.
 */
export const queues$ = (envelopes$: Observable<Envelope>, deps: QueuesDeps): Observable<Ledger> =>
  defer(() => {
    // reports$: what the queues report back to the ledger (settled events, released queues);
    // never completes, the ledger ends itself on the drain. Hot (a Subject).
    const reports$ = new Subject<Entry>();
    return merge(
      envelopes$.pipe(
        map((envelope): Entry => ({ kind: 'enter', envelope })),
        endWith<Entry>({ kind: 'close' }),
      ),
      reports$,
    ).pipe(
      scan(book(deps), emptyLedger()),
      takeWhile((l) => !(l.closed && l.pending === 0), true),
      // ledger$: the ledger multicast to the output and the queues; hot. The output subscribes
      // first, so it sees an event queued before it settles.
      connect((ledger$) => merge(ledger$, containerQueues$(ledger$, deps).pipe(tap((e) => reports$.next(e)), ignoreElements()))),
    );
  });
