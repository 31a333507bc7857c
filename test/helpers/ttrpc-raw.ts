/**
 * Raw ttrpc for bad-input tests: a connection that sends any bytes and collects whatever frames
 * come back, a bystander client that keeps calling, and the fuzz inputs (random frames and valid
 * ones mutated). Shared by test/unit/ttrpc/fuzz.test.ts and test/e2e/bad-input.test.ts.
 */
import net from 'node:net';
import { randomBytes, randomInt } from 'node:crypto';
import { dial, type Client } from '../../src/ttrpc/client';
import { encodeFrame, FrameDecoder, HEADER_LENGTH, MessageType, type Frame } from '../../src/ttrpc/frame';
import { decodeResponse, encodeRequest, type Response } from '../../src/ttrpc/wire';

export interface RawConn {
  socket: net.Socket;
  /** Resolves when the server (or we) closed the connection. */
  closed: Promise<void>;
  write(bytes: Buffer): void;
  send(streamId: number, type: number, payload: Buffer): void;
  request(streamId: number, service: string, method: string, payload: Buffer, timeoutNano?: number): void;
  /** The next response frame, decoded; rejects after `ms` or when the connection closes first. */
  next(ms?: number): Promise<{ streamId: number; res: Response }>;
  /** Frames received so far (not yet taken by next()). */
  frames: Frame[];
}

export async function rawConnect(path: string): Promise<RawConn> {
  let socket: net.Socket;
  for (let attempt = 0; ; attempt++) {
    socket = net.connect(path);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      break;
    } catch (err) {
      // A full accept backlog answers EAGAIN on a unix socket: a client tries again.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  socket.on('error', () => undefined);
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  const waiters: Array<() => void> = [];
  let isClosed = false;
  const closed = new Promise<void>((r) =>
    socket.once('close', () => {
      isClosed = true;
      waiters.splice(0).forEach((w) => w());
      r();
    }),
  );
  socket.on('data', (chunk: Buffer) => {
    for (const item of decoder.write(chunk)) if (item.kind === 'frame') frames.push(item.frame);
    waiters.splice(0).forEach((w) => w());
  });
  const conn: RawConn = {
    socket,
    closed,
    frames,
    write: (bytes) => void socket.write(bytes),
    send: (streamId, type, payload) => void socket.write(encodeFrame({ streamId, type, flags: 0, payload })),
    request: (streamId, service, method, payload, timeoutNano = 0) =>
      conn.send(streamId, MessageType.Request, encodeRequest({ service, method, payload, timeoutNano, metadata: [] })),
    async next(ms = 5000) {
      const until = Date.now() + ms;
      while (frames.length === 0) {
        if (isClosed) throw new Error('connection closed before a response');
        if (Date.now() > until) throw new Error(`no response in ${ms} ms`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
      const f = frames.shift()!;
      return { streamId: f.streamId, res: decodeResponse(f.payload) };
    },
  };
  return conn;
}

/**
 * A well-behaved client calling `call` back to back until stopped, on one connection (as
 * containerd keeps one): stop() resolves with how many calls succeeded and each failure.
 */
export function bystander(path: string, call: (c: Client) => Promise<unknown>): { stop(): Promise<{ ok: number; failures: string[] }> } {
  let running = true;
  let ok = 0;
  const failures: string[] = [];
  const loop = (async () => {
    const c = await dial(path);
    try {
      while (running) {
        try {
          await call(c);
          ok++;
        } catch (err) {
          failures.push(String(err));
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      c.close();
    }
  })().catch((err) => void failures.push(`dial: ${err}`));
  return {
    async stop() {
      running = false;
      await loop;
      return { ok, failures };
    },
  };
}

/** A frame header with any values, e.g. a length the body never reaches. */
export function header(length: number, streamId: number, type: number, flags = 0): Buffer {
  const h = Buffer.alloc(HEADER_LENGTH);
  h.writeUInt32BE(length >>> 0, 0);
  h.writeUInt32BE(streamId >>> 0, 4);
  h.writeUInt8(type & 0xff, 8);
  h.writeUInt8(flags & 0xff, 9);
  return h;
}

/** A valid request frame for `service/method` with `payload`, to mutate. */
export function validFrame(streamId: number, service: string, method: string, payload: Buffer): Buffer {
  const timeoutNano = randomInt(3) === 0 ? randomInt(1, 2 ** 40) : 0;
  const metadata: Array<[string, string]> = randomInt(2) ? [['containerd-namespace-ttrpc', 'default']] : [];
  return encodeFrame({ streamId, type: MessageType.Request, flags: 0, payload: encodeRequest({ service, method, payload, timeoutNano, metadata }) });
}

/** One random edit of a buffer: flip, overwrite, insert, delete, truncate, or a header field set at random. */
export function mutate(b: Buffer): Buffer {
  const at = (n: number) => (n > 0 ? randomInt(n) : 0);
  switch (randomInt(8)) {
    case 0: {
      const c = Buffer.from(b);
      if (c.length) c[at(c.length)] ^= 1 << randomInt(8);
      return c;
    }
    case 1: {
      const c = Buffer.from(b);
      if (c.length) c[at(c.length)] = randomInt(256);
      return c;
    }
    case 2: {
      const i = at(b.length + 1);
      return Buffer.concat([b.subarray(0, i), randomBytes(randomInt(1, 16)), b.subarray(i)]);
    }
    case 3: {
      const i = at(b.length);
      return Buffer.concat([b.subarray(0, i), b.subarray(Math.min(b.length, i + randomInt(1, 8)))]);
    }
    case 4:
      return b.subarray(0, at(b.length));
    case 5: {
      // The length field: small lies keep the decoder waiting or split the next frame.
      const c = Buffer.from(b);
      if (c.length >= 4) c.writeUInt32BE(Math.max(0, c.readUInt32BE(0) + randomInt(-8, 9)), 0);
      return c;
    }
    case 6: {
      const c = Buffer.from(b);
      if (c.length >= 8) c.writeUInt32BE(randomInt(2 ** 32 - 1), 4); // any stream id, even ones too
      return c;
    }
    default: {
      const c = Buffer.from(b);
      if (c.length >= 9) c.writeUInt8(randomInt(256), 8); // any message type
      return c;
    }
  }
}

/** A fuzz input: a random frame (random header, random body) or a valid one mutated 1-4 times. */
export function fuzzInput(valid: () => Buffer): Buffer {
  if (randomInt(4) === 0) {
    const body = randomBytes(randomInt(0, 256));
    return Buffer.concat([header(randomInt(3) ? body.length : randomInt(2 ** 32 - 1), randomInt(2 ** 32 - 1), randomInt(4), randomInt(256)), body]);
  }
  let b = valid();
  for (let n = randomInt(1, 5); n > 0; n--) b = mutate(b);
  return b;
}

export interface FuzzFigures {
  inputs: number;
  connections: number;
  responses: number;
  closedByServer: number;
  ms: number;
}

/**
 * Sends fuzz inputs until `maxInputs` or `maxMs`, `perConnection` to a connection (written
 * together, then the connection is given `settleMs` to answer and closed by us: a frame whose
 * length lies keeps its connection waiting, as Go's would).
 */
export async function fuzz(path: string, valid: () => Buffer, o: { maxInputs: number; maxMs: number; perConnection?: number; parallel?: number; settleMs?: number }): Promise<FuzzFigures> {
  const per = o.perConnection ?? 40;
  const figures: FuzzFigures = { inputs: 0, connections: 0, responses: 0, closedByServer: 0, ms: 0 };
  const start = Date.now();
  const worker = async () => {
    while (figures.inputs < o.maxInputs && Date.now() - start < o.maxMs) {
      const batch: Buffer[] = [];
      for (let i = 0; i < per && figures.inputs < o.maxInputs; i++, figures.inputs++) batch.push(fuzzInput(valid));
      const c = await rawConnect(path);
      figures.connections++;
      let mine = false;
      let byServer = false;
      c.closed.then(() => (byServer = !mine));
      c.write(Buffer.concat(batch));
      await Promise.race([c.closed, new Promise((r) => setTimeout(r, o.settleMs ?? 20))]);
      figures.responses += c.frames.length;
      mine = true;
      c.socket.destroy();
      await c.closed;
      if (byServer) figures.closedByServer++;
    }
  };
  await Promise.all(Array.from({ length: o.parallel ?? 4 }, worker));
  figures.ms = Date.now() - start;
  return figures;
}
