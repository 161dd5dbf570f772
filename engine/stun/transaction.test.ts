import { describe, expect, it } from 'vitest';
import { StunTransaction } from './transaction.js';

function request(id = 1): Uint8Array {
  const b = new Uint8Array(20);
  b[1] = 1; // Binding request
  b[4] = 0x21;
  b[5] = 0x12;
  b[6] = 0xa4;
  b[7] = 0x42;
  b[8] = id;
  return b;
}

/** Drives a transaction with a fake clock that jumps to each `nextAt`; returns the send times and the timeout time. */
function run(tx: StunTransaction, start = 0): { sends: number[]; timedOutAt: number | undefined } {
  const sends: number[] = [];
  let t = start;
  for (let i = 0; i < 100; i++) {
    const p = tx.poll(t);
    if (p.send) sends.push(t);
    if (p.timedOut) return { sends, timedOutAt: t };
    if (!Number.isFinite(p.nextAt)) break;
    t = p.nextAt;
  }
  return { sends, timedOutAt: undefined };
}

describe('StunTransaction over UDP (RFC 8489 §6.2.1)', () => {
  it('sends at 0, 500, 1500, 3500, 7500, 15500, 31500 ms and fails at 39500 ms by default', () => {
    const tx = new StunTransaction(request(), 0);
    const { sends, timedOutAt } = run(tx);
    expect(sends).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(timedOutAt).toBe(39_500);
    expect(tx.state).toBe('timed-out');
    expect(tx.sendCount).toBe(7);
    expect(tx.deadline).toBe(39_500);
  });

  it('follows the configured RTO, Rc and Rm, relative to the start time', () => {
    const tx = new StunTransaction(request(), 1000, { rtoMs: 100, maxSends: 4, lastWaitFactor: 8 });
    const { sends, timedOutAt } = run(tx, 1000);
    expect(sends).toEqual([1000, 1100, 1300, 1700]);
    expect(timedOutAt).toBe(1700 + 800);
  });

  it('sends the request bytes and nothing before the start', () => {
    const req = request(7);
    const tx = new StunTransaction(req, 50);
    expect(tx.poll(0)).toEqual({ nextAt: 50 });
    const p = tx.poll(50);
    expect(p.send).toBe(req);
    expect(p.nextAt).toBe(550);
    // polling again before the next send time sends nothing
    expect(tx.poll(100)).toEqual({ nextAt: 550 });
  });

  it('stops on a matching response and reports the RTT from the last send', () => {
    const tx = new StunTransaction(request(3), 0);
    tx.poll(0);
    tx.poll(500);
    expect(tx.onResponse({ transactionId: request(3).slice(8, 20) }, 620)).toBe(true);
    expect(tx.state).toBe('done');
    expect(tx.rttMs).toBe(120);
    expect(tx.rttIsExact).toBe(false);
    expect(tx.poll(1500)).toEqual({ nextAt: Infinity });
    // a second response (e.g. to the retransmission) is ignored
    expect(tx.onResponse({ transactionId: request(3).slice(8, 20) }, 700)).toBe(false);
  });

  it('an answer to a single send gives an exact RTT', () => {
    const tx = new StunTransaction(request(3), 0);
    tx.poll(0);
    expect(tx.onResponse({ transactionId: request(3).slice(8, 20) }, 42)).toBe(true);
    expect(tx.rttMs).toBe(42);
    expect(tx.rttIsExact).toBe(true);
  });

  it('ignores responses with another transaction id, and responses before the first send', () => {
    const tx = new StunTransaction(request(3), 0);
    expect(tx.onResponse({ transactionId: request(3).slice(8, 20) }, 0)).toBe(false);
    tx.poll(0);
    expect(tx.onResponse({ transactionId: request(4).slice(8, 20) }, 10)).toBe(false);
    expect(tx.onResponse({ transactionId: new Uint8Array(5) }, 10)).toBe(false);
    expect(tx.state).toBe('pending');
  });

  it('a late poll sends once instead of a burst, and keeps the absolute schedule', () => {
    const tx = new StunTransaction(request(), 0);
    tx.poll(0);
    // the event loop stalled until 4000: the sends due at 500, 1500 and 3500 collapse into one
    const late = tx.poll(4000);
    expect(late.send).toBeDefined();
    expect(late.nextAt).toBe(7500);
    expect(tx.poll(4001).send).toBeUndefined();
    expect(tx.sendCount).toBe(2);
    const { sends, timedOutAt } = run(tx, 7500);
    expect(sends).toEqual([7500, 15500, 31500]);
    expect(timedOutAt).toBe(39_500);
  });

  it('a poll long after the deadline still sends nothing more but times out', () => {
    const tx = new StunTransaction(request(), 0, { maxSends: 2 });
    tx.poll(0);
    tx.poll(500);
    const p = tx.poll(100_000);
    expect(p.send).toBeUndefined();
    expect(p.timedOut).toBe(true);
  });

  it('cancel() ends it', () => {
    const tx = new StunTransaction(request(), 0);
    tx.poll(0);
    tx.cancel();
    expect(tx.poll(500)).toEqual({ nextAt: Infinity });
    expect(tx.state).toBe('timed-out');
  });

  it('rejects bad options and short requests', () => {
    expect(() => new StunTransaction(request(), 0, { rtoMs: 0 })).toThrow(RangeError);
    expect(() => new StunTransaction(request(), 0, { maxSends: 1.5 })).toThrow(RangeError);
    expect(() => new StunTransaction(request(), 0, { lastWaitFactor: -1 })).toThrow(RangeError);
    expect(() => new StunTransaction(new Uint8Array(10), 0)).toThrow(RangeError);
  });
});

describe('StunTransaction over TCP/TLS (RFC 8489 §6.2.2)', () => {
  it('sends once and times out after 39.5 s', () => {
    const tx = new StunTransaction(request(), 0, { reliable: true });
    const { sends, timedOutAt } = run(tx);
    expect(sends).toEqual([0]);
    expect(timedOutAt).toBe(39_500);
  });

  it('honours a configured timeout and ignores the UDP knobs', () => {
    const tx = new StunTransaction(request(), 10, { reliable: true, timeoutMs: 5000, rtoMs: 1 });
    const { sends, timedOutAt } = run(tx, 10);
    expect(sends).toEqual([10]);
    expect(timedOutAt).toBe(5010);
  });
});
