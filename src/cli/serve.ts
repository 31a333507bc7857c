import { constants, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { filter, lastValueFrom, share, Subject } from 'rxjs';
import { createLogger, type Logger } from '../log';
import { serve$ } from '../pipeline';
import { loadAll$, type Registration } from '../plugins';
import { Publisher } from '../publisher/publisher';
import { createExits$ } from '../streams/exits$';
import { createShutdown, type Shutdown } from '../streams/shutdown$';
import { createSignals$ } from '../streams/signals$';
import { Taps } from '../streams/tap';
import { cloexecFrom } from '../sys/cloexec';
import { setChildSubreaper } from '../sys/subreaper';
import { trackNodeChildren } from '../sys/children';
import { peerCred, refuseOtherUser } from '../sys/peercred';
import { stateDump } from '../task/dump';
import { exitAfterStart$, initExitAfterExecExits, type Lifecycle } from '../task/lifecycle$';
import { onIgnoredConfigKey } from '../task/options';
import { TASK_SERVICE, TASK_SERVICE_V3, taskHandlers } from '../task/register';
import { runcRuntime } from '../task/runc-runtime';
import { TaskService } from '../task/service';
import { SANDBOX_SERVICE, sandboxHandlers } from '../sandbox/register';
import { SandboxService } from '../sandbox/service';
import { dial } from '../ttrpc/client';
import { Server } from '../ttrpc/server';
import { ServiceRegistry } from '../ttrpc/services';
import { readAddress, removeSocket } from './address';
import type { Flags } from './flags';
import { VERSION } from './version';

/** The serving process: what containerd talks to for the life of its containers. */
export async function serve(flags: Flags): Promise<void> {
  // First: nothing we inherited beyond stdio (fd 3, our listening socket, included) passes on
  // to the runc, container inits and logging binaries we spawn.
  cloexecFrom(3);
  const bundle = flags.bundle || process.cwd();
  const log = createLogger({ fd: openLogFifo(bundle), debug: flags.debug, bindings: { namespace: flags.namespace, id: flags.id } });
  const taps = new Taps(process.env.RX_TAP, flags.debug, log);
  onIgnoredConfigKey((key, source) => log.warn({ key, source }, 'config key ignored (not one this shim reads)'));

  // Before any child exists: orphans (container inits) re-parent to us, and libuv keeps its own.
  trackNodeChildren();
  setChildSubreaper();

  // Tap before share: one log line per event, however many subscribers.
  const signals$ = createSignals$().pipe(taps.tap('signals'), share());
  const exits$ = createExits$(signals$.pipe(filter((s) => s === 'SIGCHLD'))).pipe(taps.tap('exits'), share());
  // Hold the reaper (and the signal handlers) for the life of the process.
  const reaping = exits$.subscribe();

  const shutdown = createShutdown((msg, err) => log.error({ err: String(err) }, msg));
  const lifecycle$ = new Subject<Lifecycle>();
  const ttrpcAddress = process.env.TTRPC_ADDRESS ?? '';

  const registrations: Registration[] = [
    { type: 'io.containerd.internal.v1', id: 'shutdown', init: () => shutdown },
    {
      type: 'io.containerd.event.v1',
      id: 'publisher',
      init: () =>
        new Publisher({
          namespace: flags.namespace,
          connect: () => dial(ttrpcAddress),
          log: log.child({ plugin: 'publisher' }),
        }),
    },
    {
      type: 'io.containerd.ttrpc.v1',
      id: 'task',
      requires: ['io.containerd.event.v1', 'io.containerd.internal.v1'],
      init: (loaded) => {
        const publisher = loaded.get('io.containerd.event.v1') as Publisher;
        const service = new TaskService({
          namespace: flags.namespace,
          exits$,
          emit: (item) => lifecycle$.next(item),
          runtime: runcRuntime({ namespace: flags.namespace, log }),
          shutdown: loaded.get('io.containerd.internal.v1') as Shutdown,
          log: log.child({ plugin: 'task' }),
          version: VERSION,
        });
        // The ordering rules sit between the service and the publisher.
        exitAfterStart$(lifecycle$.pipe(taps.tap('lifecycle')))
          .pipe(initExitAfterExecExits, taps.tap('events'))
          .subscribe((ev) => publisher.publish(ev));
        return service;
      },
    },
  ];

  const plugins = await lastValueFrom(loadAll$(registrations, log));
  const publisher = plugins.get('io.containerd.event.v1') as Publisher;
  const service = plugins.get('io.containerd.ttrpc.v1') as TaskService;

  // SIGUSR1: the state dump into our log (as the Go shim's stack dump); never Node's inspector.
  signals$.pipe(filter((s) => s === 'SIGUSR1')).subscribe(() => log.info({ dump: stateDump({ service, publisher }) }, 'state dump'));

  const registry = new ServiceRegistry();
  registry.register(TASK_SERVICE, taskHandlers(service));
  registry.register(TASK_SERVICE_V3, taskHandlers(service));
  registry.register(SANDBOX_SERVICE, sandboxHandlers(new SandboxService({ id: flags.id, containers: () => service.size, openConnections: () => server.connectionStats().length, shutdown, log: log.child({ plugin: 'sandbox' }) })));
  const server = new Server(registry, {
    log: (level, msg, fields) => log[level](fields ?? {}, msg),
    // As the Go shim's ttrpc server (UnixSocketRequireSameUser): another user's process is refused.
    peerCheck: (socket) => {
      const why = refuseOtherUser(peerCred(socket));
      if (why) log.warn({ reason: why }, 'ttrpc: connection refused');
      return !why;
    },
  });
  const listener = net.createServer();
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    // containerd's `start` created and bound the socket; we inherit it as fd 3.
    listener.listen({ fd: 3 }, resolve);
  });
  server.serve(listener);
  log.info({ version: VERSION, bundle }, 'serving');

  const outcome = await lastValueFrom(
    serve$({
      signals$,
      shutdownDone$: shutdown.done$,
      stopServing: async () => {
        await server.shutdown();
        // `start` names our socket with -socket: with grouping, the first bundle may be long gone.
        const address = flags.socket || readAddress(bundle);
        if (address) removeSocket(address);
      },
      drainPublisher: () => publisher.drain(),
    }),
  );
  const stats = publisher.snapshot();
  log.info({ ...outcome, ...stats, lost: stats.lost + stats.pending }, 'shim exiting');
  reaping.unsubscribe();
  service.dispose();
  await flushLog(log);
  process.exit(outcome.drain === 'drained' ? 0 : 1);
}

/**
 * containerd opens the bundle's `log` fifo for reading before it starts us and copies what we
 * write into its own log. Non-blocking open: no reader (ENXIO) means log to stderr instead.
 */
function openLogFifo(bundle: string): number {
  try {
    return openSync(path.join(bundle, 'log'), constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return 2;
  }
}

function flushLog(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    log.flush(() => resolve());
    setTimeout(resolve, 200).unref();
  });
}
