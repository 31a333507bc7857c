/**
 * `-info`: print a containerd.types.RuntimeInfo (api@v1.11.1 types/introspection.proto) on stdout,
 * as containerd 2.x reads it: core/runtime/v2/task_manager.go getRuntimeInfo runs `<shim> -info`
 * with the runtime options Any (or nothing) on stdin and proto-decodes stdout, for
 * `ctr plugins inspect-runtime`, CRI's start-up introspection and loadShimInfo before a Create.
 * Filled as the Go runc shim's manager Info (cmd/containerd-shim-runc-v2/manager): name, version,
 * the options it was given, and `runc features` as the OCI features document; no annotations
 * (containerd.io/runtime-allow-mounts would take mount types away from containerd's mount manager).
 * Hand-encoded (proto/wire.ts); protobufjs is loaded only to read options when some are given.
 */
import { spawn } from 'node:child_process';
import { readStdin } from './stdin';
import { VERSION, revision } from './version';
import { Writer } from '../proto/wire';

/** The runtime name containerd maps to our binary (containerd-shim-rx-v2), as README documents. */
export const RUNTIME_NAME = 'io.containerd.rx.v2';

/**
 * The type URL containerd registers for the OCI features document (core/runtime/typeurl.go:
 * prefix types.containerd.io, opencontainers/runtime-spec, spec major 1, features, Features);
 * typeurl carries a non-proto type as JSON.
 */
export const FEATURES_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/features/Features';

export function encodeRuntimeInfo(o: { name: string; version: string; revision: string; options: Buffer; features: Buffer | null }): Buffer {
  const w = new Writer()
    .bytes(1, o.name)
    .message(2, new Writer().bytes(1, o.version).bytes(2, o.revision).finish());
  if (o.options.length > 0) w.message(3, o.options);
  if (o.features) w.message(4, new Writer().bytes(1, FEATURES_TYPE_URL).bytes(2, o.features).finish());
  return w.finish();
}

/** `<runc> features` once, compacted; null when the runtime has no such command (older runc, youki) or fails. */
export function runtimeFeatures(binary: string, timeoutMs = 5000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    // SIGKILLed at the bound by spawn itself (no RxJS on this path for deadline.ts).
    const child = spawn(binary, ['features'], { stdio: ['ignore', 'pipe', 'ignore'], signal: AbortSignal.timeout(timeoutMs), killSignal: 'SIGKILL' });
    child.stdout!.on('data', (d: Buffer) => chunks.push(d));
    child.once('error', () => resolve(null));
    child.once('close', (code) => {
      if (code !== 0) return resolve(null);
      try {
        resolve(Buffer.from(JSON.stringify(JSON.parse(Buffer.concat(chunks).toString('utf8')))));
      } catch {
        resolve(null);
      }
    });
  });
}

/** The runc binary the options name (binary_name, directly or in our TOML), else runc from PATH. */
function binaryFrom(options: Buffer): string {
  if (options.length === 0) return 'runc';
  const { decodeStartOptions } = require('./runtime-options') as typeof import('./runtime-options');
  let binary: string;
  try {
    binary = decodeStartOptions(options).runc.binary_name;
  } catch (err) {
    // As the Go shim: options it cannot read are an error, not silently other options.
    throw new Error(`-info: failed to read runtime options from stdin: ${(err as Error).message}`);
  }
  return binary || 'runc';
}

export async function info(): Promise<void> {
  const options = await readStdin();
  const features = await runtimeFeatures(binaryFrom(options));
  process.stdout.write(encodeRuntimeInfo({ name: RUNTIME_NAME, version: VERSION, revision: revision(), options, features }));
}
