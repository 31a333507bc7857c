import assert from 'node:assert/strict';
import type { RunResult } from './run';

/**
 * The words containerd's errdefs puts after a message it received as a gRPC status of that code
 * (1.6 errdefs.FromGRPC, 2.x errgrpc.ToNative: "<message>: not found"), and the code's own name,
 * which a gRPC error string shows ("code = NotFound desc = ...").
 */
const CODE_WORDS = {
  NotFound: 'not found',
  AlreadyExists: 'already exists',
  FailedPrecondition: 'failed precondition',
  InvalidArgument: 'invalid argument',
  Unavailable: 'unavailable',
  Unimplemented: 'not implemented',
} as const;
export type CtrErrorCode = keyof typeof CODE_WORDS;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * ctr failed with an error of `code` that names each of `facts` (ids, states) as a word of its
 * own. What ctr wraps around it changed in 2.x, so that is left open; stderr is in the message.
 */
export function assertCtrError(r: RunResult, code: CtrErrorCode, facts: string[]): void {
  assert.notEqual(r.code, 0, `ctr should have failed; stdout: ${r.stdout}`);
  const err = r.stderr
    .split('\n')
    // ctr 2.x logs warnings of its own on stderr (the cgroup v1 deprecation) before the error.
    .filter((l) => !/^time="[^"]*" level=(warning|info|debug)/.test(l))
    .join('\n');
  assert.match(err, new RegExp(`${escape(CODE_WORDS[code])}|code = ${code}\\b`, 'i'), `a ${code} error; stderr: ${r.stderr}`);
  for (const fact of facts) assert.match(err, new RegExp(`(^|[^\\w-])${escape(fact)}($|[^\\w-])`), `the error names ${fact}; stderr: ${r.stderr}`);
}
