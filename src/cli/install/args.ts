/**
 * `containerd-shim-rx-v2 install|uninstall [flags]`: the node installer's flags. The first
 * argument names the action, so containerd's own calls (flags first, `start`/`delete` last)
 * never reach here.
 */
import path from 'node:path';

export interface InstallArgs {
  action: 'install' | 'uninstall';
  /** the executable goes to <prefix>/bin, the record of what was done to <prefix>/share/containerd-shim-rx */
  prefix: string;
  /** containerd's main config; the drop-in goes to conf.d/ beside it */
  containerdConfig: string;
  /** the CRI runtime handler (the RuntimeClass's `handler`) */
  handler: string;
  /** print what would change, as a diff, and change nothing */
  dryRun: boolean;
  /** the containerd whose `--version` decides the drop-in's form */
  containerd: string;
}

export const INSTALL_USAGE = `usage: containerd-shim-rx-v2 install|uninstall [--prefix /usr/local] [--containerd-config /etc/containerd/config.toml] [--handler rx] [--containerd containerd] [--dry-run]`;

const valued: Record<string, keyof InstallArgs> = { prefix: 'prefix', 'containerd-config': 'containerdConfig', handler: 'handler', containerd: 'containerd' };

export function parseInstallArgs(argv: string[]): InstallArgs {
  const [action, ...rest] = argv;
  if (action !== 'install' && action !== 'uninstall') throw new Error(`expected install or uninstall, got ${JSON.stringify(action)}\n${INSTALL_USAGE}`);
  const args: InstallArgs = { action, prefix: '/usr/local', containerdConfig: '/etc/containerd/config.toml', handler: 'rx', dryRun: false, containerd: 'containerd' };
  for (let i = 0; i < rest.length; i++) {
    const m = /^--?([a-z-]+)(?:=(.*))?$/s.exec(rest[i]);
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(rest[i])}\n${INSTALL_USAGE}`);
    const [, name, inline] = m;
    if (name === 'dry-run' && inline === undefined) {
      args.dryRun = true;
      continue;
    }
    const field = valued[name];
    if (!field) throw new Error(`unknown flag --${name}\n${INSTALL_USAGE}`);
    const value = inline ?? rest[++i];
    if (value === undefined || value === '') throw new Error(`flag --${name} needs a value\n${INSTALL_USAGE}`);
    (args as unknown as Record<string, string>)[field] = value;
  }
  // A TOML bare key (it becomes a table name unquoted) and a file name.
  if (!/^[A-Za-z0-9_-]+$/.test(args.handler)) throw new Error(`--handler ${JSON.stringify(args.handler)}: letters, digits, '-' and '_' only`);
  args.prefix = path.resolve(args.prefix);
  args.containerdConfig = path.resolve(args.containerdConfig);
  return args;
}

/** Where each file goes, from the flags. */
export function layout(a: InstallArgs) {
  const configDir = path.dirname(a.containerdConfig);
  return {
    binary: path.join(a.prefix, 'bin', 'containerd-shim-rx-v2'),
    record: path.join(a.prefix, 'share', 'containerd-shim-rx', 'install.json'),
    dropIn: path.join(configDir, 'conf.d', `${a.handler}.toml`),
    optionsFile: path.join(configDir, 'containerd-shim-rx.toml'),
  };
}
