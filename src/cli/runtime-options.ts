/**
 * Decoding start's runtime options needs protobufjs and a TOML parser: its own module (and its
 * own bundle file), loaded only when containerd sent options.
 */
import { decode } from '../proto';
import { shimConfigFrom, type ShimConfig } from '../runc/options';

export function decodeStartOptions(stdin: Buffer): ShimConfig {
  return shimConfigFrom(decode<{ type_url: string; value: Buffer }>('google.protobuf.Any', stdin));
}
