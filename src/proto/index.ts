/**
 * Typed access to our schema. protobufjs/light builds the types from the JSON descriptor once,
 * on first use, so command-line paths that never decode a message never pay for it.
 */
import { Root, type Type } from 'protobufjs/light';
import { schema } from './schema';

let root: Root | undefined;
const types = new Map<string, Type>();

export function typeOf(name: string): Type {
  let t = types.get(name);
  if (!t) {
    root ??= Root.fromJSON(schema);
    t = root.lookupType(name);
    types.set(name, t);
  }
  return t;
}

/** Encode a plain object (snake_case fields, as in containerd's .proto files). */
export function encode(name: string, value: object): Buffer {
  const t = typeOf(name);
  return Buffer.from(t.encode(t.fromObject(value)).finish());
}

/** Decode to a plain object with proto3 defaults filled in and 64-bit integers as numbers. */
export function decode<T = Record<string, any>>(name: string, data: Uint8Array): T {
  const t = typeOf(name);
  return t.toObject(t.decode(data), { longs: Number, defaults: true, arrays: true, objects: true, bytes: Buffer }) as T;
}

export interface Any {
  type_url: string;
  value: Buffer;
}

export interface Timestamp {
  seconds: number;
  nanos: number;
}

export const timestamp = (d: Date): Timestamp => {
  const ms = d.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
};

export const fromTimestamp = (t: Timestamp | null | undefined): Date =>
  new Date((t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6));

/** containerd's typeurl names gogo-registered messages by their full proto name. */
export function packAny(name: string, value: object): Any {
  return { type_url: name, value: encode(name, value) };
}
