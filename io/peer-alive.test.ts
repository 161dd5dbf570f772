import { afterEach, describe, expect, it, vi } from 'vitest';
import { PeerAliveProbe } from './peer-alive.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A probe whose Pings are recorded, and a way to see whether a question has been answered yet. */
function probe(capMs?: number) {
  const pings: number[] = [];
  const p = new PeerAliveProbe((time) => pings.push(time), capMs);
  return { p, pings };
}

function state<T>(promise: Promise<T>): { value?: T } {
  const s: { value?: T } = {};
  void promise.then((v) => (s.value = v));
  return s;
}

const flush = () => new Promise((r) => setImmediate(r));

describe('PeerAliveProbe', () => {
  it('each question sends its own Ping and is answered alive by the Pong echoing it', async () => {
    const { p, pings } = probe();
    const answer = state(p.ask());
    expect(pings).toHaveLength(1);
    await flush();
    expect(answer.value).toBeUndefined();
    p.pong(pings[0]!);
    await flush();
    expect(answer.value).toBe(true);
  });

  it('a Pong to an earlier Ping does not answer a later question (the peer may have died in between)', async () => {
    const { p, pings } = probe();
    const first = state(p.ask());
    const second = state(p.ask());
    expect(pings[1]).toBeGreaterThan(pings[0]!);
    p.pong(pings[0]!);
    await flush();
    expect(first.value).toBe(true);
    expect(second.value).toBeUndefined();
    p.pong(pings[1]!);
    await flush();
    expect(second.value).toBe(true);
  });

  it('the session ending answers every open question dead, and every later one at once', async () => {
    const { p, pings } = probe();
    const open = p.ask();
    p.lost();
    expect(await open).toBe(false);
    expect(await p.ask()).toBe(false);
    expect(pings).toHaveLength(1); // nothing more is sent on a lost session
  });

  it('a peer that keeps its session but never answers is taken as alive after the cap', async () => {
    vi.useFakeTimers();
    const { p } = probe(5000);
    const answer = state(p.ask());
    await vi.advanceTimersByTimeAsync(4999);
    expect(answer.value).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(answer.value).toBe(true);
  });
});
