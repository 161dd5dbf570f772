/**
 * yamux framing (hashicorp/yamux spec.md): pure functions over bytes, no I/O.
 *
 *   0        1        2                 4                      8                     12
 *   +--------+--------+-----------------+----------------------+---------------------+
 *   | ver=0  | type   | flags (u16 BE)  | stream id (u32 BE)   | length (u32 BE)     |
 *   +--------+--------+-----------------+----------------------+---------------------+
 *
 * `length` is the payload size for Data frames, the window delta for WindowUpdate, an opaque
 * value for Ping and an error code for GoAway: only Data frames carry bytes after the header.
 *
 * The decoder checks a header as soon as its twelve bytes arrive, so a bad version, an unknown
 * type or an oversize Data length is refused before any payload is buffered. Flag bits beyond
 * the four defined ones are passed through untouched (the session ignores them, as yamux does).
 */

export const MUX_VERSION = 0;
export const MUX_HEADER_LENGTH = 12;
/** The window every stream starts with on both sides (spec: 256 KiB). */
export const MUX_INITIAL_WINDOW = 256 * 1024;
/** Largest Data payload the decoder accepts unless told otherwise (= the initial window). */
export const MUX_DEFAULT_MAX_FRAME_PAYLOAD = MUX_INITIAL_WINDOW;
export const MUX_MAX_U32 = 0xffff_ffff;

export const MuxType = {
  Data: 0,
  WindowUpdate: 1,
  Ping: 2,
  GoAway: 3,
} as const;
export type MuxType = (typeof MuxType)[keyof typeof MuxType];

export const MuxFlag = {
  SYN: 0x1,
  ACK: 0x2,
  FIN: 0x4,
  RST: 0x8,
} as const;

/** GoAway codes (the frame's length field). */
export const GoAwayCode = {
  Normal: 0,
  ProtocolError: 1,
  InternalError: 2,
} as const;

export type MuxErrorCode =
  // codec
  | 'bad-version'
  | 'unknown-type'
  | 'oversize'
  | 'bad-header'
  // session / stream (thrown or emitted by io/mux, defined here so callers match on one class)
  | 'protocol'
  | 'stream-reset'
  | 'session-closed'
  | 'go-away'
  | 'too-many-streams'
  | 'streams-exhausted'
  | 'keepalive-timeout';

/** The only error the codec throws (and the error type io/mux uses for streams and sessions). */
export class MuxError extends Error {
  override readonly name = 'MuxError';
  constructor(
    readonly code: MuxErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface MuxHeader {
  readonly type: MuxType;
  readonly flags: number;
  readonly streamId: number;
  /** Data: payload length; WindowUpdate: delta; Ping: opaque value; GoAway: code. */
  readonly length: number;
}

export interface MuxFrame extends MuxHeader {
  /** The Data payload (`length` bytes); empty for every other type. May be a view into a pushed chunk. */
  readonly payload: Uint8Array;
}

const EMPTY = new Uint8Array(0);

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= MUX_MAX_U32;
}

function writeHeader(out: Uint8Array, h: MuxHeader): void {
  if (!Number.isInteger(h.type) || h.type < 0 || h.type > 3) throw new MuxError('unknown-type', `frame type ${h.type} is not one of 0..3`);
  if (!Number.isInteger(h.flags) || h.flags < 0 || h.flags > 0xffff) throw new MuxError('bad-header', `flags ${h.flags} is not a u16`);
  if (!isU32(h.streamId)) throw new MuxError('bad-header', `stream id ${h.streamId} is not a u32`);
  if (!isU32(h.length)) throw new MuxError('bad-header', `length ${h.length} is not a u32`);
  out[0] = MUX_VERSION;
  out[1] = h.type;
  out[2] = h.flags >>> 8;
  out[3] = h.flags & 0xff;
  out[4] = h.streamId >>> 24;
  out[5] = (h.streamId >>> 16) & 0xff;
  out[6] = (h.streamId >>> 8) & 0xff;
  out[7] = h.streamId & 0xff;
  out[8] = h.length >>> 24;
  out[9] = (h.length >>> 16) & 0xff;
  out[10] = (h.length >>> 8) & 0xff;
  out[11] = h.length & 0xff;
}

/** The 12-byte header. Throws MuxError for a field out of range. */
export function encodeHeader(header: MuxHeader): Uint8Array {
  const out = new Uint8Array(MUX_HEADER_LENGTH);
  writeHeader(out, header);
  return out;
}

/**
 * Header and payload in one buffer (one socket write). For a Data frame `header.length` must equal
 * `payload.length`; other types take no payload.
 */
export function encodeFrame(header: MuxHeader, payload: Uint8Array = EMPTY): Uint8Array {
  if (header.type === MuxType.Data) {
    if (header.length !== payload.length) {
      throw new MuxError('bad-header', `Data length ${header.length} does not match a payload of ${payload.length} bytes`);
    }
  } else if (payload.length !== 0) {
    throw new MuxError('bad-header', `frame type ${header.type} carries no payload`);
  }
  const out = new Uint8Array(MUX_HEADER_LENGTH + payload.length);
  writeHeader(out, header);
  out.set(payload, MUX_HEADER_LENGTH);
  return out;
}

export interface MuxFrameDecoderOptions {
  /** Largest Data payload accepted; a larger length is a MuxError('oversize'). Default 256 KiB. */
  readonly maxFramePayload?: number;
  /**
   * Hand out a Data frame's payload in pieces as its bytes arrive, each a view of a pushed chunk,
   * instead of waiting for the whole payload and copying it together. Each piece is a Data frame
   * of its own length; SYN and ACK ride on the first piece and FIN and RST on the last, so a
   * consumer that handles whole frames handles pieces the same way (windows add up the same).
   */
  readonly streamData?: boolean;
}

/**
 * Incremental decoder: feed it chunks as they arrive, get whole frames back. A payload that lies
 * inside one pushed chunk is returned as a view of it (no copy); one that straddles chunks is copied.
 * After it has thrown, the decoder is poisoned: every later push throws the same error.
 */
export class MuxFrameDecoder {
  private readonly maxFramePayload: number;
  private readonly streamData: boolean;
  /** With streamData: payload bytes of the current Data frame not handed out yet, and whether one piece was. */
  private payloadLeft = 0;
  private pieceSent = false;
  private chunks: Uint8Array[] = [];
  /** Read offset into chunks[0]. */
  private head = 0;
  private buffered = 0;
  /** A checked header whose payload has not fully arrived yet. */
  private header: MuxHeader | undefined;
  private failure: MuxError | undefined;

  constructor(options: MuxFrameDecoderOptions = {}) {
    const max = options.maxFramePayload ?? MUX_DEFAULT_MAX_FRAME_PAYLOAD;
    if (!isU32(max)) throw new MuxError('bad-header', `maxFramePayload ${max} is not a u32`);
    this.maxFramePayload = max;
    this.streamData = options.streamData ?? false;
  }

  /** Every frame completed by `chunk`; throws MuxError on a bad header. */
  push(chunk: Uint8Array): MuxFrame[] {
    if (this.failure) throw this.failure;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: MuxFrame[] = [];
    for (;;) {
      if (!this.header) {
        if (this.buffered < MUX_HEADER_LENGTH) break;
        const h = this.take(MUX_HEADER_LENGTH);
        const header = this.check(h);
        if (header.type !== MuxType.Data || header.length === 0) {
          frames.push({ ...header, payload: EMPTY });
          continue;
        }
        this.header = header;
        this.payloadLeft = header.length;
        this.pieceSent = false;
      }
      if (this.streamData) {
        if (this.buffered === 0) break;
        const piece = this.takeUpTo(this.payloadLeft);
        this.payloadLeft -= piece.length;
        const last = this.payloadLeft === 0;
        const ends = this.header.flags & (MuxFlag.FIN | MuxFlag.RST);
        const flags = (this.pieceSent ? 0 : this.header.flags & ~ends) | (last ? ends : 0);
        frames.push({ type: MuxType.Data, flags, streamId: this.header.streamId, length: piece.length, payload: piece });
        this.pieceSent = true;
        if (last) this.header = undefined;
        continue;
      }
      if (this.buffered < this.header.length) break;
      frames.push({ ...this.header, payload: this.take(this.header.length) });
      this.header = undefined;
    }
    return frames;
  }

  /** Bytes held: a partial header, or the payload received so far of a frame not yet complete. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  private check(h: Uint8Array): MuxHeader {
    const version = h[0]!;
    const type = h[1]!;
    const flags = (h[2]! << 8) | h[3]!;
    const streamId = ((h[4]! << 24) | (h[5]! << 16) | (h[6]! << 8) | h[7]!) >>> 0;
    const length = ((h[8]! << 24) | (h[9]! << 16) | (h[10]! << 8) | h[11]!) >>> 0;
    if (version !== MUX_VERSION) {
      throw this.fail(new MuxError('bad-version', `unsupported yamux version ${version} (this side speaks ${MUX_VERSION})`));
    }
    if (type > 3) throw this.fail(new MuxError('unknown-type', `unknown yamux frame type ${type}`));
    if (type === MuxType.Data && length > this.maxFramePayload) {
      throw this.fail(new MuxError('oversize', `Data frame of ${length} bytes exceeds the limit of ${this.maxFramePayload}`));
    }
    return { type: type as MuxType, flags, streamId, length };
  }

  private fail(error: MuxError): MuxError {
    this.failure = error;
    this.chunks = [];
    this.buffered = 0;
    this.head = 0;
    return error;
  }

  /** Remove and return up to `n` bytes (1 <= buffered), never more than what is left of the first chunk: always a view. */
  private takeUpTo(n: number): Uint8Array {
    const first = this.chunks[0]!;
    const k = Math.min(n, first.length - this.head);
    const out = first.subarray(this.head, this.head + k);
    this.buffered -= k;
    this.head += k;
    if (this.head === first.length) {
      this.chunks.shift();
      this.head = 0;
    }
    return out;
  }

  /** Remove and return the next `n` bytes (n <= buffered): a view when they sit in one chunk. */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]!;
    const available = first.length - this.head;
    this.buffered -= n;
    if (available >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length - this.head, n - filled);
      out.set(c.subarray(this.head, this.head + k), filled);
      filled += k;
      this.head += k;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    return out;
  }
}
