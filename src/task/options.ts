import { readFileSync } from 'node:fs';
import { decode, decode as decodeProto, type Any } from '../proto';
import { invalidArgument } from '../errors';

/** containerd.runc.v1.Options (runtime/v2/runc/options/oci.proto), as far as we honour it. */
export interface RuncOptions {
  no_pivot_root: boolean;
  no_new_keyring: boolean;
  shim_cgroup: string;
  io_uid: number;
  io_gid: number;
  binary_name: string;
  root: string;
  criu_path: string;
  systemd_cgroup: boolean;
  criu_image_path: string;
  criu_work_path: string;
}

export type Grouping = 'pod' | 'namespace';

/** Our own TOML config (runtimeoptions.v1.Options ConfigPath / ConfigBody). */
export interface ShimConfig {
  /** pod (default): one shim per container outside Kubernetes, per pod inside; namespace: one per namespace. */
  grouping: Grouping;
  runc: RuncOptions;
}

export const RUNC_OPTIONS_TYPE = 'containerd.runc.v1.Options';
export const RUNTIME_OPTIONS_TYPE = 'runtimeoptions.v1.Options';

const defaults = (): RuncOptions => decode<RuncOptions>(RUNC_OPTIONS_TYPE, Buffer.alloc(0));

/** TOML key (our snake_case, or containerd's Go field name) -> option and its type. */
const runcKeys: Record<string, [keyof RuncOptions, 'string' | 'boolean' | 'number']> = {};
for (const [name, type] of Object.entries({
  no_pivot_root: 'boolean', no_new_keyring: 'boolean', shim_cgroup: 'string', io_uid: 'number', io_gid: 'number',
  binary_name: 'string', root: 'string', criu_path: 'string', systemd_cgroup: 'boolean', criu_image_path: 'string', criu_work_path: 'string',
} as const)) {
  runcKeys[name] = [name as keyof RuncOptions, type];
  runcKeys[name.split('_').map((w) => (w === 'io' ? 'Io' : w[0].toUpperCase() + w.slice(1))).join('')] = [name as keyof RuncOptions, type];
}

/** Parse our TOML config; an unknown key or a wrong type is InvalidArgument naming it. */
export function parseShimConfig(text: string, source: string): ShimConfig {
  const { parse } = require('smol-toml') as typeof import('smol-toml');
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    throw invalidArgument(`config ${source}: not valid TOML: ${(err as Error).message}`);
  }
  const config: ShimConfig = { grouping: 'pod', runc: defaults() };
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'grouping') {
      if (value !== 'pod' && value !== 'namespace') {
        throw invalidArgument(`config ${source}: grouping = ${JSON.stringify(value)}: expected "pod" or "namespace"`);
      }
      config.grouping = value;
    } else if (key === 'runc' && value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        const entry = runcKeys[k];
        if (!entry) throw invalidArgument(`config ${source}: unknown key runc.${k} (expected one of ${Object.keys(defaults()).join(', ')})`);
        const [field, type] = entry;
        if (typeof v !== type && !(type === 'number' && typeof v === 'bigint')) {
          throw invalidArgument(`config ${source}: runc.${k} must be a ${type}, got ${JSON.stringify(String(v))}`);
        }
        (config.runc as unknown as Record<string, unknown>)[field] = type === 'number' ? Number(v) : v;
      }
    } else {
      throw invalidArgument(`config ${source}: unknown key ${key} (expected grouping, [runc])`);
    }
  }
  return config;
}

/**
 * The runtime options of a Create (or of `start`'s stdin): containerd.runc.v1.Options as is,
 * or runtimeoptions.v1.Options naming our TOML config by path (or carrying it as a body).
 */
export function shimConfigFrom(any: Any | null | undefined): ShimConfig {
  // Bytes that are not the message they claim are the caller's error (Go's typeurl.UnmarshalAny
  // fails on them too): InvalidArgument naming the type.
  const decode = <T>(type: string, value: Uint8Array): T => {
    try {
      return decodeProto<T>(type, value);
    } catch (err) {
      throw invalidArgument(`runtime options: not a valid ${type} message: ${(err as Error).message}`);
    }
  };
  if (!any || (!any.type_url && (!any.value || any.value.length === 0))) return { grouping: 'pod', runc: defaults() };
  const type = any.type_url.replace(/^.*\//, '');
  if (type === RUNC_OPTIONS_TYPE) return { grouping: 'pod', runc: decode<RuncOptions>(RUNC_OPTIONS_TYPE, any.value) };
  if (type === 'containerd.linux.runc.CreateOptions') {
    // Same field names for what both carry (no_pivot_root, no_new_keyring, io_uid, ...).
    const legacy = decode<Partial<RuncOptions>>(type, any.value);
    const runc = defaults();
    for (const k of Object.keys(runc) as (keyof RuncOptions)[]) if (k in legacy) (runc as any)[k] = (legacy as any)[k];
    return { grouping: 'pod', runc };
  }
  if (type === 'containerd.linux.runc.RuncOptions') {
    const legacy = decode<{ runtime: string; runtime_root: string; criu_path: string; systemd_cgroup: boolean }>(type, any.value);
    return {
      grouping: 'pod',
      runc: { ...defaults(), binary_name: legacy.runtime, root: legacy.runtime_root, criu_path: legacy.criu_path, systemd_cgroup: legacy.systemd_cgroup },
    };
  }
  if (type === RUNTIME_OPTIONS_TYPE) {
    const o = decode<{ config_path: string; config_body: Buffer }>(RUNTIME_OPTIONS_TYPE, any.value);
    if (o.config_body && o.config_body.length > 0) return parseShimConfig(o.config_body.toString('utf8'), '(config body)');
    if (!o.config_path) return { grouping: 'pod', runc: defaults() };
    let text: string;
    try {
      text = readFileSync(o.config_path, 'utf8');
    } catch (err) {
      throw invalidArgument(`config ${o.config_path}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    return parseShimConfig(text, o.config_path);
  }
  throw invalidArgument(`unsupported runtime options type ${JSON.stringify(any.type_url)}: expected ${RUNC_OPTIONS_TYPE}, ${RUNTIME_OPTIONS_TYPE} or containerd.linux.runc.CreateOptions`);
}

/** The runc options of a Create. */
export function runcOptions(any: Any | null | undefined): RuncOptions {
  return shimConfigFrom(any).runc;
}
