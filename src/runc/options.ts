import { readFileSync } from 'node:fs';
import path from 'node:path';
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
  /** metrics_address: where the serving process also serves /metrics over HTTP (host:port); off when absent. */
  metricsAddress?: string;
  /** Top-level keys neither ours nor a runc option's (CRI passes its whole options table). */
  ignored?: string[];
}

export const RUNC_OPTIONS_TYPE = 'containerd.runc.v1.Options';
export const RUNTIME_OPTIONS_TYPE = 'runtimeoptions.v1.Options';

const defaults = (): RuncOptions => decode<RuncOptions>(RUNC_OPTIONS_TYPE, Buffer.alloc(0));

type Kind = 'string' | 'boolean' | 'uint32' | 'path' | 'command';
const runcKinds: Record<keyof RuncOptions, Kind> = {
  no_pivot_root: 'boolean', no_new_keyring: 'boolean', shim_cgroup: 'string', io_uid: 'uint32', io_gid: 'uint32',
  binary_name: 'command', root: 'path', criu_path: 'command', systemd_cgroup: 'boolean', criu_image_path: 'path', criu_work_path: 'path',
};

/**
 * A TOML key as Go's TOML decoding matches it to a struct field (pelletier/go-toml v2: the
 * field name, case-insensitively: SystemdCgroup, systemdcgroup), and our snake_case as well:
 * case and underscores dropped, both spell the same key (io_uid, IoUid, iouid).
 */
const norm = (key: string) => key.toLowerCase().replace(/_/g, '');
const runcKeys = new Map<string, keyof RuncOptions>(Object.keys(runcKinds).map((k) => [norm(k), k as keyof RuncOptions]));
/** runtimeoptions.v1.Options' own fields: CRI decodes them from the same table; nothing for us. */
const runtimeOptionsKeys = new Set(['typeurl', 'configpath', 'configbody']);

/** uid_t and gid_t are 32-bit; (uid_t)-1 means "no change" to chown, so it is no uid. */
const MAX_ID = 4294967294;

/**
 * Parse our TOML config. It is also the shape CRI 2.x sends: with no ConfigPath, CRI marshals
 * the runtime's whole `options` table into ConfigBody (internal/cri/config/config.go
 * GenerateRuntimeOptions), so containerd.runc.v1.Options fields arrive at the top level in Go
 * spelling (SystemdCgroup, BinaryName, Root...) beside TypeUrl and whatever else the table held.
 * Top level: grouping, [runc], and runc option keys are applied; other keys are ignored and
 * listed in `ignored` (as Go's decoding ignores keys no field has). Inside our own [runc] table
 * an unknown key stays InvalidArgument: nothing but our own config writes there, so a key no
 * option has is a typo (`binary = ...`) that would otherwise run the wrong runc in silence.
 * A known key with a wrong type or range is InvalidArgument wherever it is (Go's decoding
 * fails too). Relative paths are refused, not resolved: a body has no file to be relative to,
 * and the serving process's cwd is the first bundle of its group (deleted before the group ends).
 */
export function parseShimConfig(text: string, source: string): ShimConfig {
  const { parse } = require('smol-toml') as typeof import('smol-toml');
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    throw invalidArgument(`config ${source}: not valid TOML${tomlErrorAt(err)}`);
  }
  const config: ShimConfig = { grouping: 'pod', runc: defaults(), ignored: [] };
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'grouping') {
      if (value !== 'pod' && value !== 'namespace') {
        throw invalidArgument(`config ${source}: grouping = ${JSON.stringify(value)}: expected "pod" or "namespace"`);
      }
      config.grouping = value;
    } else if (key === 'metrics_address') {
      // host:port, IPv6 in brackets: what Prometheus scrapes (debug/http.ts).
      if (typeof value !== 'string' || !/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(value)) {
        throw invalidArgument(`config ${source}: metrics_address = ${show(value)}: expected "host:port" (e.g. "127.0.0.1:9464")`);
      }
      config.metricsAddress = value;
    } else if (key === 'runc') {
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalidArgument(`config ${source}: runc must be a table ([runc]), got ${show(value)}`);
      for (const [k, v] of Object.entries(value)) {
        const field = runcKeys.get(norm(k));
        if (!field) throw invalidArgument(`config ${source}: unknown key runc.${k} (expected one of ${Object.keys(runcKinds).join(', ')})`);
        setRunc(config.runc, field, v, `config ${source}: runc.${k}`);
      }
    } else if (runcKeys.has(norm(key))) {
      setRunc(config.runc, runcKeys.get(norm(key))!, value, `config ${source}: ${key}`);
    } else if (!runtimeOptionsKeys.has(norm(key))) {
      config.ignored!.push(key);
    }
  }
  return config;
}

/** Where smol-toml stopped, from its line/column fields; never its message's code frame (the file's content). */
function tomlErrorAt(err: unknown): string {
  const e = err as { line?: unknown; column?: unknown; message?: unknown };
  const at = typeof e.line === 'number' ? ` at line ${e.line}${typeof e.column === 'number' ? `, column ${e.column}` : ''}` : '';
  // The reason is smol-toml's own fixed wording ("invalid value", "unfinished string"): kept
  // only when it is lower-case words alone, nothing that could have come from the document.
  const reason = /^Invalid TOML document: ([a-z][a-z ,:-]{0,80})\n/.exec(String(e.message ?? ''))?.[1];
  return `${at}${reason ? ` (${reason})` : ''}`;
}

function setRunc(runc: RuncOptions, field: keyof RuncOptions, v: unknown, what: string): void {
  const kind = runcKinds[field];
  const out = runc as unknown as Record<string, unknown>;
  if (kind === 'boolean') {
    if (typeof v !== 'boolean') throw invalidArgument(`${what} must be a boolean, got ${show(v)}`);
    out[field] = v;
  } else if (kind === 'uint32') {
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_ID) {
      throw invalidArgument(`${what} must be an integer from 0 to ${MAX_ID} (a uid or gid), got ${show(v)}`);
    }
    out[field] = n;
  } else {
    if (typeof v !== 'string') throw invalidArgument(`${what} must be a string, got ${show(v)}`);
    // A command may be a bare name (found on PATH, as runc and criu are); anything with a
    // slash, and every directory, must be absolute.
    const relative = v !== '' && !path.isAbsolute(v) && (kind === 'path' || (kind === 'command' && v.includes('/')));
    if (relative) throw invalidArgument(`${what} = ${JSON.stringify(v)} is a relative path: expected an absolute path${kind === 'command' ? ' or a bare command name' : ''}`);
    out[field] = v;
  }
}

const show = (v: unknown) => JSON.stringify(String(v));

/** Ignored config keys, each logged once per serving process (by the sink `onIgnoredConfigKey` sets). */
const reported = new Set<string>();
let ignoredSink: ((key: string, source: string) => void) | undefined;

/**
 * Where ignored top-level config keys are reported (the serving process's log). `start` sets
 * none: nothing may reach its stderr, which containerd 2.3 reads with its stdout.
 */
export function onIgnoredConfigKey(sink: ((key: string, source: string) => void) | undefined): void {
  ignoredSink = sink;
}

function reportIgnored(config: ShimConfig, source: string): ShimConfig {
  for (const key of config.ignored ?? []) {
    if (!ignoredSink || reported.has(`${source}\0${key}`)) continue;
    reported.add(`${source}\0${key}`);
    ignoredSink(key, source);
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
    if (o.config_body && o.config_body.length > 0) return reportIgnored(parseShimConfig(o.config_body.toString('utf8'), '(config body)'), '(config body)');
    if (!o.config_path) return { grouping: 'pod', runc: defaults() };
    // Relative to what? The serving process's cwd is the first bundle of its group.
    if (!path.isAbsolute(o.config_path)) {
      throw invalidArgument(`config_path ${JSON.stringify(o.config_path)} is a relative path: expected an absolute path`);
    }
    let text: string;
    try {
      text = readFileSync(o.config_path, 'utf8');
    } catch (err) {
      throw invalidArgument(`config ${o.config_path}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    return reportIgnored(parseShimConfig(text, o.config_path), o.config_path);
  }
  throw invalidArgument(`unsupported runtime options type ${JSON.stringify(any.type_url)}: expected ${RUNC_OPTIONS_TYPE}, ${RUNTIME_OPTIONS_TYPE} or containerd.linux.runc.CreateOptions`);
}

/** The runc options of a Create. */
export function runcOptions(any: Any | null | undefined): RuncOptions {
  return shimConfigFrom(any).runc;
}
