import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The containerd under test, chosen in this one place by RX_CONTAINERD (2.3, the first-class
 * host, by default; or 1.6): its binary, the ctr every helper runs, the directory containerd must
 * find its own containerd-shim-runc-v2 in (first on its PATH), and its config format.
 */
export type HostName = '2.3' | '1.6';

export interface Host {
  name: HostName;
  containerd: string;
  ctr: string;
  /** put first on containerd's PATH: the Go shim of the same version is what it runs for runc */
  binDir: string;
  /** config.toml `version`: 2 for 1.6; 3 for 2.x (2.3's own is 4; the 3 -> 4 migration touches
   * only the restart monitor and shim manager tables, which we do not set) */
  configVersion: 2 | 3;
  /** the TOML table names of the CRI settings (1.6: all under grpc.v1.cri; 2.x: split, see
   * containerd v2.3.7 plugins/cri/{cri.go,runtime/plugin.go,images/plugin.go} configMigration) */
  cri: { server: string; runtime: string; images: string };
  /** plugins to leave out when a test needs no CRI: the CRI plugins and those that need them (they start CNI and image services and take seconds) */
  disabledWithoutCri: string[];
  /** plugins left out always: 2.x's NRI listens on the machine-wide /var/run/nri/nri.sock */
  disabledAlways: string[];
  /**
   * What containerd does, on coming back, with a task that exited while it was down (seen with
   * the Go shim, the reference). 1.6 reloads it as STOPPED with its exit status, for `ctr task
   * delete` to collect. 2.x drops it: loadShim finds no pids in a shim of no sandbox, so it
   * deletes the task through the shim, shuts the shim down and removes the bundle, publishing
   * no event (v2.3.7 core/runtime/v2/shim_load.go loadShim, shouldCleanupShim, cleanupShimTask).
   */
  dropsTaskExitedWhileDown: boolean;
}

/** Where scripts/install-deps.sh builds containerd 2.3.7, ctr and containerd-shim-runc-v2. */
export const CONTAINERD_CACHE = process.env.RX_CONTAINERD_CACHE || '/var/cache/containerd-shim-rx';
export const CONTAINERD_2_3 = '2.3.7';

function hostNamed(name: string): Host {
  if (name === '1.6') {
    // Debian's containerd 1.6 and its Go shim, in /usr/bin.
    const cri = 'plugins."io.containerd.grpc.v1.cri"';
    return {
      name,
      containerd: '/usr/bin/containerd',
      ctr: '/usr/bin/ctr',
      binDir: '/usr/bin',
      configVersion: 2,
      cri: { server: cri, runtime: cri, images: cri },
      disabledWithoutCri: ['io.containerd.grpc.v1.cri'],
      disabledAlways: [],
      dropsTaskExitedWhileDown: false,
    };
  }
  if (name === '2.3') {
    const dir = path.join(CONTAINERD_CACHE, `containerd-v${CONTAINERD_2_3}`);
    const host: Host = {
      name,
      containerd: path.join(dir, 'containerd'),
      ctr: path.join(dir, 'ctr'),
      binDir: dir,
      configVersion: 3,
      cri: { server: 'plugins."io.containerd.grpc.v1.cri"', runtime: 'plugins."io.containerd.cri.v1.runtime"', images: 'plugins."io.containerd.cri.v1.images"' },
      disabledWithoutCri: ['io.containerd.grpc.v1.cri', 'io.containerd.cri.v1.runtime', 'io.containerd.cri.v1.images', 'io.containerd.podsandbox.controller.v1.podsandbox'],
      disabledAlways: ['io.containerd.nri.v1.nri'],
      dropsTaskExitedWhileDown: true,
    };
    return host;
  }
  throw new Error(`RX_CONTAINERD=${name}: expected "2.3" or "1.6"`);
}

function choose(): Host {
  const host = hostNamed(process.env.RX_CONTAINERD || '2.3');
  for (const bin of [host.containerd, host.ctr, path.join(host.binDir, 'containerd-shim-runc-v2')]) {
    if (!existsSync(bin)) throw new Error(`RX_CONTAINERD=${host.name}: ${bin} is missing; run scripts/install-deps.sh (it builds containerd ${CONTAINERD_2_3} into ${path.join(CONTAINERD_CACHE, `containerd-v${CONTAINERD_2_3}`)})`);
  }
  return host;
}

export const HOST: Host = choose();

/**
 * ctr's environment: ctr 2.x prints containerd's deprecation warnings on stderr before each
 * command (cmd/ctr/commands/client.go: on this cgroup v1 machine, CgroupV1), which would mix into
 * a container's stderr; this variable is ctr's own switch for them. 1.6 ignores it.
 */
export const CTR_ENV: NodeJS.ProcessEnv = { ...process.env, CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS: '1' };

/** `containerd --version`'s version field (e.g. 2.3.7+unknown, 1.6.20~ds1). */
export const versionOf = (containerd: string): string => execFileSync(containerd, ['--version']).toString().trim().split(/\s+/)[2] ?? 'unknown';

let version: string | undefined;
export function hostVersion(): string {
  version ??= versionOf(HOST.containerd);
  return version;
}

/**
 * The host of a containerd and ctr in directory `bin` instead of HOST's (a test that names its
 * own), shaped by what that containerd says it is: 1.x as 1.6, else as 2.3.
 */
export function hostAt(bin: string): Host {
  const containerd = path.join(bin, 'containerd');
  const shape = hostNamed(versionOf(containerd).startsWith('1.') ? '1.6' : '2.3');
  return { ...shape, containerd, ctr: path.join(bin, 'ctr'), binDir: bin };
}

const announced = new Set<string>();
/** Prints `containerd <version> (<binary>)` once per test file and binary (the test runner shows it as a `# ` diagnostic line). */
export function announceHost(host: Host = HOST): void {
  if (announced.has(host.containerd)) return;
  announced.add(host.containerd);
  const v = host === HOST ? hostVersion() : versionOf(host.containerd);
  console.log(`containerd ${v} (RX_CONTAINERD=${HOST.name}${host === HOST ? '' : `, this file's own`}: ${host.containerd})`);
}
