/**
 * Control-protocol messages: typed values <-> frames. Pure; the only error thrown is ProtocolError.
 *
 * Control messages carry a JSON payload checked against a schema per type; the UDP datagram
 * message is binary because it sits on the data path.
 */
import { z } from 'zod';
import { TUNNEL_TYPES } from '../config/client-config.js';
import { encodeFrame, FrameDecoder, ProtocolError, type RawFrame } from './frame.js';
import { p2pSchemas } from './p2p-messages.js';
// utf8Decoder keeps a leading U+FEFF, so decoded text maps 1:1 to the bytes (an address of just a BOM must not decode to "").
import { utf8Decoder, utf8Encoder } from '../utf8.js';

export const MessageType = {
  Challenge: 1,
  Login: 2,
  LoginResult: 3,
  NewTunnel: 4,
  TunnelResult: 5,
  CloseTunnel: 6,
  ReqWorkConn: 7,
  NewWorkConn: 8,
  StartWorkConn: 9,
  NewVisitorConn: 10,
  VisitorResult: 11,
  Ping: 12,
  Pong: 13,
  Error: 14,
  UdpDatagram: 15,
  NewMuxConn: 16,
  // peer-to-peer signalling (schemas in p2p-messages.ts)
  P2pOffer: 17,
  P2pAnswer: 18,
  P2pStart: 19,
  P2pResult: 20,
  P2pRefused: 21,
} as const;
export type MessageTypeName = keyof typeof MessageType;

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `${bytes}-byte lowercase hex`);
const name = z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" or "-"');
const port = z.number().int().min(0).max(65535);
const time = z.number().int().nonnegative();

/** A tunnel type on the wire: one of the config's tunnel types (see shared/config/client-config.ts). */
export const TunnelKind = z.enum(TUNNEL_TYPES);
export type TunnelKind = z.infer<typeof TunnelKind>;

export const schemas = {
  /** Server -> client, first frame on every connection: a fresh nonce the client must sign. */
  Challenge: z.object({ nonce: hex(16), time, server: z.string().max(64) }),
  /** Client -> server on a control connection. */
  Login: z.object({
    version: z.string().max(32),
    clientId: name,
    timestamp: time,
    nonce: hex(16),
    proof: hex(32),
  }),
  /** Server -> client. `proof` shows the server also holds the token. */
  LoginResult: z.object({
    sessionId: hex(16),
    proof: hex(32),
    server: z.string().max(64),
    /**
     * The server's STUN port (UDP, on the host the client dialed), when it runs STUN: the engine
     * gathers its server-reflexive P2P candidates and its NAT report there. Optional: older
     * servers omit it and P2P then offers host candidates only.
     */
    stunPort: port.optional(),
  }),
  NewTunnel: z.object({
    name,
    kind: TunnelKind,
    remotePort: port.optional(),
    /** For secret tunnels: a key derived from the secret (never the secret itself). */
    secretKey: hex(32).optional(),
    allow: z.array(z.string().max(64)).max(256).optional(),
    deny: z.array(z.string().max(64)).max(256).optional(),
    /**
     * udp: seconds after which an idle remote sender's session ends (the client's `idleTimeout`),
     * so both ends expire it together. Optional: servers and clients without it keep working.
     */
    idleTimeout: z.number().positive().optional(),
  }),
  TunnelResult: z.object({
    name,
    ok: z.boolean(),
    remotePort: port.optional(),
    error: z.string().max(512).optional(),
  }),
  CloseTunnel: z.object({ name }),
  ReqWorkConn: z.object({}),
  /** Client -> server, first frame on a work connection. */
  NewWorkConn: z.object({ sessionId: hex(16), proof: hex(32) }),
  /**
   * Client -> server, first frame of the session's multiplexed connection: after it the connection
   * carries yamux frames, and the server opens one stream per user connection instead of asking
   * for work connections (each stream then starts with StartWorkConn, as a work connection does).
   */
  NewMuxConn: z.object({ sessionId: hex(16), proof: hex(32) }),
  /** Server -> client on a work connection; raw bytes (tcp/secret) or UdpDatagram frames (udp) follow. */
  StartWorkConn: z.object({
    tunnel: name,
    connId: z.number().int().nonnegative(),
    srcAddr: z.string().max(64),
    srcPort: port,
  }),
  /** Visitor client -> server: reach a secret tunnel. */
  NewVisitorConn: z.object({
    sessionId: hex(16),
    proof: hex(32),
    tunnel: name,
    secretProof: hex(32),
  }),
  VisitorResult: z.object({ ok: z.boolean(), error: z.string().max(512).optional() }),
  Ping: z.object({ time }),
  Pong: z.object({ time }),
  Error: z.object({
    code: z.string().max(64),
    message: z.string().max(1024),
    /**
     * With code "rate-limited": seconds the client should wait before its next attempt. Optional,
     * so older peers on either side ignore or omit it.
     */
    retryAfter: z.number().int().nonnegative().max(86_400).optional(),
  }),
  ...p2pSchemas,
} as const;

type JsonName = keyof typeof schemas;
/** z.object({}) infers Record<string, never>, which would make `{ type: 'ReqWorkConn' }` unassignable. */
type Body<T> = string extends keyof T ? unknown : T;
type JsonMessage = { [K in JsonName]: { type: K } & Body<z.infer<(typeof schemas)[K]>> }[JsonName];

export interface UdpDatagramMessage {
  readonly type: 'UdpDatagram';
  readonly address: string;
  readonly port: number;
  readonly data: Uint8Array;
}

export type Message = JsonMessage | UdpDatagramMessage;
export type MessageOf<K extends MessageTypeName> = Extract<Message, { type: K }>;

const typeNames = new Map<number, MessageTypeName>(
  Object.entries(MessageType).map(([k, v]) => [v, k as MessageTypeName]),
);
export const KNOWN_MESSAGE_TYPES: ReadonlySet<number> = new Set(Object.values(MessageType));

export function encodeMessage(message: Message): Uint8Array {
  if (message.type === 'UdpDatagram') return encodeFrame(MessageType.UdpDatagram, encodeDatagram(message));
  const { type, ...body } = message;
  return encodeFrame(MessageType[type], utf8Encoder.encode(JSON.stringify(body)));
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * StartWorkConn comes once per user connection, so it is checked by hand (zod's parse was 2.4% of
 * a client's CPU per new connection, relay-profile connrate). Accepts only what its schema accepts,
 * with the same result (unknown keys stripped); anything else goes to the schema, which gives the
 * error (or, for what this is stricter about, the result). messages.test.ts checks the two agree.
 */
export function startWorkConnFastPath(json: unknown): MessageOf<'StartWorkConn'> | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const { tunnel, connId, srcAddr, srcPort } = json as Record<string, unknown>;
  if (typeof tunnel !== 'string' || !NAME.test(tunnel)) return undefined;
  if (typeof connId !== 'number' || !Number.isSafeInteger(connId) || connId < 0) return undefined;
  if (typeof srcAddr !== 'string' || srcAddr.length > 64) return undefined;
  if (typeof srcPort !== 'number' || !Number.isSafeInteger(srcPort) || srcPort < 0 || srcPort > 65535) return undefined;
  return { type: 'StartWorkConn', tunnel, connId, srcAddr, srcPort };
}

export function decodeMessage(frame: RawFrame): Message {
  const typeName = typeNames.get(frame.type);
  if (!typeName) throw new ProtocolError('unknown-type', `unknown frame type ${frame.type}`);
  if (typeName === 'UdpDatagram') return decodeDatagram(frame.payload);
  let json: unknown;
  try {
    json = JSON.parse(utf8Decoder.decode(frame.payload));
  } catch {
    throw new ProtocolError('bad-payload', `${typeName}: payload is not UTF-8 JSON`);
  }
  if (typeName === 'StartWorkConn') {
    const fast = startWorkConnFastPath(json);
    if (fast !== undefined) return fast;
  }
  const parsed = schemas[typeName].safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'payload';
    throw new ProtocolError('bad-payload', `${typeName}: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return { type: typeName, ...(parsed.data as object) } as Message;
}

/** A frame decoder that yields typed messages. */
export class MessageDecoder {
  private readonly frames: FrameDecoder;
  constructor(maxPayload?: number) {
    this.frames = new FrameDecoder({ knownTypes: KNOWN_MESSAGE_TYPES, maxPayload });
  }
  /** Whole messages so far; `stopAfter` ends framing after the message that switches to raw bytes. */
  push(chunk: Uint8Array, stopAfter?: (message: Message) => boolean): Message[] {
    if (!stopAfter) return this.frames.push(chunk).map(decodeMessage);
    const messages: Message[] = [];
    this.frames.push(chunk, (frame) => {
      const m = decodeMessage(frame);
      messages.push(m);
      return stopAfter(m);
    });
    return messages;
  }
  takeRemainder(): Uint8Array {
    return this.frames.takeRemainder();
  }
}

// UdpDatagram payload: [u8 address length][address, ASCII][u16 BE port][data]
function encodeDatagram(m: UdpDatagramMessage): Uint8Array {
  const address = utf8Encoder.encode(m.address);
  if (address.length === 0 || address.length > 64) throw new ProtocolError('bad-payload', 'UdpDatagram: address length out of range');
  if (!Number.isInteger(m.port) || m.port < 0 || m.port > 65535) throw new ProtocolError('bad-payload', 'UdpDatagram: bad port');
  const out = new Uint8Array(1 + address.length + 2 + m.data.length);
  out[0] = address.length;
  out.set(address, 1);
  new DataView(out.buffer).setUint16(1 + address.length, m.port, false);
  out.set(m.data, 3 + address.length);
  return out;
}

function decodeDatagram(payload: Uint8Array): UdpDatagramMessage {
  const addressLength = payload[0];
  if (addressLength === undefined || addressLength === 0 || addressLength > 64 || payload.length < 3 + addressLength) {
    throw new ProtocolError('bad-payload', 'UdpDatagram: truncated header');
  }
  let address: string;
  try {
    address = utf8Decoder.decode(payload.subarray(1, 1 + addressLength));
  } catch {
    throw new ProtocolError('bad-payload', 'UdpDatagram: address is not UTF-8');
  }
  const port = new DataView(payload.buffer, payload.byteOffset).getUint16(1 + addressLength, false);
  return { type: 'UdpDatagram', address, port, data: payload.slice(3 + addressLength) };
}

/** Narrow a decoded message or throw 'unexpected-message' (used by state machines expecting one reply). */
export function expectMessage<K extends MessageTypeName>(message: Message, type: K): MessageOf<K> {
  if (message.type === 'Error' && type !== 'Error') {
    const e = message as MessageOf<'Error'>;
    throw new ProtocolError('unexpected-message', `${e.code}: ${e.message}`);
  }
  if (message.type !== type) throw new ProtocolError('unexpected-message', `expected ${type}, got ${message.type}`);
  return message as MessageOf<K>;
}
