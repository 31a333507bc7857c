import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { invalidArgument, ShimError } from '../errors';
import { decode, type Any } from '../proto';
import type { CreateOpts, Runc } from './runc';

/** containerd.runc.v1.CheckpointOptions (runtime/v2/runc/options/oci.proto). */
export interface CheckpointOptions {
  exit: boolean;
  open_tcp: boolean;
  external_unix_sockets: boolean;
  terminal: boolean;
  file_locks: boolean;
  empty_namespaces: string[];
  cgroups_mode: string;
  image_path: string;
  work_path: string;
}

const CHECKPOINT_OPTIONS = 'containerd.runc.v1.CheckpointOptions';

/** Checkpoint's options from the request's Any; none given is the defaults. */
export function checkpointOptions(any: Any | undefined): CheckpointOptions {
  if (!any || !any.value || any.value.length === 0) return decode<CheckpointOptions>(CHECKPOINT_OPTIONS, Buffer.alloc(0));
  if (any.type_url.replace(/^.*\//, '') !== CHECKPOINT_OPTIONS) {
    throw invalidArgument(`checkpoint options of type ${JSON.stringify(any.type_url)}: expected ${CHECKPOINT_OPTIONS}`);
  }
  try {
    return decode<CheckpointOptions>(CHECKPOINT_OPTIONS, any.value);
  } catch (err) {
    throw invalidArgument(`checkpoint options: not a valid ${CHECKPOINT_OPTIONS} message: ${(err as Error).message}`);
  }
}

/** runc checkpoint into `imagePath`; a failure carries criu's own words and keeps its log beside the bundle. */
export async function checkpoint(runc: Runc, id: string, bundle: string, imagePath: string, o: CheckpointOptions, signal?: AbortSignal): Promise<void> {
  const work = o.work_path || path.join(bundle, 'criu-work');
  try {
    await runc.checkpoint(id, {
      imagePath,
      workPath: work,
      leaveRunning: !o.exit,
      tcpEstablished: o.open_tcp,
      extUnixSockets: o.external_unix_sockets,
      shellJob: o.terminal,
      fileLocks: o.file_locks,
      cgroupsMode: o.cgroups_mode,
      emptyNamespaces: o.empty_namespaces,
    }, signal);
  } catch (err) {
    // As the Go shim: keep criu's log beside the bundle and name it; its errors are criu's words.
    const dumpLog = path.join(bundle, 'criu-dump.log');
    const criu = await readFile(path.join(work, 'dump.log'), 'utf8').catch(() => '');
    if (criu) await writeFile(dumpLog, criu).catch(() => undefined);
    const words = criuErrors(criu);
    throw wrap(err, `${words ? `criu: ${words}; ` : ''}path= ${dumpLog}`);
  } finally {
    if (!o.work_path) await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** runc restore of a checkpoint image (a checkpointed Create's Start); a failure carries criu's words. */
export async function restore(runc: Runc, id: string, bundle: string, imagePath: string, o: CreateOpts, signal?: AbortSignal): Promise<void> {
  const work = path.join(bundle, 'criu-work');
  try {
    await runc.restore(id, bundle, { ...o, imagePath, workPath: work }, signal);
  } catch (err) {
    const criu = await readFile(path.join(work, 'restore.log'), 'utf8').catch(() => '');
    const words = criuErrors(criu);
    throw wrap(err, words ? `criu: ${words}` : '');
  }
}

/** The last error lines of a criu log, joined: criu's own reasons. */
function criuErrors(log: string): string {
  return log.split('\n').filter((l) => /Error/.test(l)).slice(-3).map((l) => l.trim()).join('; ');
}

/** The same error kind, with more words: criu's reasons reach ctr intact. */
function wrap(err: unknown, more: string): ShimError {
  if (err instanceof ShimError) return new ShimError(err.kind, more ? `${err.message}: ${more}` : err.message, err);
  return new ShimError('Unknown', `${String((err as Error)?.message ?? err)}${more ? ': ' + more : ''}`, err);
}
