/**
 * Splits a TURN/STUN byte stream (TCP, TLS) into STUN messages and ChannelData messages. Pure code.
 *
 * Over a stream neither kind has framing of its own: a STUN message is 20 + Length bytes (RFC 8489
 * §5; the Length is a multiple of 4) and a ChannelData message is 4 + Length rounded up to a
 * multiple of 4 (RFC 8656 §12.5: over TCP it "MUST be padded to a multiple of four bytes"). The
 * first two bits tell them apart (0b00 STUN, 0b01 ChannelData); anything else is not TURN, and a
 * stream has no resynchronisation point, so it is an error that ends the stream.
 */
import { HEADER_LENGTH, MAGIC_COOKIE } from './constants.js';
import { StunError } from './errors.js';

/**
 * What a message starting with this byte is, by its first two bits (RFC 7983 §7, RFC 8656 §12):
 * 0b00 STUN, 0b01 ChannelData, anything else neither.
 */
export function firstByteKind(byte: number): 'stun' | 'channel-data' | undefined {
  const top = byte & 0xc0;
  return top === 0x00 ? 'stun' : top === 0x40 ? 'channel-data' : undefined;
}

export type StreamItem = { kind: 'stun'; bytes: Uint8Array } | { kind: 'channel'; channel: number; data: Uint8Array };

export class StunStreamDecoder {
  private buf = new Uint8Array(0);
  private start = 0; // first unread byte in buf
  private end = 0; // one past the last buffered byte
  private failure: StunError | undefined;

  /** @param maxMessage largest accepted message (STUN: header included; ChannelData: padding included). */
  constructor(private readonly maxMessage = 65536) {}

  /** Bytes buffered and not yet returned. */
  get buffered(): number {
    return this.end - this.start;
  }

  /**
   * Adds `chunk` and returns every complete message now available, in stream order. Throws
   * StunError on garbage ('not-stun', 'bad-length') or on a message over `maxMessage`
   * ('bad-length'); after that the decoder is dead and every further push throws the same error.
   */
  push(chunk: Uint8Array): StreamItem[] {
    if (this.failure) throw this.failure;
    this.append(chunk);
    const items: StreamItem[] = [];
    try {
      for (;;) {
        const item = this.next();
        if (!item) break;
        items.push(item);
      }
    } catch (err) {
      this.failure = err instanceof StunError ? err : new StunError('not-stun', String(err));
      throw this.failure;
    }
    if (this.start === this.end) this.start = this.end = 0;
    return items;
  }

  private append(chunk: Uint8Array): void {
    if (!(chunk instanceof Uint8Array)) throw new StunError('not-stun', 'chunk is not a Uint8Array');
    if (chunk.length === 0) return;
    if (this.end + chunk.length > this.buf.length) {
      const live = this.end - this.start;
      const need = live + chunk.length;
      if (need <= this.buf.length && this.start > 0) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        const grown = new Uint8Array(Math.max(need, this.buf.length * 2, 1024));
        grown.set(this.buf.subarray(this.start, this.end));
        this.buf = grown;
      }
      this.start = 0;
      this.end = live;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  private next(): StreamItem | undefined {
    const avail = this.end - this.start;
    if (avail < 1) return undefined;
    const b = this.buf;
    const s = this.start;
    const top = b[s]! & 0xc0;
    if (top !== 0x00 && top !== 0x40) throw new StunError('not-stun', 'stream data is neither STUN nor ChannelData');
    if (avail < 4) return undefined;
    const length = (b[s + 2]! << 8) | b[s + 3]!;
    if (top === 0x40) {
      const total = (4 + length + 3) & ~3;
      if (total > this.maxMessage) throw new StunError('bad-length', `ChannelData of ${total} bytes exceeds ${this.maxMessage}`);
      if (avail < total) return undefined;
      const channel = (b[s]! << 8) | b[s + 1]!;
      const data = b.slice(s + 4, s + 4 + length);
      this.start += total;
      return { kind: 'channel', channel, data };
    }
    // RFC 8489 §5: "the last 2 bits of this field are always zero."
    if (length % 4 !== 0) throw new StunError('bad-length', `STUN length ${length} is not a multiple of 4`);
    const total = HEADER_LENGTH + length;
    if (total > this.maxMessage) throw new StunError('bad-length', `STUN message of ${total} bytes exceeds ${this.maxMessage}`);
    if (avail >= 8) {
      const cookie = ((b[s + 4]! << 24) | (b[s + 5]! << 16) | (b[s + 6]! << 8) | b[s + 7]!) >>> 0;
      if (cookie !== MAGIC_COOKIE) throw new StunError('not-stun', 'no magic cookie');
    }
    if (avail < total) return undefined;
    const bytes = b.slice(s, s + total);
    this.start += total;
    return { kind: 'stun', bytes };
  }
}
