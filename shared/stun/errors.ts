/**
 * The one error type the STUN/TURN codec throws. Pure: no Node APIs.
 *
 * - `truncated`: fewer bytes than a header or a declared length needs.
 * - `not-stun`: not a STUN message (top two bits, magic cookie) or not a STUN/ChannelData stream.
 * - `bad-length`: a length field that is inconsistent (not a multiple of 4, overruns, trailing bytes, too big).
 * - `bad-attribute`: an attribute value that is malformed, or a value that cannot be encoded.
 * - `bad-fingerprint`: FINGERPRINT present but wrong, or not the last attribute.
 * - `bad-channel-data`: a ChannelData message that is malformed or cannot be encoded.
 */
export type StunErrorCode = 'truncated' | 'not-stun' | 'bad-length' | 'bad-attribute' | 'bad-fingerprint' | 'bad-channel-data';

export class StunError extends Error {
  override readonly name = 'StunError';
  constructor(
    readonly code: StunErrorCode,
    message: string,
  ) {
    super(message);
  }
}
