import { ShimError, type ErrorKind } from '../errors';

/** A runc command that failed: its own words (from its JSON log or stderr), exit status, stderr. */
export class RuncError extends ShimError {
  constructor(
    kind: ErrorKind,
    readonly command: string,
    readonly exitStatus: number | null,
    readonly stderr: string,
    readonly runcMessage: string,
  ) {
    const status = exitStatus === null ? 'did not run' : `exit status ${exitStatus}`;
    super(kind, `runc ${command} failed: ${runcMessage || stderr.trim() || 'no message'}: ${status}`);
    this.name = 'RuncError';
  }
}

/** containerd's errdefs reading of runc's words. */
export function kindOf(message: string): ErrorKind {
  if (/does not exist|not found|no such container/i.test(message)) return 'NotFound';
  if (/already exists|already in use/i.test(message)) return 'AlreadyExists';
  if (/not running|container is stopped|process already finished|not paused|is paused|cannot be paused|not started/i.test(message)) {
    return 'FailedPrecondition';
  }
  // Anything else is a plain error in the Go shim (go-runc returns fmt errors), which errdefs'
  // ToGRPC sends as Unknown: the same code here (test/e2e/differential.test.ts compares it).
  return 'Unknown';
}

/**
 * The error of a call aborted under runc: DeadlineExceeded when the reason is the deadline's
 * (src/ttrpc/services.ts aborts with one), else Canceled (the caller went away), as Go's
 * context.DeadlineExceeded / context.Canceled reach ttrpc's status.
 */
export function abortError(command: string, status: number | null, reason: unknown): RuncError {
  const kind = reason instanceof ShimError && reason.kind === 'DeadlineExceeded' ? 'DeadlineExceeded' : 'Canceled';
  const why = reason instanceof Error ? reason.message : kind === 'Canceled' ? 'context canceled' : 'context deadline exceeded';
  return new RuncError(kind, command, status, '', why);
}
