/** Builders for protobufjs JSON descriptors: a message from its fields, a field from its number. */
export type Fields = Record<string, { type: string; id: number; rule?: 'repeated' }>;
export const msg = (fields: Fields) => ({ fields });
export const s = (id: number) => ({ type: 'string', id });
export const u32 = (id: number) => ({ type: 'uint32', id });
export const b = (id: number) => ({ type: 'bool', id });
export const ts = (id: number) => ({ type: 'google.protobuf.Timestamp', id });
export const any = (id: number) => ({ type: 'google.protobuf.Any', id });

export const idExec = { id: s(1), exec_id: s(2) };

export const u64 = (id: number) => ({ type: 'uint64', id });
