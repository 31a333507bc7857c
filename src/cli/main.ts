/**
 * Entry point. Each path loads only what it uses: `-v`, `start` and `delete` run once per
 * container on containerd's critical path, so they never load RxJS, pino or the task service.
 */
import type { Flags } from './flags';

// First, before any module loads: with a SIGUSR1 listener Node never opens its inspector
// (127.0.0.1:9229) on SIGUSR1 (the launcher is a shell script: this is the first JavaScript to run).
// Here SIGUSR1 is ignored; the serving process dumps its state on it (signals$).
process.on('SIGUSR1', () => {});
// A require, not an import: the bundle would hoist an import above the listener.
const { parseFlags, UsageError } = require('./flags') as typeof import('./flags');

function fail(message: string): never {
  process.stderr.write(`containerd-shim-rx-v2: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  // `debug` is for people at a shell, never containerd: its own module and bundle file (cli/debug.ts).
  if (process.argv[2] === 'debug') {
    try {
      return await (require('./debug') as typeof import('./debug')).debugAction(process.argv.slice(3));
    } catch (err) {
      if (err instanceof UsageError) fail(err.message);
      throw err;
    }
  }
  // The node installer: a first argument containerd never passes (its flags come first).
  const first = process.argv[2];
  if (first === 'install' || first === 'uninstall') {
    try {
      return (require('./install') as typeof import('./install')).installMain(process.argv.slice(2));
    } catch (err) {
      fail(`${first}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  let flags: Flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) fail(err.message);
    throw err;
  }
  if (flags.version) {
    const { NAME, versionText } = require('./version') as typeof import('./version');
    process.stdout.write(versionText(NAME));
    return;
  }
  // containerd runs `<shim> -info` with no other flag (core/runtime/v2/task_manager.go getRuntimeInfo).
  if (flags.info) return (require('./info') as typeof import('./info')).info();
  if (!flags.namespace) fail('shim namespace cannot be empty: pass -namespace <name>');
  switch (flags.action) {
    case 'start':
      return (require('./start') as typeof import('./start')).start(flags);
    case 'delete':
      return (require('./delete') as typeof import('./delete')).deleteAction(flags);
    default:
      return (require('./serve') as typeof import('./serve')).serve(flags);
  }
}

main().catch((err) => fail(err instanceof Error ? err.message : String(err)));
