import { constants, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { filter, lastValueFrom, share } from 'rxjs';
import { within } from '../deadline';
import { createDebug } from '../debug/stage';
import { createLogger, type Logger } from '../log';
import { runtimeName } from './version';
import { shim$ } from '../pipeline';
import { Publisher } from '../publisher/publisher';
import { createExits$ } from '../streams/exits$';
import { createSignals$ } from '../streams/signals$';
import { Taps } from '../streams/tap';
import { cloexecFrom } from '../sys/cloexec';
import { setChildSubreaper } from '../sys/subreaper';
import { trackNodeChildren } from '../sys/children';
import { peerCred, refuseOtherUser } from '../sys/peercred';
import { stateDump } from '../task/dump';
import { onIgnoredConfigKey } from '../runc/options';
import { TASK_SERVICE, TASK_SERVICE_V3, taskHandlers } from '../task/ttrpc-binding';
import { runcRuntime } from '../runc/runtime';
import { TaskService } from '../task/service';
import { groupHandlers } from '../task/joins';
import { GROUP_SERVICE } from './join';
import { SANDBOX_SERVICE, sandboxHandlers } from '../sandbox/ttrpc-binding';
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
  // The debug socket (debug/stage.ts): its hub gets every tapped value, so `debug tap` needs no restart.
  const debug = createDebug({
    address: flags.socket || readAddress(bundle),
    namespace: flags.namespace,
    containerdAddress: flags.address,
    metricsAddress: flags.metricsAddress,
    log: (level, msg, fields) => log[level](fields ?? {}, msg),
  });
  const taps = new Taps(process.env.RX_TAP, flags.debug, log, debug.sink);
  onIgnoredConfigKey((key, source) => log.warn({ key, source }, 'config key ignored (not one this shim reads)'));
  // The launcher's fallback, if it took one (bin/containerd-shim-rx-v2): said here, because
  // containerd reads start's stderr as part of its answer.
  const note = process.env.SHIM_RX_RUNTIME_NOTE;
  if (note) log.warn({ runtime: runtimeName(), reason: note }, 'runtime fallback');
  delete process.env.SHIM_RX_RUNTIME_NOTE;

  // Before any child exists: orphans (container inits) re-parent to us, and libuv keeps its own.
  trackNodeChildren();
  setChildSubreaper();

  // Tap before share: one log line per event, however many subscribers.
  // signals$: the signals the shim handles (streams/signals$.ts); never completes; hot, shared.
  // exits$: every reaped child (streams/exits$.ts), swept on SIGCHLD; never completes; hot, shared.
  const signals$ = createSignals$().pipe(taps.tap('signals'), share());
  const exits$ = createExits$(signals$.pipe(filter((s) => s === 'SIGCHLD'))).pipe(taps.tap('exits'), share());
  const ttrpcAddress = process.env.TTRPC_ADDRESS ?? '';
  // Made with the server, read by the task service's Shutdown (a pod keeps the process alive).
  let sandbox: SandboxService | undefined;

  // The whole serving process is one stream (pipeline.ts shim$); here only its effects.
  const outcome = await lastValueFrom(
    shim$<TaskService>(
      { signals$, exits$ },
      {
        log,
        tap: (name) => taps.tap(name),
        publisher: () => new Publisher({ namespace: flags.namespace, connect: () => dial(ttrpcAddress), log: log.child({ plugin: 'publisher' }) }),
        taskService: ({ shutdown }) =>
          new TaskService({
            namespace: flags.namespace,
            runtime: runcRuntime({ namespace: flags.namespace, log }),
            shutdown,
            log: log.child({ plugin: 'task' }),
            version: VERSION,
            holdsPod: () => sandbox?.holdsPod() ?? false,
          }),
        server: (service, shutdown) => {
          const registry = new ServiceRegistry();
          registry.register(TASK_SERVICE, taskHandlers(service));
          registry.register(TASK_SERVICE_V3, taskHandlers(service));
          registry.register(GROUP_SERVICE, groupHandlers(service.joins));
          sandbox = new SandboxService({ id: flags.id, containers: () => service.size, openConnections: () => server.connectionStats().length, shutdown, log: log.child({ plugin: 'sandbox' }) });
          registry.register(SANDBOX_SERVICE, sandboxHandlers(sandbox));
          const server = new Server(registry, {
            log: (level, msg, fields) => log[level](fields ?? {}, msg),
            // As the Go shim's ttrpc server (UnixSocketRequireSameUser): another user's process is refused.
            peerCheck: (socket) => {
              const why = refuseOtherUser(peerCred(socket));
              if (why) log.warn({ reason: why }, 'ttrpc: connection refused');
              return !why;
            },
            onCall: debug.onCall,
          });
          return server;
        },
        listen: async () => {
          const listener = net.createServer();
          await new Promise<void>((resolve, reject) => {
            listener.once('error', reject);
            // containerd's `start` created and bound the socket; we inherit it as fd 3.
            listener.listen({ fd: 3 }, resolve);
          });
          log.info({ version: VERSION, runtime: runtimeName(), bundle }, 'serving');
          return listener;
        },
        removeSocket: () => {
          // `start` names our socket with -socket: with grouping, the first bundle may be long gone.
          const address = flags.socket || readAddress(bundle);
          if (address) removeSocket(address);
        },
        dump: stateDump,
        debug: debug.stage,
      },
    ),
  );
  const stats = outcome.events;
  // What is still queued at the bound is lost with the process; calls cut off get no answer.
  const lost = { events: stats.lost + stats.pending, calls: outcome.cut.calls };
  log[outcome.outcome === 'done' ? 'info' : 'warn']({ ...outcome, lost }, 'shim exiting');
  await flushLog(log);
  // As the Go shim (pkg/shim/shim.go run): 1 for a failed callback or "shim shutdown timeout".
  process.exit(outcome.outcome === 'done' ? 0 : 1);
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

/** How long the last log lines may take to reach containerd's log fifo before the process exits. */
const LOG_FLUSH_MS = 200;

async function flushLog(log: Logger): Promise<void> {
  await within(new Promise<void>((resolve) => log.flush(() => resolve())), LOG_FLUSH_MS);
}
