import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FramedConnection } from '../io/framed-connection.js';
import { silentLogger } from '../io/logger.js';
import { ClientConfigSchema } from '../shared/config/client-config.js';
import type { Message } from '../shared/protocol/messages.js';
import { ControlClient, retryAfterMs } from './control-client.js';
import type { ServerDialer } from './server-dialer.js';

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
  return new ControlClient(() => config, 'laptop', dialer, { online: () => {}, offline: () => {}, message: () => {} }, silentLogger());
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
