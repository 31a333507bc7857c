/**
 * The debug hub: where the pipeline's taps and the ttrpc server's calls meet the debug
 * socket's watchers. A value is turned into a DebugEvent only while someone watches its
 * stream, so an unwatched shim pays one counter look-up per value.
 */
import { defer, filter, finalize, type Observable, Subject } from 'rxjs';
import { printable } from '../streams/tap';
import type { DebugEvent, StreamName } from './protocol';

/** Whose value this is: a container id, or '' for a value of the whole process (a signal). */
export type Attribute = (stream: StreamName, value: unknown) => string;

export class DebugHub {
  /** tapped$: every value the taps sink while some stream is watched; never completes; hot (a Subject). */
  private readonly tapped$ = new Subject<DebugEvent>();
  private readonly watching = new Map<StreamName, number>();
  /** Set once the task service exists: exits carry only a pid, the service knows its container. */
  attribute: Attribute = defaultAttribute;

  constructor(private readonly now: () => number = Date.now) {}

  /** Someone watches `stream` now. */
  watched(stream: StreamName): boolean {
    return (this.watching.get(stream) ?? 0) > 0;
  }

  /** A value of `stream` happened: passed on to its watchers, if any. */
  record(stream: StreamName, value: unknown): void {
    if (!this.watched(stream)) return;
    let id = '';
    try {
      id = this.attribute(stream, value);
    } catch {
      // A failing look-up must not break the stream it taps.
    }
    this.tapped$.next({ t: this.now(), stream, id, value: printable(value) });
  }

  /**
   * watch$(streams, id): the values of those streams from now on (of container `id` and of none,
   * when given); never completes; hot. Counts as watching while subscribed.
   */
  watch$(streams: readonly StreamName[], id?: string): Observable<DebugEvent> {
    return defer(() => {
      for (const s of streams) this.watching.set(s, (this.watching.get(s) ?? 0) + 1);
      return this.tapped$.pipe(
        filter((e) => streams.includes(e.stream) && (!id || e.id === '' || e.id === id)),
        finalize(() => {
          for (const s of streams) this.watching.set(s, (this.watching.get(s) ?? 1) - 1);
        }),
      );
    });
  }
}

/** Lifecycle items and task events name their container; calls carry the id we decoded. */
export function defaultAttribute(stream: StreamName, value: unknown): string {
  const v = value as { containerId?: unknown; event?: { containerId?: unknown }; id?: unknown } | null;
  if (!v || typeof v !== 'object') return '';
  if (stream === 'events' && typeof v.containerId === 'string') return v.containerId;
  if (stream === 'lifecycle') {
    if (typeof v.event?.containerId === 'string') return v.event.containerId;
    // a release or an exec's delete names only its process (ordering/lifecycle.ts ProcessRef)
    const process = (v as { process?: { containerId?: unknown } }).process;
    if (typeof process?.containerId === 'string') return process.containerId;
  }
  if (stream === 'calls' && typeof v.id === 'string') return v.id;
  return '';
}
