/**
 * Per-connection bounds of our ttrpc server, and why they are what they are.
 *
 * What Go does (containerd/ttrpc v1.2.8 server.go serverConn.run): one goroutine reads frames
 * and starts a goroutine per call (services.go handle) with no limit; responses go through an
 * unbuffered channel to one writer whose socket write blocks. A peer that sends calls and never
 * reads stops Go's writer, not its reader: every later call still runs, and its goroutine
 * blocks holding its response. Go bounds neither calls in flight nor what they hold.
 *
 * Ours:
 * - A connection is not read while more than `maxWriteBuffer` bytes of responses wait to be
 *   written; it is read again on 'drain'. A flooding peer's further bytes then wait in the
 *   kernel and in its own process, and a slow reader gets backpressure, not errors.
 * - A call beyond `maxCallsInFlight`, or one whose request would take the calls in flight past
 *   `maxBytesInFlight`, is refused at once with ResourceExhausted naming the bound, and the
 *   connection is read on. Holding such calls unread instead (backpressure for a busy client)
 *   was the alternative, and it fails in one way we will not accept: a socket we do not read
 *   and have nothing to write to is not watched by libuv, so when its peer goes away we never
 *   see the close; the calls in flight never see their signal abort and the fd stays (a Wait
 *   per process is exactly such a call that never ends). The write-buffer pause does not have
 *   this problem: pending writes keep the socket watched, and a gone peer is EPIPE/ECONNRESET.
 *   Refusal must cost an honest client nothing: containerd makes one connection per task,
 *   grouped shim or not (containerd 2.3 core/runtime/v2 binary.go Start and shim.go loadShim
 *   each call makeConnection), and on it each process of that task may have its Wait (held
 *   until the exit), its Exec, its Start (a runc exec) and its Delete (the output drain) in
 *   flight at once: 50 concurrent `ctr task exec` on containerd 1.6 went past a bound of 128
 *   on this 2-core machine (test/e2e/leaks.test.ts, refused as ResourceExhausted).
 *
 * What one connection can make us hold is then about maxWriteBuffer + the responses of the
 * calls in flight + maxBytesInFlight + one frame being read (4 MiB) + the socket's read buffer.
 */
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH } from './frame';

export interface ConnectionLimits {
  /** Stop reading while more response bytes than this wait to be written. */
  maxWriteBuffer: number;
  /** Refuse a call while this many are in flight. */
  maxCallsInFlight: number;
  /** Refuse a call whose request bytes would take the calls in flight past this (one call always fits). */
  maxBytesInFlight: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = {
  // One maximum-size response (frame.ts): a single legal answer, however big, is queued whole
  // without pausing the connection; beyond that the peer is not keeping up.
  maxWriteBuffer: MAX_MESSAGE_LENGTH + HEADER_LENGTH,
  // Far above one task's calls (up to ~4 per process, above): 1024 is ~250 processes of one task
  // busy at once. It bounds a misbehaving peer's calls, each of which may hold a runc child, a
  // timer and an AbortController; their bytes are bounded below.
  maxCallsInFlight: 1024,
  // Four maximum-size requests. containerd's requests are a few KiB (Create's mounts and
  // options are the largest); this stops a peer pinning 1024 x 4 MiB with slow calls.
  maxBytesInFlight: 4 * MAX_MESSAGE_LENGTH,
};

/** The status message of a call refused for the bound on calls in flight. */
export function callsInFlightMessage(n: number): string {
  return `ttrpc: ${n} calls already in flight on this connection (the most allowed)`;
}

/** The status message of a call refused for the bound on request bytes in flight. */
export function bytesInFlightMessage(held: number, bytes: number, max: number): string {
  return `ttrpc: calls in flight on this connection hold ${held} request bytes; ${bytes} more would pass the most allowed, ${max}`;
}

/** Logged (at debug: one big answer does it too) when a connection stops being read for its writes. */
export function writeBufferMessage(bytes: number, max: number): string {
  return `ttrpc: ${bytes} response bytes wait to be written on this connection (at most ${max}): not reading it until they drain`;
}
