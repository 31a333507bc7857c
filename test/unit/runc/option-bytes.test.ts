/** Option bytes that are not the message their type names: InvalidArgument naming the type, not Unknown. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKind } from '../../../src/errors';
import { shimConfigFrom } from '../../../src/runc/options';

// Each fails protobuf decoding of any message: a truncated varint tag, a tag without its value,
// wire type 7 (there is none).
const garbage = [Buffer.from([0xff]), Buffer.from([0x08]), Buffer.from([0x07])];

for (const type of ['containerd.runc.v1.Options', 'runtimeoptions.v1.Options', 'containerd.linux.runc.CreateOptions', 'containerd.linux.runc.RuncOptions']) {
  test(`garbage ${type} bytes are InvalidArgument naming the type`, () => {
    for (const value of garbage) {
      assert.throws(() => shimConfigFrom({ type_url: type, value }), (e: unknown) =>
        isKind(e, 'InvalidArgument') && (e as Error).message.startsWith(`runtime options: not a valid ${type} message: `));
    }
  });
}
