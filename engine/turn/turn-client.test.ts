/**
 * TurnClient against a small scripted TURN server on loopback (the codec answers; no coturn): the
 * parts coturn cannot be made to show on demand — SHA-256 password algorithm, 438 Stale Nonce,
 * short lifetimes for the automatic refresh, responses with a bad MESSAGE-INTEGRITY.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import { PasswordAlgorithm, StunClass, StunMethod } from '../../shared/stun/constants.js';
import { decodeChannelData, encodeChannelData, isChannelData } from '../../shared/stun/channel-data.js';
import { longTermKey } from '../../shared/stun/crypto.js';
import { decodeStun, encodeStun, getAttribute, verifyIntegrity, type DecodedStunMessage, type StunAttribute } from '../../shared/stun/message.js';
import { TurnClient, TurnError } from './turn-client.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const REALM = 'fake.test';
const KEY = longTermKey(nodeStunCrypto, 'alice', REALM, 'secret', 'sha256');
const PEER = { family: 'IPv4' as const, address: '192.0.2.50', port: 7000 };

interface FakeOptions {
  staleOnce?: boolean;
  lifetime?: number;
  /** Sign responses to this method with a wrong key. */
  badIntegrityFor?: number;
}

interface Fake {
  port: number;
  seen: DecodedStunMessage[];
  channelData: Array<{ channel: number; data: Uint8Array }>;
}

async function fakeTurn(opts: FakeOptions = {}): Promise<Fake> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  cleanup.push(() => void s.close());
  const seen: DecodedStunMessage[] = [];
  const channelData: Fake['channelData'] = [];
  let nonce = 0;
  let staled = false;
  const channels = new Map<number, boolean>();
  const reply = (req: DecodedStunMessage, r: RemoteInfo, cls: StunClass, attributes: StunAttribute[], signed: boolean): void => {
    const key = opts.badIntegrityFor === req.method ? new Uint8Array(32) : KEY;
    const bytes = encodeStun(
      { method: req.method, cls, transactionId: req.transactionId, attributes },
      signed ? { integrity: { key, algorithm: 'sha256' }, crypto: nodeStunCrypto } : {},
    );
    s.send(bytes, r.port, r.address);
  };
  const challenge = (): StunAttribute[] => [
    { type: 'REALM', value: REALM },
    { type: 'NONCE', value: `nonce-${++nonce}` },
    {
      type: 'PASSWORD-ALGORITHMS',
      algorithms: [
        { algorithm: PasswordAlgorithm.MD5, params: new Uint8Array(0) },
        { algorithm: PasswordAlgorithm.SHA256, params: new Uint8Array(0) },
      ],
    },
  ];
  s.on('message', (msg, r) => {
    const bytes = new Uint8Array(msg);
    if (isChannelData(bytes)) {
      const cd = decodeChannelData(bytes);
      channelData.push(cd);
      if (channels.has(cd.channel)) s.send(encodeChannelData(cd.channel, cd.data), r.port, r.address); // echo
      return;
    }
    const req = decodeStun(bytes);
    seen.push(req);
    if (req.method === StunMethod.Send && req.cls === StunClass.Indication) {
      // the "peer" echoes: a Data indication back
      const data = getAttribute(req, 'DATA')!.data;
      const peer = getAttribute(req, 'XOR-PEER-ADDRESS')!.address;
      const ind = encodeStun({
        method: StunMethod.Data,
        cls: StunClass.Indication,
        transactionId: new Uint8Array(12).fill(3),
        attributes: [
          { type: 'XOR-PEER-ADDRESS', address: peer },
          { type: 'DATA', data },
        ],
      });
      s.send(ind, r.port, r.address);
      return;
    }
    if (req.integritySha256Offset === undefined) {
      reply(req, r, StunClass.ErrorResponse, [{ type: 'ERROR-CODE', code: 401, reason: 'Unauthorized' }, ...challenge()], false);
      return;
    }
    if (!verifyIntegrity(req, KEY, nodeStunCrypto, 'sha256') || getAttribute(req, 'PASSWORD-ALGORITHM')?.algorithm !== PasswordAlgorithm.SHA256) {
      reply(req, r, StunClass.ErrorResponse, [{ type: 'ERROR-CODE', code: 401, reason: 'Unauthorized' }, ...challenge()], false);
      return;
    }
    if (opts.staleOnce && !staled) {
      staled = true;
      reply(req, r, StunClass.ErrorResponse, [{ type: 'ERROR-CODE', code: 438, reason: 'Stale Nonce' }, ...challenge()], true);
      return;
    }
    const lifetime = opts.lifetime ?? 600;
    switch (req.method) {
      case StunMethod.Allocate:
        reply(
          req,
          r,
          StunClass.SuccessResponse,
          [
            { type: 'XOR-RELAYED-ADDRESS', address: { family: 'IPv4', address: '127.0.0.1', port: 1 } },
            { type: 'XOR-MAPPED-ADDRESS', address: { family: 'IPv4', address: r.address, port: r.port } },
            { type: 'LIFETIME', seconds: lifetime },
          ],
          true,
        );
        return;
      case StunMethod.Refresh: {
        const asked = getAttribute(req, 'LIFETIME')?.seconds;
        reply(req, r, StunClass.SuccessResponse, [{ type: 'LIFETIME', seconds: asked === 0 ? 0 : lifetime }], true);
        return;
      }
      case StunMethod.ChannelBind:
        channels.set(getAttribute(req, 'CHANNEL-NUMBER')!.channel, true);
        reply(req, r, StunClass.SuccessResponse, [], true);
        return;
      default:
        reply(req, r, StunClass.SuccessResponse, [], true);
    }
  });
  return { port: s.address().port, seen, channelData };
}

function client(port: number, extra: Partial<ConstructorParameters<typeof TurnClient>[0]> = {}): TurnClient {
  const c = new TurnClient({ server: { host: '127.0.0.1', port }, username: 'alice', password: 'secret', localIp: '127.0.0.1', rtoMs: 50, ...extra });
  cleanup.push(() => c.close());
  return c;
}

describe('TurnClient (scripted server)', () => {
  it('answers the 401 challenge with SHA-256 and retries a 438 with the new nonce', async () => {
    const fake = await fakeTurn({ staleOnce: true });
    const c = client(fake.port);
    const a = await c.allocate({ lifetime: 300 });
    expect(a.relayed).toEqual({ family: 'IPv4', address: '127.0.0.1', port: 1 });
    expect(a.mapped?.port).toBe(c.localAddress?.port);
    expect(a.lifetime).toBe(600);
    const allocates = fake.seen.filter((m) => m.method === StunMethod.Allocate);
    expect(allocates.map((m) => getAttribute(m, 'NONCE')?.value)).toEqual([undefined, 'nonce-1', 'nonce-2']);
    expect(getAttribute(allocates[2]!, 'LIFETIME')?.seconds).toBe(300);
    expect(getAttribute(allocates[2]!, 'REQUESTED-TRANSPORT')?.protocol).toBe(17);
  });

  it('Send indications out, Data indications in; ChannelData once a channel is bound', async () => {
    const fake = await fakeTurn();
    const c = client(fake.port);
    await c.allocate();
    await c.createPermission(PEER.address);
    const perm = fake.seen.find((m) => m.method === StunMethod.CreatePermission)!;
    expect(getAttribute(perm, 'XOR-PEER-ADDRESS')?.address.address).toBe(PEER.address);

    const got = new Promise<[Uint8Array, unknown, number | undefined]>((r) => c.once('data', (d, p, ch) => r([d, p, ch])));
    c.send(PEER, new TextEncoder().encode('via send'));
    const [d1, p1, ch1] = await got;
    expect(new TextDecoder().decode(d1)).toBe('via send');
    expect(p1).toEqual(PEER);
    expect(ch1).toBeUndefined();

    const channel = await c.channelBind(PEER);
    expect(channel).toBe(0x4000);
    expect(c.channelFor(PEER)).toBe(0x4000);
    const got2 = new Promise<[Uint8Array, unknown, number | undefined]>((r) => c.once('data', (d, p, ch) => r([d, p, ch])));
    c.send(PEER, new TextEncoder().encode('via channel'));
    const [d2, p2, ch2] = await got2;
    expect(new TextDecoder().decode(d2)).toBe('via channel');
    expect(p2).toEqual(PEER);
    expect(ch2).toBe(0x4000);
    expect(fake.channelData).toHaveLength(1);
    // a second peer gets the next channel
    expect(await c.channelBind({ address: '192.0.2.51', port: 1 })).toBe(0x4001);
  });

  it('refreshes the allocation by itself before it expires', async () => {
    const fake = await fakeTurn({ lifetime: 1 });
    const c = client(fake.port);
    await c.allocate({ lifetime: 1 });
    const item = await new Promise((r) => c.once('refreshed', r));
    expect(item).toEqual({ kind: 'allocation' });
    const refresh = fake.seen.find((m) => m.method === StunMethod.Refresh)!;
    expect(getAttribute(refresh, 'LIFETIME')?.seconds).toBe(1);
  });

  it('discards a response whose integrity does not verify', async () => {
    const fake = await fakeTurn({ badIntegrityFor: StunMethod.CreatePermission });
    const c = client(fake.port, { maxSends: 2, lastWaitFactor: 2 });
    await c.allocate();
    const err = (await c.createPermission(PEER.address).catch((e: unknown) => e)) as TurnError;
    expect(err).toBeInstanceOf(TurnError);
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/integrity/);
  });

  it('close() deletes the allocation (Refresh LIFETIME 0) and leaves a caller-owned socket open', async () => {
    const fake = await fakeTurn();
    const sock: UdpSocket = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    cleanup.push(() => void sock.close());
    const c = client(fake.port, { socket: sock });
    await c.allocate();
    const closed = new Promise((r) => c.once('closed', r));
    await c.close();
    await closed;
    const last = fake.seen[fake.seen.length - 1]!;
    expect(last.method).toBe(StunMethod.Refresh);
    expect(getAttribute(last, 'LIFETIME')?.seconds).toBe(0);
    expect(sock.listenerCount('message')).toBe(0);
    expect(() => c.send(PEER, new Uint8Array(1))).toThrow(TurnError);
    expect(sock.address().port).toBeGreaterThan(0); // still open
  });

  it('refuses a TCP allocation over UDP and operations before allocating', async () => {
    const fake = await fakeTurn();
    const c = client(fake.port);
    await expect(c.allocate({ transport: 'tcp' })).rejects.toThrow(/TCP or TLS/);
    await expect(c.createPermission(PEER.address)).rejects.toThrow(/no allocation/);
  });

  it('times out against a silent server', async () => {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    cleanup.push(() => void s.close());
    const c = client(s.address().port, { maxSends: 2, lastWaitFactor: 2 });
    const err = (await c.allocate().catch((e: unknown) => e)) as TurnError;
    expect(err.kind).toBe('timeout');
  });
});
