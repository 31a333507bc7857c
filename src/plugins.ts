import { catchError, concatMap, defer, from, map, Observable, of, tap, throwError, toArray } from 'rxjs';
import type { Logger } from './log';

/** Thrown (or returned) by a plugin's init to ask to be skipped, as containerd's plugin.ErrSkipPlugin. */
export class SkipPlugin extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SkipPlugin';
  }
}

export class PluginLoadError extends Error {
  constructor(readonly plugin: string, readonly reason: unknown) {
    super(`failed to load plugin ${plugin}: ${(reason as Error)?.message ?? reason}`);
    this.name = 'PluginLoadError';
  }
}

export interface Registration<T = unknown> {
  type: string;
  id: string;
  /** Types that must be loaded before this one. */
  requires?: string[];
  init(loaded: Map<string, unknown>): T | Promise<T>;
}

export type PluginResult = { uri: string; type: string; instance: unknown } | { uri: string; type: string; skipped: string };

export const uriOf = (r: Registration) => `${r.type}.${r.id}`;

/** Registrations in dependency order (stable: ties keep registration order); a cycle or a missing type is an error. */
export function dependencyOrder(regs: Registration[]): Registration[] {
  const ordered: Registration[] = [];
  const placed = new Set<Registration>();
  const visiting = new Set<Registration>();
  const visit = (r: Registration) => {
    if (placed.has(r)) return;
    if (visiting.has(r)) throw new PluginLoadError(uriOf(r), 'dependency cycle');
    visiting.add(r);
    for (const type of r.requires ?? []) {
      const deps = regs.filter((d) => d.type === type);
      if (deps.length === 0) throw new PluginLoadError(uriOf(r), `requires ${type}, which no plugin provides`);
      deps.forEach(visit);
    }
    visiting.delete(r);
    placed.add(r);
    ordered.push(r);
  };
  regs.forEach(visit);
  return ordered;
}

/**
 * pluginLoads$: one result per plugin, loaded one after another in dependency order; a plugin
 * that asks to be skipped is reported as skipped; a failed load errors the stream with the
 * plugin's name (start-up stops). Completes after the last plugin; cold.
 */
export const pluginLoads$ = (regs: Registration[], log: Logger): Observable<PluginResult> =>
  defer(() => {
    const loaded = new Map<string, unknown>();
    return from(dependencyOrder(regs)).pipe(
      tap((r) => log.info({ type: r.type, plugin: uriOf(r) }, `loading plugin ${uriOf(r)}`)),
      concatMap((r) =>
        defer(async () => r.init(loaded)).pipe(
          map((instance): PluginResult => ({ uri: uriOf(r), type: r.type, instance })),
          catchError((err) =>
            err instanceof SkipPlugin
              ? of<PluginResult>({ uri: uriOf(r), type: r.type, skipped: err.message })
              : throwError(() => new PluginLoadError(uriOf(r), err)),
          ),
        ),
      ),
      tap((res) => {
        if ('instance' in res) loaded.set(res.type, res.instance);
        else log.info({ type: res.type, plugin: res.uri, reason: res.skipped }, `skip loading plugin ${res.uri}`);
      }),
    );
  });

/**
 * loadAll$: every plugin loaded (pluginLoads$); emits once, the loaded instances by type, and
 * completes; errors as pluginLoads$ does (a failed load). Cold: each subscription loads them.
 */
export const loadAll$ = (regs: Registration[], log: Logger): Observable<Map<string, unknown>> =>
  pluginLoads$(regs, log).pipe(
    toArray(),
    map((results) => {
      const byType = new Map<string, unknown>();
      for (const r of results) if ('instance' in r) byType.set(r.type, r.instance);
      return byType;
    }),
  );
