/**
 * TURN ChannelData messages (RFC 8656 §12.4, §12.5). Pure code; errors are StunError.
 *
 * RFC 8656 §12.4: "The Channel Number field specifies the number of the channel on which the data
 * is traveling" and "The Length field specifies the length in bytes of the application data field
 * (i.e., it does not include the size of the ChannelData header). Note that 0 is a valid length."
 * The first two bits of a ChannelData message are 0b01 (channel numbers 0x4000-0x7FFF), which is
 * what tells it apart from STUN (0b00) on a shared socket (RFC 7983).
 */
import { CHANNEL_MAX_RFC5766, CHANNEL_MIN } from './constants.js';
import { copyBytes } from './bytes.js';
import { StunError } from './errors.js';

export interface ChannelData {
  channel: number;
  data: Uint8Array;
}

export const CHANNEL_DATA_HEADER_LENGTH = 4;

/** First two bits 0b01 and the bytes hold the whole ChannelData message (padding optional). */
export function isChannelData(bytes: Uint8Array): boolean {
  if (!(bytes instanceof Uint8Array) || bytes.length < CHANNEL_DATA_HEADER_LENGTH) return false;
  if ((bytes[0]! & 0xc0) !== 0x40) return false;
  const length = (bytes[2]! << 8) | bytes[3]!;
  return bytes.length >= CHANNEL_DATA_HEADER_LENGTH + length;
}

/**
 * Encodes a ChannelData message. `padToFour` for stream transports: RFC 8656 §12.5 "Over TCP and
 * TLS-over-TCP, the ChannelData message MUST be padded to a multiple of four bytes in order to
 * ensure the alignment of subsequent messages. The padding is not reflected in the length field of
 * the ChannelData message [...] Over UDP, the padding is not required but MAY be included."
 */
export function encodeChannelData(channel: number, data: Uint8Array, padToFour = false): Uint8Array {
  checkChannelData(channel, data);
  return encodeChannelDataInto(new Uint8Array(channelDataLength(data.length, padToFour)), channel, data, padToFour);
}

/** How many bytes encodeChannelData(channel, data of `dataLength` bytes, padToFour) returns. */
export function channelDataLength(dataLength: number, padToFour = false): number {
  const total = CHANNEL_DATA_HEADER_LENGTH + dataLength;
  return padToFour ? (total + 3) & ~3 : total;
}

/**
 * encodeChannelData into `out` (exactly channelDataLength(data.length, padToFour) bytes, e.g. from
 * a pool: any padding is zeroed, nothing of its old content is left) and returns `out`. Same checks.
 */
export function encodeChannelDataInto(out: Uint8Array, channel: number, data: Uint8Array, padToFour = false): Uint8Array {
  checkChannelData(channel, data);
  const total = CHANNEL_DATA_HEADER_LENGTH + data.length;
  if (!(out instanceof Uint8Array) || out.length !== channelDataLength(data.length, padToFour)) {
    throw new StunError('bad-channel-data', `the output must be ${channelDataLength(data.length, padToFour)} bytes`);
  }
  out[0] = channel >> 8;
  out[1] = channel & 0xff;
  out[2] = data.length >> 8;
  out[3] = data.length & 0xff;
  out.set(data, CHANNEL_DATA_HEADER_LENGTH);
  if (out.length > total) out.fill(0, total);
  return out;
}

function checkChannelData(channel: number, data: Uint8Array): void {
  if (!Number.isInteger(channel) || channel < CHANNEL_MIN || channel > CHANNEL_MAX_RFC5766) {
    throw new StunError('bad-channel-data', `channel ${String(channel)} is not in 0x4000-0x7FFF`);
  }
  if (!(data instanceof Uint8Array)) throw new StunError('bad-channel-data', 'data must be a Uint8Array');
  if (data.length > 0xffff) throw new StunError('bad-channel-data', `${data.length} bytes do not fit the length field`);
}

/**
 * How many bytes a ChannelData message with `dataLength` bytes of data takes on a stream: RFC 8656
 * §12.5 "Over TCP and TLS-over-TCP, the ChannelData message MUST be padded to a multiple of four
 * bytes".
 */
export function channelDataStreamLength(dataLength: number): number {
  return (CHANNEL_DATA_HEADER_LENGTH + dataLength + 3) & ~3;
}

/**
 * The padding bytes `bytes` still needs to go on a stream (RFC 8656 §12.5): 0 when it is not a
 * ChannelData message (first two bits not 0b01) or is padded already.
 */
export function channelDataPadding(bytes: Uint8Array): number {
  if (bytes.length < CHANNEL_DATA_HEADER_LENGTH || (bytes[0]! & 0xc0) !== 0x40) return 0;
  return Math.max(0, channelDataStreamLength((bytes[2]! << 8) | bytes[3]!) - bytes.length);
}

/**
 * Decodes a ChannelData datagram. The data (copied) is exactly `length` bytes; any bytes after it
 * (padding) are ignored. RFC 8656 §12.6: a datagram "too short to contain the claimed length of the
 * ChannelData message" is discarded: here StunError('truncated').
 */
export function decodeChannelData(bytes: Uint8Array): ChannelData {
  const frame = decodeChannelDataView(bytes);
  return { channel: frame.channel, data: copyBytes(frame.data) };
}

/**
 * decodeChannelData without the copy: `data` is a view into `bytes` (same checks, same errors).
 * For a relay that hands the bytes straight to a socket and keeps nothing: a server's UDP socket
 * gives every datagram a buffer of its own, so nothing else writes there.
 */
export function decodeChannelDataView(bytes: Uint8Array): ChannelData {
  if (!(bytes instanceof Uint8Array)) throw new StunError('bad-channel-data', 'input is not a Uint8Array');
  if (bytes.length < CHANNEL_DATA_HEADER_LENGTH) throw new StunError('truncated', 'shorter than the ChannelData header');
  if ((bytes[0]! & 0xc0) !== 0x40) throw new StunError('bad-channel-data', 'the first two bits are not 0b01');
  const channel = (bytes[0]! << 8) | bytes[1]!;
  const length = (bytes[2]! << 8) | bytes[3]!;
  if (bytes.length < CHANNEL_DATA_HEADER_LENGTH + length) {
    throw new StunError('truncated', `ChannelData length ${length} needs ${CHANNEL_DATA_HEADER_LENGTH + length} bytes, have ${bytes.length}`);
  }
  return { channel, data: bytes.subarray(CHANNEL_DATA_HEADER_LENGTH, CHANNEL_DATA_HEADER_LENGTH + length) };
}
