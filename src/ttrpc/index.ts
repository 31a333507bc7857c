/** Our ttrpc v1.1 (containerd/ttrpc): framing, envelope, registry, server, client. */
export { HEADER_LENGTH, MAX_MESSAGE_LENGTH, MessageType, encodeFrame, FrameDecoder, OversizeError, type Frame, type DecodedItem } from './frame';
export { encodeRequest, decodeRequest, encodeResponse, decodeResponse, type Request, type Response, type Status } from './wire';
export { ServiceRegistry, type Handler, type CallContext, type DispatchResult } from './services';
export { Server, type ServerOptions, type ConnectionStats, type Log, type LogLevel } from './server';
export { DEFAULT_LIMITS, type ConnectionLimits } from './limits';
export { Client, dial, socketPathOf, type CallOptions } from './client';
export { ConnectionClosedError } from './errors';
