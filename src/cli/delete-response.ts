import { Writer } from '../proto/wire';

/**
 * The DeleteResponse `delete` prints (runtime/v2/task/shim.proto: pid=1, exit_status=2,
 * exited_at=3 google.protobuf.Timestamp{seconds=1, nanos=2}), written with the hand-made wire
 * writer: this path runs once per container and need not load protobufjs for three varints.
 */
export function encodeDeleteResponse(pid: number, exitStatus: number, exitedAt: Date): Buffer {
  const ms = exitedAt.getTime();
  const seconds = Math.floor(ms / 1000);
  const timestamp = new Writer().int(1, seconds).int(2, (ms - seconds * 1000) * 1e6).finish();
  return new Writer().int(1, pid).int(2, exitStatus).message(3, timestamp).finish();
}
