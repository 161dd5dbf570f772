/**
 * Control-protocol framing: pure functions over bytes, no I/O.
 *
 *   0      1      2                 6
 *   +------+------+-----------------+----------------------+
 *   | ver  | type | length (u32 BE) | payload (length B)   |
 *   +------+------+-----------------+----------------------+
 *
 * The decoder checks the header as soon as its six bytes arrive, so an unsupported version,
 * an unknown type or an oversize length is refused before any payload is buffered.
 */
import { concatBytes } from '../bytes.js';

export const PROTOCOL_VERSION = 1;
export const FRAME_HEADER_LENGTH = 6;
/** Largest payload of a control frame. UDP datagram frames may carry up to 64 KiB of data plus an address. */
export const MAX_FRAME_PAYLOAD = 70 * 1024;

export type ProtocolErrorCode =
  | 'bad-version'
  | 'unknown-type'
  | 'oversize'
  | 'bad-payload'
  | 'unexpected-message';

/** The only error the codec throws. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface RawFrame {
  readonly type: number;
  readonly payload: Uint8Array;
}

export function encodeFrame(type: number, payload: Uint8Array): Uint8Array {
  if (!Number.isInteger(type) || type < 0 || type > 0xff) {
    throw new ProtocolError('unknown-type', `frame type ${type} is not a byte`);
  }
  if (payload.length > MAX_FRAME_PAYLOAD) {
    throw new ProtocolError('oversize', `payload of ${payload.length} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
  }
  const out = new Uint8Array(FRAME_HEADER_LENGTH + payload.length);
  out[0] = PROTOCOL_VERSION;
  out[1] = type;
  new DataView(out.buffer).setUint32(2, payload.length, false);
  out.set(payload, FRAME_HEADER_LENGTH);
  return out;
}

export interface FrameDecoderOptions {
  /** Frame types this decoder accepts; anything else is an 'unknown-type' error. */
  readonly knownTypes: ReadonlySet<number>;
  readonly maxPayload?: number;
}

/**
 * Incremental decoder. Feed it chunks as they arrive; it returns whole frames.
 * After a protocol switch (a work connection turning into a raw byte pipe), `takeRemainder()`
 * hands back bytes that arrived after the last frame so none are lost.
 */
export class FrameDecoder {
  private buffer: Uint8Array = new Uint8Array(0);
  private readonly maxPayload: number;
  private stopped = false;

  constructor(private readonly options: FrameDecoderOptions) {
    this.maxPayload = options.maxPayload ?? MAX_FRAME_PAYLOAD;
  }

  /**
   * Returns every complete frame in the data so far; throws ProtocolError on a bad header.
   *
   * `stopAfter` marks a protocol switch: when it returns true for a frame, decoding stops right
   * after that frame and everything behind it stays buffered for `takeRemainder()`, even bytes
   * that happen to look like frames (a StartWorkConn and the first piped bytes often arrive in one
   * chunk). A stopped decoder only buffers.
   */
  push(chunk: Uint8Array, stopAfter?: (frame: RawFrame) => boolean): RawFrame[] {
    this.buffer = this.buffer.length === 0 ? chunk : concatBytes(this.buffer, chunk);
    const frames: RawFrame[] = [];
    let offset = 0;
    while (!this.stopped) {
      const available = this.buffer.length - offset;
      if (available < FRAME_HEADER_LENGTH) break;
      const view = new DataView(this.buffer.buffer, this.buffer.byteOffset + offset, FRAME_HEADER_LENGTH);
      const error = this.checkHeader(view.getUint8(0), view.getUint8(1), view.getUint32(2, false));
      if (error) throw error;
      const type = view.getUint8(1);
      const length = view.getUint32(2, false);
      if (available < FRAME_HEADER_LENGTH + length) break;
      const start = offset + FRAME_HEADER_LENGTH;
      const frame = { type, payload: this.buffer.slice(start, start + length) };
      frames.push(frame);
      offset = start + length;
      if (stopAfter?.(frame)) this.stopped = true;
    }
    this.buffer = offset === 0 ? this.buffer : this.buffer.slice(offset);
    return frames;
  }

  /** True once a `stopAfter` predicate ended framing. */
  get isStopped(): boolean {
    return this.stopped;
  }

  private checkHeader(version: number, type: number, length: number): ProtocolError | undefined {
    if (version !== PROTOCOL_VERSION) {
      return new ProtocolError('bad-version', `unsupported protocol version ${version} (this side speaks ${PROTOCOL_VERSION})`);
    }
    if (!this.options.knownTypes.has(type)) return new ProtocolError('unknown-type', `unknown frame type ${type}`);
    if (length > this.maxPayload) {
      return new ProtocolError('oversize', `frame length ${length} exceeds the limit of ${this.maxPayload}`);
    }
    return undefined;
  }

  /** Bytes received after the last whole frame; the decoder is empty afterwards. */
  takeRemainder(): Uint8Array {
    const rest = this.buffer;
    this.buffer = new Uint8Array(0);
    return rest;
  }
}

