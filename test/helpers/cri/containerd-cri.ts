/**
 * A private containerd with its CRI plugin on, the `rx` runtime handler (our shim, found on
 * PATH as containerd-shim-rx-v2) and `runc` (the Go shim), our pause and app images imported
 * into namespace k8s.io, and a CRI client on its socket.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startContainerd, type Containerd } from '../containerd';
import { HOST, hostAt, type Host } from '../host';
import { buildBusyboxImage, importImage } from '../image';
import { CriClient, type Msg } from './client';

/** containerd's CRI namespace (pkg/cri/constants K8sContainerdNamespace). */
export const K8S_NAMESPACE = 'k8s.io';
export const PAUSE_IMAGE = 'docker.io/library/rxpause:latest';
export const APP_IMAGE = 'docker.io/library/rxtest:latest';
/** repo/bin, where the launcher containerd-shim-rx-v2 lives (dist/test/helpers/cri -> repo). */
export const REPO_BIN = path.resolve(__dirname, '../../../../bin');

/** A pause that keeps running and exits at once on SIGTERM/SIGINT (SIGKILL needs no trap). */
const PAUSE_CMD = ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 1; done'];

export interface CriContainerd {
  ctd: Containerd;
  cri: CriClient;
  /** a temp dir of the test's own (CNI dirs, rx.toml, image builds), removed by stop() */
  tmp: string;
  stop(): Promise<void>;
}

/**
 * The CRI part of config.toml for the containerd under test (helpers/host.ts): 1.6's version 2
 * tables all sit under grpc.v1.cri; 2.x splits them into cri.v1.images (snapshotter, the sandbox
 * image as pinned_images.sandbox), cri.v1.runtime (containerd.runtimes, cni,
 * restrict_oom_score_adj) and grpc.v1.cri (the streaming server) — containerd v2.3.7
 * plugins/cri/{images,runtime}/plugin.go configMigration. `rxConfigPath`: our shim's own TOML
 * config, passed to it through runtimeoptions.v1.Options ConfigPath.
 */
export function criConfig(o: { tmp: string; rxConfigPath?: string; host?: Host }): string {
  const cni = path.join(o.tmp, 'cni');
  const host = o.host ?? HOST;
  const { server, runtime, images } = host.cri;
  const v1 = host.configVersion === 2;
  return [
    `[${server}]`,
    // Port 0: several private containerds may run at once; the streaming server is not used.
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    ...(v1 ? [`  sandbox_image = "${PAUSE_IMAGE}"`] : [`[${images}]`, '  snapshotter = "overlayfs"', `[${images}.pinned_images]`, `  sandbox = "${PAUSE_IMAGE}"`]),
    ...(v1 ? [] : [`[${runtime}]`]),
    // CRI gives sandboxes oom_score_adj -998; these machines refuse a negative one to us.
    '  restrict_oom_score_adj = true',
    `[${runtime}.containerd]`,
    ...(v1 ? ['  snapshotter = "overlayfs"'] : []),
    '  default_runtime_name = "runc"',
    `[${runtime}.containerd.runtimes.rx]`,
    '  runtime_type = "io.containerd.rx.v2"',
    ...(o.rxConfigPath
      ? [
          `[${runtime}.containerd.runtimes.rx.options]`,
          // CRI sends a non-runc runtime's options as runtimeoptions.v1.Options (pkg/cri/config).
          '  TypeUrl = "runtimeoptions.v1.Options"',
          `  ConfigPath = "${o.rxConfigPath}"`,
        ]
      : []),
    `[${runtime}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    // Host-network pods need no CNI; empty dirs keep CRI from reading the machine's.
    `[${runtime}.cni]`,
    v1 ? `  bin_dir = "${path.join(cni, 'bin')}"` : `  bin_dirs = ["${path.join(cni, 'bin')}"]`,
    `  conf_dir = "${path.join(cni, 'conf')}"`,
    '',
  ].join('\n');
}

/** `bin`: a directory with the containerd and ctr to use instead of the host's (helpers/host.ts). */
export async function startCriContainerd(o: { name?: string; rxConfigToml?: string; env?: NodeJS.ProcessEnv; bin?: string } = {}): Promise<CriContainerd> {
  // Made before containerd's own dir, since its config names the CNI dirs and our TOML.
  const tmp = mkdtempSync(path.join(os.tmpdir(), `rx-${o.name ?? 'cri'}-tmp-`));
  mkdirSync(path.join(tmp, 'cni/bin'), { recursive: true });
  mkdirSync(path.join(tmp, 'cni/conf'), { recursive: true });
  let rxConfigPath: string | undefined;
  if (o.rxConfigToml !== undefined) {
    rxConfigPath = path.join(tmp, 'rx.toml');
    writeFileSync(rxConfigPath, o.rxConfigToml);
  }
  const ctd = await startContainerd({
    name: o.name ?? 'cri',
    cri: true,
    configExtra: criConfig({ tmp, rxConfigPath, host: o.bin ? hostAt(o.bin) : HOST }),
    bin: o.bin,
    env: { ...o.env, PATH: `${REPO_BIN}:${process.env.PATH}` },
  });
  const cri = new CriClient(ctd.address);
  try {
    const images = path.join(tmp, 'images');
    await importImage(ctd, buildBusyboxImage(path.join(images, 'pause'), PAUSE_IMAGE, PAUSE_CMD), K8S_NAMESPACE);
    await importImage(ctd, buildBusyboxImage(path.join(images, 'app'), APP_IMAGE), K8S_NAMESPACE);
    await waitForCri(cri);
  } catch (err) {
    cri.close();
    await ctd.stop();
    throw err;
  }
  return {
    ctd,
    cri,
    tmp,
    async stop() {
      cri.close();
      await ctd.stop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** CRI answers Version once its plugin has loaded, a little after ctr version does. */
async function waitForCri(cri: CriClient): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 100; i++) {
    try {
      await cri.version();
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`CRI did not answer Version: ${String(last)}`);
}

/** A host-network pod's sandbox config (no CNI needed), logs under `logDir`. */
export function hostNetworkPod(name: string, logDir: string): Msg {
  mkdirSync(logDir, { recursive: true });
  return {
    metadata: { name, uid: `uid-${name}`, namespace: 'default', attempt: 0 },
    // No hostname: a host-network pod shares the node's UTS namespace (kubelet leaves it empty too).
    log_directory: logDir,
    linux: { security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
  };
}

/** A container of APP_IMAGE running `command`, its log at `logPath` (relative to the pod's log dir). */
export function appContainer(name: string, command: string[], logPath?: string): Msg {
  return { metadata: { name, attempt: 0 }, image: { image: APP_IMAGE }, command, log_path: logPath ?? '' };
}

/** The shim binary containerd execs for a CRI handler of ours (runtime_type io.containerd.<h>.v2). */
export const shimBinaryFor = (handler: string) => `containerd-shim-${handler}-v2`;

/**
 * The processes serving the containerd in `dir` whose cmdline names `mark` (a shim binary, or our
 * bundle's name, which starts with it): the cmdline names the mark and the containerd's dir (its
 * -address); the short-lived `start` and `delete` actions are left out.
 */
export function servingPids(mark: string, dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue; // gone
    }
    if (!argv.some((a) => a.includes(mark)) || !argv.some((a) => a.includes(dir))) continue;
    if (['start', 'delete'].includes(argv[argv.length - 1])) continue;
    pids.push(Number(name));
  }
  return pids;
}

/** The processes serving this containerd with the handler's shim (servingPids of its binary). */
export const servingShims = (ctd: Containerd, handler = 'rx'): number[] => servingPids(shimBinaryFor(handler), ctd.dir);
