/**
 * `containerd-shim-rx-v2 install|uninstall`: loaded only for these actions (dist/install.js),
 * never on containerd's `start`/`delete` paths. Prints what it changed (with `--dry-run`, the
 * diff of what it would change) and that containerd must restart to read it.
 */
import { layout, parseInstallArgs } from './args';
import { containerdVersion, planInstall } from './install';
import { self } from './self';
import { applyAll, describe, diffOf, type Step } from './steps';
import { planUninstall } from './uninstall';

function report(steps: Step[], notes: string[], dryRun: boolean, out: (s: string) => void): void {
  for (const s of steps) {
    out(`  ${describe(s, dryRun)}\n`);
    if (dryRun) out(diffOf(s));
  }
  for (const n of notes) out(`  note: ${n}\n`);
}

export function installMain(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): void {
  const a = parseInstallArgs(argv);
  let steps: Step[];
  let notes: string[];
  if (a.action === 'install') {
    const version = containerdVersion(a.containerd);
    out(`containerd-shim-rx-v2 install: containerd ${version} (${a.containerd}), its ${Number(version.split('.')[0]) < 2 ? '1.6' : '2.x'} config form${a.dryRun ? ', dry run: nothing is changed' : ''}\n`);
    ({ steps, notes } = planInstall(a, version, self()));
  } else {
    const plan = planUninstall(a);
    if (!plan) {
      out(`containerd-shim-rx-v2 uninstall: nothing to undo (no record of an install at ${layout(a).record})\n`);
      return;
    }
    out(`containerd-shim-rx-v2 uninstall${a.dryRun ? ', dry run: nothing is changed' : ''}\n`);
    ({ steps, notes } = plan);
  }
  if (!a.dryRun) applyAll(steps);
  report(steps, notes, a.dryRun, out);
  const L = layout(a);
  const read = new Set([a.containerdConfig, L.dropIn, L.optionsFile]);
  const touched = steps.some((s) => (s.kind === 'write' || s.kind === 'remove') && read.has(s.path));
  if (steps.length === 0) out('  no change: already installed\n');
  else if (touched) out(`${a.dryRun ? 'After that, r' : 'R'}estart containerd to read it (systemctl restart containerd); running containers keep their shims.\n`);
  else out('  containerd needs no restart (its config is unchanged); new containers use the new executable.\n');
}
