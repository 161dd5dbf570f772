import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { MUX_INITIAL_WINDOW, MuxError, MuxFlag } from './frame.js';
import { MuxStreamState } from './stream-state.js';

const W = MUX_INITIAL_WINDOW;

describe('MuxStreamState: opening', () => {
  it('the opener puts SYN on its first frame only, the acceptor ACK', () => {
    const local = new MuxStreamState(1, 'local');
    expect(local.openPending).toBe(true);
    expect(local.takeOpenFlags()).toBe(MuxFlag.SYN);
    expect(local.takeOpenFlags()).toBe(0);
    expect(local.acknowledged).toBe(false);
    const remote = new MuxStreamState(1, 'remote');
    expect(remote.takeOpenFlags()).toBe(MuxFlag.ACK);
    expect(remote.takeOpenFlags()).toBe(0);
  });

  it('ACK from the peer acknowledges once', () => {
    const s = new MuxStreamState(1, 'local');
    expect(s.receiveFlags(MuxFlag.ACK).acknowledged).toBe(true);
    expect(s.receiveFlags(MuxFlag.ACK).acknowledged).toBe(false);
    expect(s.acknowledged).toBe(true);
  });

  it('a larger window is announced as the delta of the opening WindowUpdate', () => {
    const s = new MuxStreamState(1, 'local', { maxWindow: 1024 * 1024 });
    expect(s.takeCredit(true)).toBe(1024 * 1024 - W);
    expect(s.receiveWindow).toBe(1024 * 1024);
    expect(new MuxStreamState(1, 'local').takeCredit(true)).toBe(0);
  });

  it('refuses a window below the spec starting window', () => {
    expect(() => new MuxStreamState(1, 'local', { maxWindow: W - 1 })).toThrow(RangeError);
    expect(() => new MuxStreamState(1, 'local', { maxWindow: 2 ** 32 })).toThrow(RangeError);
  });
});

describe('MuxStreamState: send window', () => {
  it('never reserves past the window; WindowUpdate extends it', () => {
    const s = new MuxStreamState(1, 'local');
    expect(s.reserveSend(100_000)).toBe(100_000);
    expect(s.reserveSend(W)).toBe(W - 100_000);
    expect(s.reserveSend(1)).toBe(0);
    s.windowUpdate(10);
    expect(s.reserveSend(100)).toBe(10);
  });

  it('a WindowUpdate that overflows u32 is a protocol error', () => {
    const s = new MuxStreamState(1, 'local');
    expect(() => s.windowUpdate(0xffffffff)).toThrow(MuxError);
  });

  it('nothing is sent after FIN or reset', () => {
    const a = new MuxStreamState(1, 'local');
    a.finish();
    expect(a.reserveSend(10)).toBe(0);
    const b = new MuxStreamState(1, 'local');
    b.reset();
    expect(b.reserveSend(10)).toBe(0);
  });
});

describe('MuxStreamState: receive window', () => {
  it('data beyond the window is a protocol error', () => {
    const s = new MuxStreamState(2, 'remote');
    expect(s.receiveData(W)).toBe(true);
    expect(() => s.receiveData(1)).toThrow(MuxError);
  });

  it('credit is granted only as the reader consumes, and only once it reaches half the window', () => {
    const s = new MuxStreamState(2, 'remote');
    s.receiveData(W);
    expect(s.takeCredit()).toBe(0); // nothing consumed
    s.consumed(W / 2 - 1);
    expect(s.takeCredit()).toBe(0); // below half
    s.consumed(1);
    expect(s.takeCredit()).toBe(W / 2);
    expect(s.receiveWindow).toBe(W / 2);
    expect(s.takeCredit()).toBe(0); // already granted
    s.consumed(10);
    expect(s.takeCredit(true)).toBe(10); // forced: any positive credit
  });

  it('no credit after the peer FIN (nothing more will come)', () => {
    const s = new MuxStreamState(2, 'remote');
    s.receiveData(W);
    s.receiveFlags(MuxFlag.FIN);
    s.consumed(W);
    expect(s.takeCredit(true)).toBe(0);
  });

  it('data after FIN is a protocol error; data with FIN is fine', () => {
    const s = new MuxStreamState(2, 'remote');
    expect(s.receiveData(10)).toBe(true);
    expect(s.receiveFlags(MuxFlag.FIN).remoteFinished).toBe(true);
    expect(() => s.receiveData(1)).toThrow(MuxError);
  });

  it('data in flight after a local reset is dropped, not an error', () => {
    const s = new MuxStreamState(2, 'remote');
    s.reset();
    expect(s.receiveData(W * 2)).toBe(false);
  });
});

describe('MuxStreamState: closing', () => {
  it('closes after both FINs, in either order', () => {
    const a = new MuxStreamState(1, 'local');
    expect(a.finish()).toBe(MuxFlag.FIN | MuxFlag.SYN); // SYN still pending: rides on the FIN
    expect(a.finish()).toBeUndefined();
    expect(a.closed).toBe(false);
    const out = a.receiveFlags(MuxFlag.FIN | MuxFlag.ACK);
    expect(out).toEqual({ acknowledged: true, remoteFinished: true, reset: false, closed: true });
    expect(a.closed).toBe(true);

    const b = new MuxStreamState(2, 'remote');
    b.takeOpenFlags();
    expect(b.receiveFlags(MuxFlag.FIN).closed).toBe(false);
    expect(b.finish()).toBe(MuxFlag.FIN);
    expect(b.closed).toBe(true);
  });

  it('RST closes at once; a local reset has a frame to send only while open', () => {
    const a = new MuxStreamState(1, 'local');
    a.takeOpenFlags();
    expect(a.receiveFlags(MuxFlag.RST)).toEqual({ acknowledged: false, remoteFinished: false, reset: true, closed: true });
    expect(a.resetSide).toBe('remote');
    expect(a.reset()).toBeUndefined();
    const b = new MuxStreamState(1, 'local');
    b.takeOpenFlags();
    expect(b.reset()).toBe(MuxFlag.RST);
    expect(b.resetSide).toBe('local');
    expect(b.receiveFlags(MuxFlag.RST).reset).toBe(false); // already closed
  });

  it('a closed stream sends no RST', () => {
    const s = new MuxStreamState(1, 'local');
    s.finish();
    s.receiveFlags(MuxFlag.FIN);
    expect(s.reset()).toBeUndefined();
  });
});

describe('MuxStreamState: properties', () => {
  it('the peer can never have more than the window outstanding, whatever the order of events', () => {
    const max = W * 2;
    const op = fc.oneof(
      fc.record({ k: fc.constant('recv' as const), n: fc.nat({ max: W }) }),
      fc.record({ k: fc.constant('consume' as const), n: fc.nat({ max: W }) }),
      fc.record({ k: fc.constant('credit' as const), force: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 100 }), (ops) => {
        const s = new MuxStreamState(2, 'remote', { maxWindow: max });
        s.takeCredit(true);
        // What the peer believes it may send: its send window mirrors our receive window.
        let peerWindow = max;
        for (const o of ops) {
          if (o.k === 'recv') {
            const n = Math.min(o.n, peerWindow);
            s.receiveData(n);
            peerWindow -= n;
          } else if (o.k === 'consume') {
            s.consumed(Math.min(o.n, s.buffered));
          } else {
            peerWindow += s.takeCredit(o.force);
          }
          expect(peerWindow).toBe(s.receiveWindow);
          expect(s.buffered + s.receiveWindow).toBeLessThanOrEqual(max);
          // No deadlock: once everything is consumed, the peer has half a window or is granted credit.
          if (s.buffered === 0 && s.receiveWindow < max / 2) {
            const granted = s.takeCredit();
            expect(granted).toBeGreaterThan(0);
            peerWindow += granted;
          }
        }
      }),
    );
  });
});
