/**
 * What `start` reads on stdin and prints on stdout, for every containerd generation:
 * - 2.3+: stdin is a containerd.runtime.bootstrap.v1.BootstrapParams, the runtime options in one
 *   of its extensions (pkg/shim/util.go Command, params.AddExtension(config.Opts)); stdout is a
 *   protobuf BootstrapResult (core/runtime/v2/shim.go parseStartResponse tries proto first).
 * - 1.6-2.2: stdin is the bare runtime options Any, or nothing. 2.0-2.2 parse stdout as the JSON
 *   {"version","address","protocol"} and accept version 3 (v2.1.5 core/runtime/v2/shim.go
 *   parseStartResponse, CurrentShimVersion 3); 1.7 refuses a version above 2 and 1.6 takes the
 *   address alone (runtime/v2/shim.go: strings.TrimSpace of the output). Those generations send
 *   the same stdin, so we read which containerd started us from its executable (-publish-binary,
 *   legacyResponseForm); if that cannot tell, the plain address works on all.
 * Hand-decoded (proto/wire.ts): `start` runs once per container and stays free of protobufjs.
 */
import { containerdMajor, goModInfo } from './go-buildinfo';
import { invalidArgument } from '../errors';
import { asInt32, asString, LEN, readFields, VARINT, WireError, Writer, type WireField } from '../proto/wire';

/** api@v1.11.1 runtime/bootstrap/v1/bootstrap.proto BootstrapParams, as far as we use it. */
export interface BootstrapParams {
  instanceId: string;
  namespace: string;
  /** LogLevel: INFO 0, DEBUG -4, TRACE -8; more verbose is lower */
  logLevel: number;
  containerdVersion: string;
  containerdTtrpcAddress: string;
  containerdGrpcAddress: string;
  containerdBinary: string;
  /** each Extension.value: the bytes of a google.protobuf.Any */
  extensions: Buffer[];
  socketDir?: string;
}

export type StartInput =
  | { form: 'bootstrap'; params: BootstrapParams; options: Buffer }
  | { form: 'options'; options: Buffer }
  | { form: 'empty'; options: Buffer };

/** bootstrap.proto LogLevel LOG_LEVEL_DEBUG; the Go shim logs at debug at or below it (runc manager Start). */
export const LOG_LEVEL_DEBUG = -4;

/** Runtime option types we read (runc/options.ts shimConfigFrom), by full name without the URL prefix. */
const OPTION_TYPES = new Set([
  'containerd.runc.v1.Options',
  'runtimeoptions.v1.Options',
  'containerd.linux.runc.CreateOptions',
  'containerd.linux.runc.RuncOptions',
]);

const typeName = (url: string) => url.replace(/^.*\//, '');

/** BootstrapParams field number -> wire type (bootstrap.proto). */
const PARAM_WIRE: Record<number, number> = { 1: LEN, 2: LEN, 3: VARINT, 4: LEN, 5: LEN, 6: LEN, 7: LEN, 8: LEN, 9: LEN };

/**
 * Tell the forms apart by decoding, not by guessing: an Any has only fields 1 (type URL) and 2
 * (value); a BootstrapParams always carries instance_id (1) and namespace (2) as strings and, from
 * containerd, its version and addresses (4-7). Both parse as either in the wire format, so:
 * fields beyond 2 make it a BootstrapParams; fields 1 and 2 alone are an Any unless they are this
 * container's id and namespace.
 */
export function parseStartInput(stdin: Buffer, id: string, namespace: string): StartInput {
  if (stdin.length === 0) return { form: 'empty', options: stdin };
  let fields: WireField[];
  try {
    fields = readFields(stdin);
  } catch (err) {
    throw badInput(stdin, (err as Error).message);
  }
  const beyondAny = fields.some((f) => f.no > 2);
  const strings12 = fields.filter((f) => f.no <= 2).every((f) => f.wire === LEN);
  if (!beyondAny && strings12) {
    const first = fields.find((f) => f.no === 1)?.bytes;
    const second = fields.find((f) => f.no === 2)?.bytes;
    const isOwnIds = first && second && first.equals(Buffer.from(id)) && second.equals(Buffer.from(namespace));
    if (!isOwnIds) return { form: 'options', options: stdin };
  }
  try {
    const params = decodeParams(fields);
    return { form: 'bootstrap', params, options: runtimeOptions(params) };
  } catch (err) {
    throw badInput(stdin, (err as Error).message);
  }
}

function badInput(stdin: Buffer, why: string): Error {
  const head = stdin.subarray(0, 16).toString('hex');
  return invalidArgument(
    `start: stdin is neither a containerd.runtime.bootstrap.v1.BootstrapParams (containerd 2.3+) nor a google.protobuf.Any of runtime options (containerd 1.6-2.2): ${why} (${stdin.length} bytes, starting ${head})`,
  );
}

function decodeParams(fields: WireField[]): BootstrapParams {
  const p: BootstrapParams = {
    instanceId: '', namespace: '', logLevel: 0, containerdVersion: '', containerdTtrpcAddress: '',
    containerdGrpcAddress: '', containerdBinary: '', extensions: [],
  };
  for (const f of fields) {
    const want = PARAM_WIRE[f.no];
    if (want === undefined) continue; // a later field: proto3 keeps unknown fields, so do we (by ignoring them)
    if (f.wire !== want) throw new WireError(`BootstrapParams field ${f.no} has wire type ${f.wire}, expected ${want}`);
    if (f.no === 3) {
      p.logLevel = asInt32(f.int!);
      continue;
    }
    if (f.no === 8) {
      p.extensions.push(extensionValue(f.bytes!));
      continue;
    }
    const s = asString(f.bytes!);
    if (f.no === 1) p.instanceId = s;
    else if (f.no === 2) p.namespace = s;
    else if (f.no === 4) p.containerdVersion = s;
    else if (f.no === 5) p.containerdTtrpcAddress = s;
    else if (f.no === 6) p.containerdGrpcAddress = s;
    else if (f.no === 7) p.containerdBinary = s;
    else p.socketDir = s;
  }
  if (!p.instanceId || !p.namespace) throw new WireError('a BootstrapParams needs instance_id (1) and namespace (2)');
  return p;
}

/** Extension { google.protobuf.Any value = 1 }: the Any's own bytes. */
function extensionValue(ext: Buffer): Buffer {
  let value: Buffer = Buffer.alloc(0);
  for (const f of readFields(ext)) {
    if (f.no === 1) {
      if (f.wire !== LEN) throw new WireError('Extension.value is not a message');
      value = f.bytes!;
    }
  }
  return value;
}

function anyTypeUrl(any: Buffer): string {
  for (const f of readFields(any)) if (f.no === 1 && f.wire === LEN) return asString(f.bytes!);
  return '';
}

/**
 * The runtime options among the extensions: containerd marks them only by their type URL
 * (AddExtension of the options Any as is), so the first extension of a type we read; others
 * (CRI, NRI, sandbox config) are not ours to read, as the Go shim's FindExtension skips them.
 */
export function runtimeOptions(params: BootstrapParams): Buffer {
  return params.extensions.find((any) => OPTION_TYPES.has(typeName(anyTypeUrl(any)))) ?? Buffer.alloc(0);
}

/** BootstrapResult { int32 version = 1; string address = 2; string protocol = 3 } (bootstrap.proto). */
export function encodeBootstrapResult(address: string): Buffer {
  return new Writer().int(1, 3).bytes(2, address).bytes(3, 'ttrpc').finish();
}

export type ResponseForm = 'proto' | 'json' | 'plain';

/** What `start` prints: version 3 (task API v3) to every containerd that can take it. */
export function startResponse(form: ResponseForm, address: string): Buffer {
  if (form === 'proto') return encodeBootstrapResult(address);
  if (form === 'json') return Buffer.from(JSON.stringify({ version: 3, address, protocol: 'ttrpc' }));
  return Buffer.from(address);
}

/**
 * For a start without BootstrapParams (containerd 1.6-2.2): JSON version 3 for containerd 2.x,
 * the plain address for 1.x. Told from containerd's own executable (-publish-binary): the Go
 * module info its linker wrote (go-buildinfo.ts), a few reads instead of running
 * `containerd --version` (one process per start). When it cannot tell, the plain address: every
 * generation takes it (1.7-2.2 as task API v2, core/runtime/v2/shim.go parseStartResponse; v2.2.0
 * still does), and we serve v2 as well as v3 (task/register.ts).
 */
export function legacyResponseForm(publishBinary: string): ResponseForm {
  const info = publishBinary ? goModInfo(publishBinary) : null;
  const major = info === null ? null : containerdMajor(info);
  return major !== null && major >= 2 ? 'json' : 'plain';
}
