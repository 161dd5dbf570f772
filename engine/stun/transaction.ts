/**
 * A STUN client transaction (RFC 8489 §6.2). Pure: time is an argument, no sockets, no timers. The
 * I/O adapter sends whatever `poll(now)` hands back and arms a timer for `nextAt`.
 *
 * Over UDP (§6.2.1): "the client SHOULD retransmit a STUN request message starting with an interval
 * of RTO ("Retransmission TimeOut"), doubling after each retransmission." "Retransmissions continue
 * until a response is received or until a total of Rc requests have been sent. Rc SHOULD be
 * configurable and SHOULD have a default of 7. If, after the last request, a duration equal to Rm
 * times the RTO has passed without a response [...] the client SHOULD consider the transaction to
 * have failed. Rm SHOULD be configurable and SHOULD have a default of 16." With RTO = 500 ms the
 * requests go out at 0, 500, 1500, 3500, 7500, 15500 and 31500 ms and the transaction fails at
 * 39500 ms.
 *
 * Over TCP/TLS (§6.2.2): "the client MUST NOT retransmit" and "if the client has not received a
 * response after 39.5 seconds, it considers the transaction to have timed out."
 */

export interface TransactionOptions {
  /** true for TCP/TLS: one send, then `timeoutMs` (default 39500). */
  reliable?: boolean;
  /** Initial retransmission timeout (ms), UDP only. Default 500 (RFC 8489 §6.2.1 recommends >= 500). */
  rtoMs?: number;
  /** Rc: total number of requests sent, UDP only. Default 7. */
  maxSends?: number;
  /** Rm: the wait after the last request, in multiples of RTO, UDP only. Default 16. */
  lastWaitFactor?: number;
  /** Reliable transports: how long to wait for the response (ms). Default 39500. */
  timeoutMs?: number;
}

export interface TransactionPoll {
  /** Bytes to send now (the first request or a retransmission). */
  send?: Uint8Array;
  /** The transaction has failed for lack of a response: stop polling. */
  timedOut?: boolean;
  /** When to poll next (ms, same clock as `now`); Infinity once finished. */
  nextAt: number;
}

export type TransactionState = 'pending' | 'done' | 'timed-out';

export const DEFAULT_RTO_MS = 500;
export const DEFAULT_RC = 7;
export const DEFAULT_RM = 16;
export const RELIABLE_TIMEOUT_MS = 39_500;

function checkPositive(name: string, v: number, integer = false): number {
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new RangeError(`transaction ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  }
  return v;
}

export class StunTransaction {
  readonly transactionId: Uint8Array;
  readonly reliable: boolean;
  readonly rtoMs: number;
  readonly maxSends: number;
  readonly lastWaitFactor: number;
  readonly timeoutMs: number;
  private readonly startedAt: number;
  private sends = 0;
  /** Index of the next scheduled send (0-based); can run ahead of `sends` when polls come late. */
  private nextIndex = 0;
  private firstSent: number | undefined;
  private lastSent: number | undefined;
  private finishedState: TransactionState = 'pending';
  private rtt: number | undefined;

  /**
   * @param request the encoded request (bytes 8-20 are its transaction id)
   * @param now when the transaction starts: the first `poll(now)` at or after it sends the request
   */
  constructor(
    readonly request: Uint8Array,
    now: number,
    opts: TransactionOptions = {},
  ) {
    if (!(request instanceof Uint8Array) || request.length < 20) throw new RangeError('a STUN request is at least 20 bytes');
    this.transactionId = request.slice(8, 20);
    this.reliable = opts.reliable ?? false;
    this.rtoMs = checkPositive('rtoMs', opts.rtoMs ?? DEFAULT_RTO_MS);
    this.maxSends = checkPositive('maxSends', opts.maxSends ?? DEFAULT_RC, true);
    this.lastWaitFactor = checkPositive('lastWaitFactor', opts.lastWaitFactor ?? DEFAULT_RM);
    this.timeoutMs = checkPositive('timeoutMs', opts.timeoutMs ?? RELIABLE_TIMEOUT_MS);
    this.startedAt = now;
  }

  /** Offset from the start of send number `i` (0-based): RTO * (2^i - 1). */
  private sendOffset(i: number): number {
    return this.rtoMs * (2 ** i - 1);
  }

  /** When the transaction fails if nothing arrives (ms, absolute). */
  get deadline(): number {
    if (this.reliable) return this.startedAt + this.timeoutMs;
    return this.startedAt + this.sendOffset(this.maxSends - 1) + this.lastWaitFactor * this.rtoMs;
  }

  get state(): TransactionState {
    return this.finishedState;
  }

  /** Requests actually sent so far. */
  get sendCount(): number {
    return this.sends;
  }

  /** Round-trip time of the completed transaction (from the last send, RFC 6298 / Karn: ambiguous if retransmitted). */
  get rttMs(): number | undefined {
    return this.rtt;
  }

  /** True once a response arrived for a transaction that was sent only once (an unambiguous RTT sample). */
  get rttIsExact(): boolean {
    return this.finishedState === 'done' && this.sends === 1;
  }

  poll(now: number): TransactionPoll {
    if (this.finishedState !== 'pending') return { nextAt: Infinity };
    const deadline = this.deadline;
    const limit = this.reliable ? 1 : this.maxSends;
    let send: Uint8Array | undefined;
    if (this.nextIndex < limit && now >= this.startedAt + this.sendOffset(this.nextIndex)) {
      send = this.request;
      this.sends++;
      this.firstSent ??= now;
      this.lastSent = now;
      this.nextIndex++;
      // A late poll sends once, not a burst: skip the sends whose time has already passed.
      while (this.nextIndex < limit && now >= this.startedAt + this.sendOffset(this.nextIndex)) this.nextIndex++;
    }
    if (!send && now >= deadline) {
      this.finishedState = 'timed-out';
      return { timedOut: true, nextAt: Infinity };
    }
    const nextSend = this.nextIndex < limit ? this.startedAt + this.sendOffset(this.nextIndex) : Infinity;
    const nextAt = Math.min(nextSend, deadline);
    return send ? { send, nextAt } : { nextAt };
  }

  /** True when `transactionId` is this transaction's. */
  matches(transactionId: Uint8Array): boolean {
    if (transactionId.length !== 12) return false;
    for (let i = 0; i < 12; i++) if (transactionId[i] !== this.transactionId[i]) return false;
    return true;
  }

  /**
   * A response (success or error) arrived. Returns true if it belongs to this pending transaction
   * (which is then done), false if it is someone else's or the transaction already finished: the
   * caller ignores it. A response before anything was sent is also ignored.
   */
  onResponse(response: { transactionId: Uint8Array }, now: number): boolean {
    if (this.finishedState !== 'pending' || this.lastSent === undefined || !this.matches(response.transactionId)) return false;
    this.finishedState = 'done';
    this.rtt = Math.max(0, now - this.lastSent);
    return true;
  }

  /** Stops the transaction (the caller gave up, e.g. aborted); later polls return nothing. */
  cancel(): void {
    if (this.finishedState === 'pending') this.finishedState = 'timed-out';
  }
}
