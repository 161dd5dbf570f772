/**
 * Anti-replay for the direct path's encrypted datagrams (issue 9: a third party must not be able to
 * inject data into a punched path). secret-stream's messages are authenticated but carry no replay
 * check, so a recorded datagram could be sent again and would decrypt fine. Each datagram therefore
 * carries a sequence number inside the encryption, and the receiver keeps a sliding window, as IPsec
 * ESP does (RFC 4303 §3.4.3: "Duplicates are rejected through the use of a sliding receive window";
 * the bitmap scheme of RFC 6479): a number seen before, or older than the window, is rejected.
 * Datagrams may still arrive out of order within the window, as UDP's do.
 *
 * Pure state machine over numbers: `check(seq)` says whether a datagram that authenticated
 * (decrypted) may be delivered, and records it.
 */

/** Sequence numbers are integers 0 .. 2^53 − 1 (a sender would need centuries to run out). */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

export class ReplayWindow {
  private readonly bits: Uint32Array;
  /** The highest sequence number accepted so far (−1: none yet). */
  private top = -1;

  /** `size`: how far behind the highest number a late datagram is still accepted (a multiple of 32). */
  constructor(readonly size: number = 2048) {
    if (!Number.isInteger(size) || size < 32 || size % 32 !== 0) throw new RangeError(`replay window size must be a multiple of 32, at least 32, got ${size}`);
    this.bits = new Uint32Array(size / 32);
  }

  /** True (and recorded) for a number not seen before and inside the window; false for a replay or one too old. */
  check(seq: number): boolean {
    if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQ) return false;
    if (seq > this.top) {
      this.advance(seq);
      this.set(seq);
      return true;
    }
    if (seq <= this.top - this.size) return false;
    if (this.has(seq)) return false;
    this.set(seq);
    return true;
  }

  /** Datagrams at or below this number are rejected as too old. */
  get floor(): number {
    return this.top - this.size;
  }

  private advance(seq: number): void {
    if (seq - this.top >= this.size) this.bits.fill(0);
    else for (let s = this.top + 1; s < seq; s++) this.clear(s);
    this.top = seq;
  }

  private index(seq: number): [number, number] {
    const slot = seq % this.size;
    return [slot >>> 5, 1 << (slot & 31)];
  }

  private has(seq: number): boolean {
    const [word, bit] = this.index(seq);
    return (this.bits[word]! & bit) !== 0;
  }

  private set(seq: number): void {
    const [word, bit] = this.index(seq);
    this.bits[word]! |= bit;
  }

  private clear(seq: number): void {
    const [word, bit] = this.index(seq);
    this.bits[word]! &= ~bit;
  }
}
