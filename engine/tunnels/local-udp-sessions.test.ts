import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { TimerFunctions } from '../../io/deadline-timer.js';
import { silentLogger } from '../../io/logger.js';
import { ManualClock } from '../../shared/clock.js';
import { LocalUdpSessions } from './local-udp-sessions.js';

/** Timer functions that fire only when the test says so. */
class ManualTimers implements TimerFunctions {
  private armed = new Set<{ run: () => void; ms: number }>();
  set(run: () => void, ms: number): unknown {
    const t = { run, ms };
    this.armed.add(t);
    return t;
  }
  clear(handle: unknown): void {
    this.armed.delete(handle as { run: () => void; ms: number });
  }
  fireAll(): void {
    const due = [...this.armed];
    this.armed.clear();
    for (const t of due) t.run();
  }
  get delays(): number[] {
    return [...this.armed].map((t) => t.ms);
  }
}

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

/** A local "service" that answers each datagram with "<its source port>:<datagram>". */
async function service(): Promise<{ socket: UdpSocket; port: number; sources: Set<number> }> {
  const socket = createSocket('udp4');
  const sources = new Set<number>();
  socket.on('message', (m, from) => {
    sources.add(from.port);
    socket.send(`${from.port}:${m.toString()}`, from.port, from.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  cleanup.push(() => socket.close());
  return { socket, port: socket.address().port, sources };
}

function setup(port: number, idleMs = 1_000) {
  const clock = new ManualClock(0);
  const timers = new ManualTimers();
  const replies: Array<[string, string]> = [];
  const events: string[] = [];
  const sessions = new LocalUdpSessions({
    local: `127.0.0.1:${port}`,
    idleMs,
    clock,
    logger: silentLogger(),
    timers,
    onReply: (key, data) => replies.push([key, data.toString()]),
    onOpen: (key) => events.push(`open ${key}`),
    onClose: (key) => events.push(`close ${key}`),
  });
  cleanup.push(() => sessions.closeAll());
  return { clock, timers, replies, events, sessions };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('LocalUdpSessions', () => {
  it('gives each session its own local socket, so replies come back to the session they answer', async () => {
    const svc = await service();
    const { sessions, replies, events } = setup(svc.port);
    sessions.send('alice', Buffer.from('a1')); // sent before the socket connected: queued, not lost
    sessions.send('bob', Buffer.from('b1'));
    sessions.send('alice', Buffer.from('a2'));
    await until(() => replies.length === 3, 'three replies');
    expect(svc.sources.size).toBe(2);
    const byKey = (k: string) => replies.filter(([key]) => key === k).map(([, d]) => d.split(':')[1]);
    expect(byKey('alice')).toEqual(['a1', 'a2']);
    expect(byKey('bob')).toEqual(['b1']);
    // each key's replies came from one source port, and not the other key's
    const portOf = (k: string) => new Set(replies.filter(([key]) => key === k).map(([, d]) => d.split(':')[0]));
    expect(portOf('alice').size).toBe(1);
    expect([...portOf('alice')][0]).not.toBe([...portOf('bob')][0]);
    expect(events).toEqual(['open alice', 'open bob']);
    expect(sessions.size).toBe(2);
  });

  it('expires a session idle for idleMs on one timer; traffic either way keeps it alive', async () => {
    const svc = await service();
    const { sessions, replies, events, clock, timers } = setup(svc.port, 1_000);
    sessions.send('alice', Buffer.from('x'));
    sessions.send('bob', Buffer.from('y'));
    await until(() => replies.length === 2, 'two replies');
    expect(timers.delays).toEqual([1_000]);
    clock.advance(600);
    sessions.send('alice', Buffer.from('z')); // alice active at 600
    await until(() => replies.length === 3, 'the third reply');
    clock.advance(400); // 1000: bob idle for 1000 ms, alice for 400
    timers.fireAll();
    expect(events).toEqual(['open alice', 'open bob', 'close bob']);
    expect(sessions.size).toBe(1);
    clock.advance(600); // 1600: alice idle for 1000
    timers.fireAll();
    expect(events.at(-1)).toBe('close alice');
    expect(sessions.size).toBe(0);
  });

  it('close(key) drops one session; closeAll() drops all and ignores later sends', async () => {
    const svc = await service();
    const { sessions, replies, events } = setup(svc.port);
    sessions.send('alice', Buffer.from('1'));
    sessions.send('bob', Buffer.from('2'));
    await until(() => replies.length === 2, 'two replies');
    sessions.close('alice');
    sessions.close('nobody');
    expect(events).toEqual(['open alice', 'open bob', 'close alice']);
    sessions.closeAll();
    expect(events.at(-1)).toBe('close bob');
    sessions.send('carol', Buffer.from('3'));
    expect(sessions.size).toBe(0);
    expect(events).not.toContain('open carol');
  });

  it('rejects a local address that is not host:port with a clear error', () => {
    expect(() => new LocalUdpSessions({ local: 'nonsense', idleMs: 1, clock: new ManualClock(), logger: silentLogger(), onReply: () => {} })).toThrow(/not a host:port: nonsense/);
  });
});
