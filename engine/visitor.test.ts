import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FramedConnection } from '../io/framed-connection.js';
import { silentLogger } from '../io/logger.js';
import { monotonicClock } from '../io/clock.js';
import { VisitorSchema } from '../shared/config/client-config.js';
import type { Message } from '../shared/protocol/messages.js';
import type { DirectRoute } from './p2p/direct-route.js';
import type { ServerConnection, ServerDialer } from './server-dialer.js';
import { Visitor } from './visitor.js';
import { loopbackPair } from '../io/loopback-pair.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const tcpPair = () => loopbackPair((f) => cleanups.push(f));

/** A dialer whose connections end at a fake server: what each received is recorded. */
function recordingDialer() {
  const opened: Array<{ server: FramedConnection; received: Message[]; client: net.Socket }> = [];
  const dialer = {
    async open(): Promise<ServerConnection> {
      const [client, serverSide] = await tcpPair();
      const server = new FramedConnection(serverSide);
      const entry = { server, received: [] as Message[], client };
      opened.push(entry);
      void (async () => {
        try {
          const m = await server.next(10_000);
          entry.received.push(m);
          if (m.type === 'NewVisitorConn') {
            server.send({ type: 'VisitorResult', ok: true });
            const raw = server.release();
            raw.on('data', (d: Buffer) => raw.write(d)); // the owner's service: an echo
            raw.resume();
          }
        } catch {
          // closed unused
        }
      })();
      return { conn: new FramedConnection(client), challenge: { type: 'Challenge', nonce: '00'.repeat(16), time: Math.floor(Date.now() / 1000), server: 'fake' } };
    },
  };
  return { dialer: dialer as unknown as ServerDialer, opened };
}

/** A direct route with a punch in flight that the test ends by hand. */
function pendingRoute() {
  let finish: (t: unknown) => void = () => {};
  const route = {
    pending: true,
    directCounters: { bytesIn: 0, bytesOut: 0, connections: 0 },
    get: () => new Promise((r) => (finish = r)),
    close: () => {},
  };
  return { route: route as unknown as DirectRoute, finish: (t: unknown) => ((route.pending = false), finish(t)) };
}

async function startVisitor(direct: DirectRoute | undefined, dialer: ServerDialer, sessionId: () => string | undefined = () => 'ab'.repeat(16)): Promise<Visitor> {
  const config = VisitorSchema.parse({ name: 'v', type: direct ? 'p2p' : 'secret', tunnel: 'nas', secret: 'a-shared-secret', bind: '127.0.0.1:0' });
  const v = new Visitor(config, { dialer, token: () => 'a-long-token', sessionId, logger: silentLogger(), ...(direct ? { direct } : {}), clock: monotonicClock });
  await v.start();
  cleanups.push(() => v.close());
  return v;
}

const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error(`never happened: ${what}`);
};

describe('p2p visitor: the relay is dialled while a punch is in flight', () => {
  it('dials the server while waiting, asks the owner only once the punch is given up, and the connection works', async () => {
    const { dialer, opened } = recordingDialer();
    const { route, finish } = pendingRoute();
    const v = await startVisitor(route, dialer);
    const user = net.connect({ port: v.port!, host: '127.0.0.1' });
    cleanups.push(() => user.destroy());
    await until(() => opened.length === 1, 'the relay connection dialled during the punch');
    await new Promise((r) => setTimeout(r, 50));
    expect(opened[0]!.received).toEqual([]); // nothing asked of the tunnel's owner yet
    finish(undefined); // the punch gave up: fall back
    await until(() => opened[0]!.received.length === 1, 'the visitor request on the dialled connection');
    expect(opened[0]!.received[0]).toMatchObject({ type: 'NewVisitorConn', tunnel: 'nas' });
    expect(opened).toHaveLength(1); // no second dial
    user.write('hello');
    const [echo] = (await once(user, 'data')) as [Buffer];
    expect(echo.toString()).toBe('hello');
  });

  it('closes the dialled connection unused when the direct path comes up', async () => {
    const { dialer, opened } = recordingDialer();
    const { route, finish } = pendingRoute();
    const v = await startVisitor(route, dialer);
    const user = net.connect({ port: v.port!, host: '127.0.0.1' });
    cleanups.push(() => user.destroy());
    await until(() => opened.length === 1, 'the relay connection dialled during the punch');
    const [local, remote] = await tcpPair();
    remote.on('data', (d) => remote.write(d));
    finish({ openStream: async () => local });
    await until(() => opened[0]!.client.destroyed, 'the unused relay connection closed');
    expect(opened[0]!.received).toEqual([]);
    user.write('direct');
    const [echo] = (await once(user, 'data')) as [Buffer];
    expect(echo.toString()).toBe('direct');
  });
});

describe('visitor: a connection made before the login', () => {
  it('waits for the login instead of being cut off, then goes through', async () => {
    const { dialer, opened } = recordingDialer();
    let session: string | undefined;
    const v = await startVisitor(undefined, dialer, () => session);
    const user = net.connect({ port: v.port!, host: '127.0.0.1' });
    cleanups.push(() => user.destroy());
    let ended = false;
    user.on('close', () => (ended = true));
    user.on('error', () => {});
    user.write('early');
    await new Promise((r) => setTimeout(r, 100));
    expect(ended).toBe(false); // still waiting, not reset
    expect(opened).toHaveLength(0);
    session = 'cd'.repeat(16);
    v.sessionUp();
    const [echo] = (await once(user, 'data')) as [Buffer];
    expect(echo.toString()).toBe('early');
    expect(opened[0]!.received[0]).toMatchObject({ type: 'NewVisitorConn', sessionId: session });
  });
});
