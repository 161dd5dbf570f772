/**
 * ControlClient with fake dialers and fake time. The heartbeat tests run against a fake server on a
 * loopback socket pair: vitest's fake setTimeout and performance.now() move together, and the
 * client's clock reads performance.now(), so its heartbeat timers and its clock agree and the test
 * moves time by hand.
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loginResultProof, randomHex } from '../io/auth-proof.js';
import { FramedConnection } from '../io/framed-connection.js';
import { silentLogger } from '../io/logger.js';
import type { Clock } from '../shared/clock.js';
import { ClientConfigSchema } from '../shared/config/client-config.js';
import type { Message } from '../shared/protocol/messages.js';
import { ControlClient, retryAfterMs } from './control-client.js';
import type { ServerConnection, ServerDialer } from './server-dialer.js';

const config = ClientConfigSchema.parse({ server: '127.0.0.1:7000', token: 'a-token-123', tls: false });

/** A dialer whose every connection answers the Login with `reply`; records when each was opened. */
function refusingDialer(reply: Message): { dialer: ServerDialer; opened: number[] } {
  const opened: number[] = [];
  const dialer = {
    open: async () => {
      opened.push(Date.now());
      const conn = { send: () => true, next: async () => reply, destroy: () => {} } as unknown as FramedConnection;
      return { conn, challenge: { type: 'Challenge', nonce: '0'.repeat(32), time: Date.now(), server: 'test' } };
    },
  } as unknown as ServerDialer;
  return { dialer, opened };
}

function client(dialer: ServerDialer): ControlClient {
  return new ControlClient(() => config, 'laptop', dialer, { online: () => {}, offline: () => {}, message: () => {} }, silentLogger(), {
    now: () => performance.now(),
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ControlClient reconnect after a refused login', () => {
  it("waits the server's retry-after before the next attempt, not its own short backoff", async () => {
    vi.useFakeTimers();
    const { dialer, opened } = refusingDialer({
      type: 'Error',
      code: 'rate-limited',
      message: 'authentication failed; too many failed logins from 192.0.2.1; retry in 42 s',
      retryAfter: 42,
    });
    const c = client(dialer);
    c.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(opened).toHaveLength(1);
    expect(c.error).toMatch(/^authentication failed: the server refused the token; too many failed logins/);
    await vi.advanceTimersByTimeAsync(41_900);
    expect(opened).toHaveLength(1); // the backoff alone would have retried after at most 0.5 s
    await vi.advanceTimersByTimeAsync(200);
    expect(opened).toHaveLength(2);
    expect(opened[1]! - opened[0]!).toBeGreaterThanOrEqual(42_000);
    const stopped = c.stop();
    await vi.advanceTimersByTimeAsync(0);
    await stopped;
  });

  it('without a hint it retries on its own backoff (0.5 s first)', async () => {
    vi.useFakeTimers();
    const { dialer, opened } = refusingDialer({ type: 'Error', code: 'auth-failed', message: 'authentication failed' });
    const c = client(dialer);
    c.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(opened).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(opened).toHaveLength(2);
    const stopped = c.stop();
    await vi.advanceTimersByTimeAsync(0);
    await stopped;
  });
});

describe('retryAfterMs', () => {
  it("reads the Error's retryAfter, or an older server's \"retry in N s\"", () => {
    expect(retryAfterMs({ code: 'rate-limited', message: 'x', retryAfter: 7 })).toBe(7000);
    expect(retryAfterMs({ code: 'rate-limited', message: 'too many failed logins from 1.2.3.4; retry in 12 s' })).toBe(12_000);
    expect(retryAfterMs({ code: 'auth-failed', message: 'retry in 12 s' })).toBe(0);
    expect(retryAfterMs({ code: 'rate-limited', message: 'no hint' })).toBe(0);
  });
});

const TOKEN = 'control-client-test-token';
const open: Socket[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const s of open.splice(0)) s.destroy();
});

async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const serverSide = await accepted;
  server.close();
  open.push(client, serverSide);
  return [client, serverSide];
}

function captureLogger(): { logger: Logger; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) records.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), records };
}

/** Lets socket I/O and stream callbacks run; fake time does not move. */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (check()) return;
    await new Promise<void>((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}

/**
 * A server that logs the client in and answers Pings until `freeze()` (as a SIGSTOPped process or a
 * black-holed path would: the connection stays open, nothing comes back). Later dials fail.
 */
async function fakeServer() {
  const [clientSide, serverSide] = await socketPair();
  const server = new FramedConnection(serverSide);
  let frozen = false;
  let pings = 0;
  let dials = 0;
  server.dispatch((m: Message) => {
    if (frozen) return;
    if (m.type === 'Login') {
      const sessionId = randomHex(16);
      server.send({ type: 'LoginResult', sessionId, proof: loginResultProof(TOKEN, m.nonce, sessionId), server: 'fake' });
    } else if (m.type === 'Ping') {
      pings++;
      server.send({ type: 'Pong', time: m.time });
    }
  });
  const dialer = {
    open: async (): Promise<ServerConnection> => {
      if (dials++ > 0) throw new Error('connect ECONNREFUSED 127.0.0.1:7000');
      return { conn: new FramedConnection(clientSide), challenge: { type: 'Challenge', nonce: randomHex(16), time: 0, server: 'fake' } };
    },
  };
  return { dialer, freeze: () => (frozen = true), pings: () => pings, serverSide };
}

describe('ControlClient heartbeat', () => {
  it('a server that stops answering ends the session with "no heartbeat reply for 3 s", exactly at the timeout, and lastDisconnect keeps it', async () => {
    const fake = await fakeServer();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const clock: Clock = { now: () => performance.now() };
    const log = captureLogger();
    const offline: string[] = [];
    const config = ClientConfigSchema.parse({ server: '127.0.0.1:7000', token: TOKEN, tls: false, admin: false, heartbeat: { interval: 1, timeout: 3 } });
    const client = new ControlClient(() => config, 'laptop', fake.dialer, { online: () => {}, offline: (r) => offline.push(r), message: () => {} }, log.logger, clock);
    client.start();
    await until(() => client.state === 'online', 'login');

    // Answered pings keep the session up well past the timeout.
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      await settle();
    }
    expect(fake.pings()).toBe(5);
    expect(client.state).toBe('online');
    expect(client.lastDisconnect).toBeUndefined();

    // Frozen: the last Pong arrived just now. Still online 1 ms before the timeout...
    fake.freeze();
    await vi.advanceTimersByTimeAsync(2_999);
    await settle();
    expect(client.state).toBe('online');
    // ...and gone at it, with the configured timeout as the reason (not "connection closed").
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(client.state).not.toBe('online');
    expect(client.lastDisconnect?.reason).toBe('no heartbeat reply for 3 s');
    expect(Date.parse(client.lastDisconnect!.at)).not.toBeNaN();
    expect(offline).toEqual(['no heartbeat reply for 3 s']);
    expect(log.records).toContainEqual(expect.objectContaining({ msg: 'connection to server lost; reconnecting', reason: 'no heartbeat reply for 3 s' }));

    // The reconnect fails for its own reason; that is the current error, and the last disconnect stays.
    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    expect(client.error).toMatch(/ECONNREFUSED/);
    expect(client.lastDisconnect?.reason).toBe('no heartbeat reply for 3 s');
    const stopped = client.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    await stopped;
  });

  it('a wall-clock step (NTP, suspend, a user changing the date) neither kills nor holds off the heartbeat', async () => {
    const fake = await fakeServer();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance', 'Date'] });
    const config = ClientConfigSchema.parse({ server: '127.0.0.1:7000', token: TOKEN, tls: false, admin: false, heartbeat: { interval: 1, timeout: 3 } });
    const client = new ControlClient(() => config, 'laptop', fake.dialer, { online: () => {}, offline: () => {}, message: () => {} }, captureLogger().logger, {
      now: () => performance.now(),
    });
    client.start();
    await until(() => client.state === 'online', 'login');
    vi.setSystemTime(Date.now() + 3_600_000); // the date jumps an hour ahead; monotonic time does not move
    await vi.advanceTimersByTimeAsync(1_000);
    await settle();
    expect(client.state).toBe('online');
    vi.setSystemTime(Date.now() - 7_200_000); // and two hours back
    for (let i = 0; i < 4; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      await settle();
    }
    expect(client.state).toBe('online');
    expect(fake.pings()).toBe(5); // one per second throughout
    fake.freeze();
    await vi.advanceTimersByTimeAsync(3_000);
    await settle();
    expect(client.lastDisconnect?.reason).toBe('no heartbeat reply for 3 s'); // still on time after the steps
    const stopped = client.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    await stopped;
  });

  it('a server that closes the session is named with its own reason', async () => {
    const fake = await fakeServer();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const config = ClientConfigSchema.parse({ server: '127.0.0.1:7000', token: TOKEN, tls: false, admin: false });
    const offline: string[] = [];
    const client = new ControlClient(() => config, 'laptop', fake.dialer, { online: () => {}, offline: (r) => offline.push(r), message: () => {} }, captureLogger().logger, {
      now: () => performance.now(),
    });
    client.start();
    await until(() => client.state === 'online', 'login');
    const server = new FramedConnection(fake.serverSide);
    server.closeWithError('session-closed', 'disconnected by administrator');
    await until(() => client.lastDisconnect !== undefined, 'disconnect');
    expect(client.lastDisconnect?.reason).toBe('server closed the session: disconnected by administrator');
    expect(offline).toEqual(['server closed the session: disconnected by administrator']);
    const stopped = client.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    await stopped;
  });
});
