/**
 * Request validation for the task service: what a client hands us is checked here, before any
 * state changes, and a bad value is InvalidArgument naming it (Go's shim says Unknown).
 */
import path from 'node:path';
import { invalidArgument } from '../errors';
import type { Any } from '../proto';
import { parseStdioUri } from './io/stdio';

/** The proto-shaped requests and responses (snake_case, as containerd's shim.proto). */
export type Req = Record<string, any>;

/**
 * A path a client hands us that we open, mount onto or give runc: absolute, no `..` segment, no
 * NUL (containerd only ever sends clean absolute paths; anything else is a caller reaching outside
 * the bundle or its state dirs).
 */
export function checkPath(what: string, p: string): void {
  if (typeof p !== 'string' || p.includes('\0') || !path.isAbsolute(p) || p.split('/').includes('..')) {
    throw invalidArgument(`${what} ${JSON.stringify(p)}: must be a clean absolute path`);
  }
}

/** Each stdio that names a path (a fifo, file:// or binary://) names a clean absolute one. */
export function checkStdio(what: string, r: Req): void {
  for (const name of ['stdin', 'stdout', 'stderr'] as const) {
    const value: string = r[name] ?? '';
    if (!value) continue;
    // A URL's own parsing would fold `..` away: look at the raw string too.
    if (value.split(/[/?#]/).includes('..')) throw invalidArgument(`${what}: ${name} ${JSON.stringify(value)}: must be a clean absolute path`);
    // And the path after percent-decoding (`%2e%2e` is `..` too).
    const target = parseStdioUri(value, `${what}: ${name}`);
    if (target.kind !== 'none') checkPath(`${what}: ${name}${target.path === value ? '' : ` ${JSON.stringify(value)} names path`}`, target.path);
  }
}

/** A CreateTaskRequest's id, bundle, stdio and checkpoint path, checked; returns the id. */
export function checkCreate(r: Req): string {
  const id: string = r.id;
  if (!id) throw invalidArgument('create: container id is empty');
  if (!r.bundle || !path.isAbsolute(r.bundle)) {
    throw invalidArgument(`create ${id}: bundle must be an absolute path, got ${JSON.stringify(r.bundle)}`);
  }
  checkPath(`create ${id}: bundle`, r.bundle);
  checkStdio(`create ${id}`, r);
  if (r.checkpoint) checkPath(`create ${id}: checkpoint`, r.checkpoint);
  return id;
}

/** The OCI process spec of an exec: containerd sends it as JSON in an Any (runtime-spec Process). */
export function execSpec(any: Any | undefined, what: string): Record<string, unknown> {
  if (!any || !any.value || any.value.length === 0) throw invalidArgument(`${what}: process spec is missing`);
  try {
    const spec = JSON.parse(Buffer.from(any.value).toString('utf8'));
    if (!spec || typeof spec !== 'object' || !Array.isArray(spec.args) || spec.args.length === 0) {
      throw new Error('expected a runtime-spec Process with non-empty args');
    }
    return spec;
  } catch (err) {
    throw invalidArgument(`${what}: process spec (${any.type_url}) is not a valid OCI process: ${(err as Error).message}`);
  }
}

/** UpdateTaskRequest.resources: OCI LinuxResources as JSON in an Any. */
export function linuxResources(any: Any | undefined, id: string): object {
  try {
    const resources = JSON.parse(Buffer.from(any?.value ?? []).toString('utf8'));
    if (!resources || typeof resources !== 'object' || Array.isArray(resources)) throw new Error('not an object');
    return resources;
  } catch (err) {
    throw invalidArgument(`update ${id}: resources (${any?.type_url || 'none'}) must be OCI LinuxResources as JSON: ${(err as Error).message}`);
  }
}
