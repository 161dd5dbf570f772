import { describe, expect, it } from 'vitest';
import { StunClass, StunMethod } from '../../shared/stun/constants.js';
import { encodeChannelData, encodeStun, responseTo, type StunMessage } from '../../shared/stun/message.js';
import { StunStreamFraming, type FramedItem } from './stream-framing.js';

const txid = (n: number) => new Uint8Array(12).fill(n);
const request = (method: number, n: number): StunMessage => ({ method, cls: StunClass.Request, transactionId: txid(n), attributes: [] });
const bytes = (m: StunMessage) => Buffer.from(encodeStun(m));

function drain(f: StunStreamFraming): FramedItem[] {
  const out: FramedItem[] = [];
  for (let item = f.next(); item; item = f.next()) out.push(item);
  return out;
}

const kinds = (items: FramedItem[]) => items.map((i) => (i.kind === 'stun' ? `stun:${i.message.method}${i.first ? ':first' : ''}` : i.kind === 'channel' ? `channel:${i.channel}` : 'invalid'));

describe('StunStreamFraming', () => {
  it('frames STUN messages and padded ChannelData split across chunks, in order', () => {
    const f = new StunStreamFraming();
    const stream = Buffer.concat([bytes(request(StunMethod.Binding, 1)), Buffer.from(encodeChannelData(0x4000, Uint8Array.from([1, 2, 3]), true)), bytes(request(StunMethod.Refresh, 2))]);
    for (let i = 0; i < stream.length; i += 7) f.push(stream.subarray(i, i + 7));
    const items = drain(f);
    expect(kinds(items)).toEqual([`stun:${StunMethod.Binding}:first`, 'channel:16384', `stun:${StunMethod.Refresh}`]);
    expect(items[1]).toMatchObject({ data: Uint8Array.from([1, 2, 3]) });
    expect(f.hasMessage).toBe(true);
  });

  it('a stream that does not start with a STUN message is invalid at once', () => {
    const f = new StunStreamFraming();
    f.push(Buffer.from('GET / HTTP/1.1\r\n'));
    expect(drain(f)).toEqual([{ kind: 'invalid', reason: 'the stream does not start with a STUN message' }]);
    f.push(bytes(request(StunMethod.Binding, 1)));
    expect(drain(f)).toEqual([]);
  });

  it('hands out the messages before garbage, then says the stream is invalid', () => {
    const f = new StunStreamFraming();
    f.push(Buffer.concat([bytes(request(StunMethod.Binding, 1)), Buffer.from([0xff, 0xff, 0xff, 0xff])]));
    const items = drain(f);
    expect(kinds(items)).toEqual([`stun:${StunMethod.Binding}:first`, 'invalid']);
  });

  it('holds what follows a ConnectionBind and resumes framing on its error response', () => {
    const f = new StunStreamFraming();
    const bind = request(StunMethod.ConnectionBind, 9);
    f.push(Buffer.concat([bytes(bind), bytes(request(StunMethod.Binding, 2))]));
    const [first] = [f.next()];
    expect(first).toMatchObject({ kind: 'stun', first: true });
    f.hold(bind.transactionId);
    expect(f.state).toBe('held');
    f.push(bytes(request(StunMethod.Binding, 3)));
    expect(f.next()).toBeUndefined();
    // A success response or another transaction's error does not release it.
    expect(f.answered(encodeStun(responseTo(bind, StunClass.SuccessResponse, [])))).toBe(false);
    expect(f.answered(encodeStun(responseTo(request(StunMethod.ConnectionBind, 4), StunClass.ErrorResponse, [])))).toBe(false);
    expect(f.answered(encodeStun(responseTo(bind, StunClass.ErrorResponse, [{ type: 'ERROR-CODE', code: 400, reason: 'no' }])))).toBe(true);
    expect(f.state).toBe('framing');
    expect(kinds(drain(f))).toEqual([`stun:${StunMethod.Binding}`, `stun:${StunMethod.Binding}`]);
  });

  it('take() returns every byte read and not handed out, byte for byte, then frames nothing', () => {
    const f = new StunStreamFraming();
    const bind = request(StunMethod.ConnectionBind, 9);
    const relayed = Buffer.from('relayed data, not STUN');
    const after = Buffer.concat([bytes(request(StunMethod.Binding, 2)), relayed]);
    f.push(Buffer.concat([bytes(bind), after.subarray(0, 10)]));
    expect(f.next()).toMatchObject({ kind: 'stun' });
    f.hold(bind.transactionId);
    f.push(after.subarray(10));
    expect(f.take().equals(after)).toBe(true);
    expect(f.state).toBe('taken');
    f.push(Buffer.from([1, 2, 3]));
    expect(f.next()).toBeUndefined();
    expect(() => f.take()).toThrow(/already taken/);
  });
});
