/**
 * The DeleteResponse `delete` prints (runtime/v2/task/shim.proto: pid=1, exit_status=2,
 * exited_at=3 google.protobuf.Timestamp{seconds=1, nanos=2}), encoded by hand: this path runs
 * once per container and need not load protobufjs for three varints.
 */
function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(Math.max(0, Math.floor(n)));
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

function field(tag: number, value: number): number[] {
  return value === 0 ? [] : [tag, ...varint(value)];
}

export function encodeDeleteResponse(pid: number, exitStatus: number, exitedAt: Date): Buffer {
  const ms = exitedAt.getTime();
  const ts = [...field(0x08, Math.floor(ms / 1000)), ...field(0x10, (ms % 1000) * 1e6)];
  return Buffer.from([...field(0x08, pid), ...field(0x10, exitStatus), 0x1a, ...varint(ts.length), ...ts]);
}
