/**
 * Errors are values with a kind. Kinds follow containerd's errdefs; they become gRPC
 * status codes in exactly one place (`toStatus`), at the ttrpc service edge.
 */

export type ErrorKind =
  | 'NotFound'
  | 'AlreadyExists'
  | 'FailedPrecondition'
  | 'InvalidArgument'
  | 'Unavailable'
  | 'Unimplemented'
  | 'DeadlineExceeded'
  | 'Canceled'
  /** A message over ttrpc's 4 MiB limit (containerd/ttrpc channel.go). */
  | 'ResourceExhausted'
  | 'Internal'
  | 'Unknown';

/** gRPC status codes (google.rpc.Code), the numbers containerd's errdefs.FromGRPC reads. */
export const Code = {
  OK: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;

const kindToCode: Record<ErrorKind, number> = {
  NotFound: Code.NotFound,
  AlreadyExists: Code.AlreadyExists,
  FailedPrecondition: Code.FailedPrecondition,
  InvalidArgument: Code.InvalidArgument,
  Unavailable: Code.Unavailable,
  Unimplemented: Code.Unimplemented,
  DeadlineExceeded: Code.DeadlineExceeded,
  Canceled: Code.Canceled,
  ResourceExhausted: Code.ResourceExhausted,
  Internal: Code.Internal,
  Unknown: Code.Unknown,
};

export class ShimError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = `ShimError(${kind})`;
  }
}

export const notFound = (msg: string) => new ShimError('NotFound', msg);
export const alreadyExists = (msg: string) => new ShimError('AlreadyExists', msg);
export const failedPrecondition = (msg: string) => new ShimError('FailedPrecondition', msg);
export const invalidArgument = (msg: string) => new ShimError('InvalidArgument', msg);
export const unavailable = (msg: string) => new ShimError('Unavailable', msg);
export const unimplemented = (msg: string) => new ShimError('Unimplemented', msg);
export const internal = (msg: string, cause?: unknown) => new ShimError('Internal', msg, cause);

export function isKind(err: unknown, kind: ErrorKind): boolean {
  return err instanceof ShimError && err.kind === kind;
}

/** The one mapping from an error value to a gRPC status; anything untyped is Unknown. */
export function toStatus(err: unknown): { code: number; message: string } {
  if (err instanceof ShimError) return { code: kindToCode[err.kind], message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: Code.Unknown, message };
}

/** The reverse, for clients: a status from the wire back into an error value. */
export function fromStatus(code: number, message: string): ShimError {
  const entry = (Object.entries(kindToCode) as [ErrorKind, number][]).find(([, c]) => c === code);
  return new ShimError(entry ? entry[0] : 'Unknown', message);
}
