/**
 * UDP services over peer-to-peer (issue 9): the two framings a user's datagram travels in.
 *
 * Direct path: every session of a p2p udp visitor shares the path's one encrypted, unordered,
 * unreliable message channel (secret-stream `trySend` over udx, one message per datagram), so each
 * message names its session:
 *
 *   [kind u8][session id u32 BE][payload]     kind 0 = data, 1 = close (the sender dropped the session)
 *
 * Relay path: each session is its own relay stream (a reliable byte pipe through the server), so
 * the only thing to keep is where one datagram ends and the next begins:
 *
 *   [length u16 BE][payload] …
 *
 * Pure functions over bytes; bad input throws a DatagramFrameError with a plain reason, never
 * anything else.
 */

/** The largest UDP payload there is (65535 − 8-byte UDP header − 20-byte IPv4 header). */
export const MAX_UDP_PAYLOAD = 65_507;
/**
 * The largest payload the direct path carries in one message: one 1500-byte Ethernet frame holds
 * it with IPv4 + UDP (28), udx's header (20), secret-stream's nonce and MAC (24), the transport's
 * anti-replay sequence number (8) and this frame's header (5): 1485 bytes, so a datagram is never
 * fragmented on the way. Larger datagrams are dropped (counted).
 */
export const MAX_DIRECT_PAYLOAD = 1_400;
export const DIRECT_HEADER_LENGTH = 5;
export const RELAY_HEADER_LENGTH = 2;

export type DirectFrameKind = 'data' | 'close';

export interface DirectFrame {
  readonly kind: DirectFrameKind;
  /** The visitor's id for one user session (one user address), 0..2^32−1. */
  readonly session: number;
  readonly payload: Uint8Array;
}

export class DatagramFrameError extends Error {
  override readonly name = 'DatagramFrameError';
}

const KIND_CODE: Record<DirectFrameKind, number> = { data: 0, close: 1 };

export function encodeDirectFrame(frame: DirectFrame): Uint8Array {
  const { kind, session, payload } = frame;
  if (!Number.isInteger(session) || session < 0 || session > 0xffff_ffff) throw new DatagramFrameError(`session id must be an integer 0..4294967295, got ${session}`);
  if (kind === 'close' && payload.length !== 0) throw new DatagramFrameError('a close frame carries no payload');
  if (payload.length > MAX_DIRECT_PAYLOAD) throw new DatagramFrameError(`datagram of ${payload.length} bytes is larger than the direct path carries (${MAX_DIRECT_PAYLOAD})`);
  const out = new Uint8Array(DIRECT_HEADER_LENGTH + payload.length);
  out[0] = KIND_CODE[kind];
  new DataView(out.buffer).setUint32(1, session);
  out.set(payload, DIRECT_HEADER_LENGTH);
  return out;
}

/** Decodes one direct-path message. The payload is a view into `bytes` (no copy). */
export function decodeDirectFrame(bytes: Uint8Array): DirectFrame {
  if (bytes.length < DIRECT_HEADER_LENGTH) throw new DatagramFrameError(`direct datagram frame truncated: ${bytes.length} bytes, the header alone is ${DIRECT_HEADER_LENGTH}`);
  const payloadLength = bytes.length - DIRECT_HEADER_LENGTH;
  if (payloadLength > MAX_DIRECT_PAYLOAD) throw new DatagramFrameError(`direct datagram frame oversized: ${payloadLength} payload bytes, at most ${MAX_DIRECT_PAYLOAD}`);
  const code = bytes[0];
  const kind: DirectFrameKind | undefined = code === 0 ? 'data' : code === 1 ? 'close' : undefined;
  if (!kind) throw new DatagramFrameError(`direct datagram frame of unknown kind ${code}`);
  if (kind === 'close' && payloadLength !== 0) throw new DatagramFrameError('direct close frame with a payload');
  const session = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1);
  return { kind, session, payload: bytes.subarray(DIRECT_HEADER_LENGTH) };
}

/** One datagram as it goes on a relay stream: [length u16][payload]. */
export function encodeRelayDatagram(payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_UDP_PAYLOAD) throw new DatagramFrameError(`datagram of ${payload.length} bytes is larger than UDP allows (${MAX_UDP_PAYLOAD})`);
  const out = new Uint8Array(RELAY_HEADER_LENGTH + payload.length);
  out[0] = payload.length >>> 8;
  out[1] = payload.length & 0xff;
  out.set(payload, RELAY_HEADER_LENGTH);
  return out;
}

/**
 * Reassembles datagrams from a relay stream's chunks, however the stream cut them. A length above
 * MAX_UDP_PAYLOAD throws (the stream is not speaking this framing; the caller drops it).
 * `finish()` at the end of the stream throws if it stopped inside a datagram.
 */
export class RelayDatagramReader {
  private buffered: Uint8Array = new Uint8Array(0);

  /** The complete datagrams `chunk` finishes (each its own copy), in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    let data: Uint8Array;
    if (this.buffered.length === 0) data = chunk;
    else {
      data = new Uint8Array(this.buffered.length + chunk.length);
      data.set(this.buffered, 0);
      data.set(chunk, this.buffered.length);
    }
    const out: Uint8Array[] = [];
    let at = 0;
    while (data.length - at >= RELAY_HEADER_LENGTH) {
      const length = (data[at]! << 8) | data[at + 1]!;
      if (length > MAX_UDP_PAYLOAD) throw new DatagramFrameError(`relay datagram length ${length} is larger than UDP allows (${MAX_UDP_PAYLOAD})`);
      if (data.length - at - RELAY_HEADER_LENGTH < length) break;
      out.push(copy(data, at + RELAY_HEADER_LENGTH, at + RELAY_HEADER_LENGTH + length));
      at += RELAY_HEADER_LENGTH + length;
    }
    this.buffered = copy(data, at, data.length);
    return out;
  }

  /** Bytes of an unfinished datagram held. */
  get pending(): number {
    return this.buffered.length;
  }

  /** The stream ended: throws if it ended inside a datagram. */
  finish(): void {
    if (this.buffered.length > 0) throw new DatagramFrameError(`relay stream ended inside a datagram (${this.buffered.length} bytes of it)`);
  }
}

/** A copy of bytes[start, end) even when `bytes` is a Node Buffer (whose slice() is a view). */
function copy(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes, start, end);
}
