import { createHmac } from 'node:crypto';
import dgram from 'node:dgram';
import net, { type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../io/logger.js';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import { TurnConfigSchema, type TurnConfig } from '../../shared/config/server-config.js';
import { StunClass, StunMethod } from '../../shared/stun/constants.js';
import { longTermKey } from '../../shared/stun/crypto.js';
import { decodeStun, encodeStun, getAttribute, getAttributes, verifyIntegrity, type DecodedStunMessage } from '../../shared/stun/message.js';
import type { TimerFunctions } from '../../io/deadline-timer.js';
import { NodeRelayFactory } from './relay-factory.js';
import { FakeClient, RecordingRelayFactory, TestTurnClient, build, errorCode, until, v4, type Credentials } from './test-helpers.js';
import { createTurnServer } from '../create-turn-server.js';
import { AllocationTable } from './allocation-table.js';
import type { TurnAuthHandler } from './auth-handler.js';
import { PeerPolicy } from './peer-policy.js';
import type { RelayAddressSource } from './relay-addresses.js';
import { TurnResponder } from './turn-responder.js';
import { TurnServer as TurnCore } from './turn-server.js';
type TurnServer = TurnCore;

const ALICE: Credentials = { username: 'alice', password: 'alice-secret', realm: 'burrow' };
const BOB: Credentials = { username: 'bob', password: 'bob-secret', realm: 'burrow' };
const T0 = 1_700_000_000_000;

function makeConfig(overrides: Record<string, unknown> = {}): TurnConfig {
  return TurnConfigSchema.parse({
    users: { alice: ALICE.password, bob: BOB.password },
    relayIps: ['127.0.0.1'],
    relayPorts: '42000-42999',
    allowPeers: ['127.0.0.0/8'],
    ...overrides,
  });
}

/** A UDP peer on 127.0.0.1 that queues what it receives. */
class Peer {
  readonly socket = dgram.createSocket('udp4');
  readonly received: Array<{ data: Buffer; port: number }> = [];

  async start(): Promise<this> {
    this.socket.on('message', (data, rinfo) => this.received.push({ data, port: rinfo.port }));
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(data: string, port: number): void {
    this.socket.send(Buffer.from(data), port, '127.0.0.1');
  }

  close(): void {
    this.socket.close();
  }
}

const text = (b: Uint8Array) => Buffer.from(b).toString();

describe('TurnServer', () => {
  let clock: number;
  let server: TurnServer;
  /** Real relay sockets, recorded: what was relayed to peers can be checked synchronously. */
  let relays: RecordingRelayFactory;
  const peers: Peer[] = [];
  const cleanups: Array<() => void> = [];

  function start(overrides: Record<string, unknown> = {}, timers?: TimerFunctions): TurnServer {
    const config = makeConfig(overrides);
    server = createTurnServer(config, {
      ...(timers ? { timers } : {}),
      logger: silentLogger(),
      crypto: nodeStunCrypto,
      software: 'burrow-test',
      serverAddresses: ['127.0.0.1:3478'],
      relayFactory: (relays = new RecordingRelayFactory(new NodeRelayFactory({ ports: config.relayPorts, now: () => clock }))),
      now: () => clock,
    });
    return server;
  }

  async function peer(): Promise<Peer> {
    const p = await new Peer().start();
    peers.push(p);
    return p;
  }

  beforeEach(() => {
    clock = T0;
  });

  afterEach(async () => {
    await server?.close();
    for (const p of peers.splice(0)) p.close();
    for (const c of cleanups.splice(0)) c();
  });

  it('relays a full UDP flow: Allocate (401 then auth), CreatePermission, Send, Data, ChannelBind, ChannelData both ways, Refresh 0', async () => {
    start();
    const p = await peer();
    const client = new FakeClient('udp');
    const tc = new TestTurnClient(server, client, ALICE);

    const allocated = await tc.allocate();
    // The first answer was the 401 challenge.
    const challenge = client.stun()[0]!;
    expect(errorCode(challenge)).toBe(401);
    expect(getAttribute(challenge, 'REALM')?.value).toBe('burrow');
    expect(getAttribute(challenge, 'NONCE')?.value.startsWith('obMatJos2')).toBe(true);
    expect(getAttribute(challenge, 'PASSWORD-ALGORITHMS')?.algorithms.map((a) => a.algorithm)).toEqual([2, 1]);
    expect(challenge.integrityOffset).toBeUndefined();
    expect(challenge.fingerprintOffset).toBeDefined();

    expect(allocated.cls).toBe(StunClass.SuccessResponse);
    const key = longTermKey(nodeStunCrypto, ALICE.username, ALICE.realm, ALICE.password, 'md5');
    expect(verifyIntegrity(allocated, key, nodeStunCrypto, 'sha1')).toBe(true);
    expect(allocated.fingerprintOffset).toBeDefined();
    expect(getAttribute(allocated, 'SOFTWARE')?.value).toBe('burrow-test');
    expect(getAttribute(allocated, 'LIFETIME')?.seconds).toBe(600);
    expect(getAttribute(allocated, 'XOR-MAPPED-ADDRESS')?.address).toEqual(client.remote);
    const relayed = getAttribute(allocated, 'XOR-RELAYED-ADDRESS')!.address;
    expect(relayed.address).toBe('127.0.0.1');
    expect(relayed.port).toBeGreaterThanOrEqual(42000);
    expect(relayed.port).toBeLessThanOrEqual(42999);
    expect(server.stats().allocations).toBe(1);

    // Send without a permission: never relayed.
    const peerAddr = v4('127.0.0.1', p.port);
    const relay = relays.at(relayed.port);
    tc.send(peerAddr, Buffer.from('too early'));
    expect(relay.sent).toHaveLength(0);

    expect((await tc.createPermission(peerAddr)).cls).toBe(StunClass.SuccessResponse);
    tc.send(peerAddr, Buffer.from('hello'));
    await until(() => p.received.length === 1, 2000, 'peer datagram');
    expect(p.received[0]!.data.toString()).toBe('hello');
    expect(p.received[0]!.port).toBe(relayed.port);

    // The peer answers: a Data indication reaches the client.
    const before = client.sent.length;
    p.send('world', relayed.port);
    const dataInd = await until(
      () => client.stun().find((m) => m.method === StunMethod.Data && m.cls === StunClass.Indication),
      2000,
      'Data indication',
    );
    expect(client.sent.length).toBe(before + 1);
    expect(getAttribute(dataInd, 'XOR-PEER-ADDRESS')?.address).toEqual(peerAddr);
    expect(text(getAttribute(dataInd, 'DATA')!.data)).toBe('world');

    // ChannelBind, then ChannelData both ways.
    expect((await tc.channelBind(0x4001, peerAddr)).cls).toBe(StunClass.SuccessResponse);
    server.handleChannelData(0x4001, Buffer.from('ping'), client);
    await until(() => p.received.length === 2, 2000, 'ChannelData relayed');
    expect(p.received[1]!.data.toString()).toBe('ping');
    p.send('pong', relayed.port);
    const cd = await until(() => client.channelData()[0], 2000, 'ChannelData to client');
    expect(cd.channel).toBe(0x4001);
    expect(text(cd.data)).toBe('pong');
    expect(cd.bytes.length).toBe(8); // UDP: no padding needed

    const stats = server.stats();
    expect(stats).toMatchObject({ allocations: 1, permissions: 1, channels: 1 });
    expect(stats.bytesRelayed).toEqual({ toPeers: 'hello'.length + 'ping'.length, fromPeers: 'world'.length + 'pong'.length });
    expect(stats.packetsRelayed).toEqual({ toPeers: 2, fromPeers: 2 });
    const info = server.allocationsInfo();
    expect(info).toHaveLength(1);
    expect(info[0]).toMatchObject({ username: 'alice', client: 'udp://127.0.0.1:40000', relayed: [`127.0.0.1:${relayed.port}`], permissions: 1, channels: 1, expiresInSeconds: 600 });

    // Refresh 0 deletes the allocation and its relay socket.
    const deleted = await tc.refresh(0);
    expect(deleted.cls).toBe(StunClass.SuccessResponse);
    expect(getAttribute(deleted, 'LIFETIME')?.seconds).toBe(0);
    expect(server.stats().allocations).toBe(0);
    expect(server.stats().bytesRelayed.toPeers).toBe(9); // totals survive the allocation
    // Its relay socket is closed: nothing from the peer can come through any more.
    const sentBefore = client.sent.length;
    expect(relay.closed).toBe(true);
    expect(relay.deliver('after', { address: '127.0.0.1', port: p.port })).toBe(false);
    expect(client.sent.length).toBe(sentBefore);
    // A Refresh on the deleted allocation: 437.
    expect(errorCode(await tc.refresh(600))).toBe(437);
  });

  it('answers a retransmitted Allocate with the same response and a new one on the 5-tuple with 437', async () => {
    start();
    const client = new FakeClient('udp');
    const tc = new TestTurnClient(server, client, ALICE);
    await tc.allocate();
    const first = tc.signed(StunMethod.Allocate, [{ type: 'REQUESTED-TRANSPORT', protocol: 17 }]);
    // The 5-tuple already has an allocation: 437, and its retransmission gets the very same bytes.
    server.handleMessage(first, client);
    const answer = client.sent[client.sent.length - 1]!;
    expect(errorCode(decodeStun(answer))).toBe(437);
    server.handleMessage(first, client);
    expect(client.sent[client.sent.length - 1]).toEqual(answer);
  });

  it('replays the success response to a retransmission of the Allocate that created the allocation', async () => {
    start();
    const client = new FakeClient('udp');
    const tc = new TestTurnClient(server, client, ALICE);
    await tc.refresh(); // learns a nonce (437 after auth)
    const req = tc.signed(StunMethod.Allocate, [{ type: 'REQUESTED-TRANSPORT', protocol: 17 }]);
    server.handleMessage(req, client);
    server.handleMessage(req, client); // while the relay is being bound: dropped
    const ok = await until(() => client.responseTo(req.transactionId));
    expect(ok.cls).toBe(StunClass.SuccessResponse);
    const count = client.sent.length;
    server.handleMessage(req, client);
    expect(client.sent.length).toBe(count + 1);
    expect(client.sent[count]).toEqual(client.sent[count - 1]);
    expect(server.stats().allocations).toBe(1);
  });

  it('rejects a bad REQUESTED-TRANSPORT (400 missing, 442 unsupported) and TCP over UDP (400)', async () => {
    start();
    const tc = new TestTurnClient(server, new FakeClient('udp'), ALICE);
    expect(errorCode(await tc.allocate([]))).toBe(400);
    expect(errorCode(await tc.allocate([{ type: 'REQUESTED-TRANSPORT', protocol: 1 }]))).toBe(442);
    expect(errorCode(await tc.allocate([{ type: 'REQUESTED-TRANSPORT', protocol: 6 }]))).toBe(400);
  });

  it('answers 420 for unknown comprehension-required attributes, after authentication', async () => {
    start();
    const tc = new TestTurnClient(server, new FakeClient('udp'), ALICE);
    const answer = await tc.allocate([
      { type: 'REQUESTED-TRANSPORT', protocol: 17 },
      { type: 'UNKNOWN', code: 0x7777, value: new Uint8Array(4) },
    ]);
    expect(errorCode(answer)).toBe(420);
    expect(getAttribute(answer, 'UNKNOWN-ATTRIBUTES')?.types).toEqual([0x7777]);
    expect(answer.integrityOffset).toBeDefined();
  });

  it('grants lifetimes between the default and the maximum', async () => {
    start({ defaultLifetime: 600, maxLifetime: 3600 });
    const tc = new TestTurnClient(server, new FakeClient('udp'), ALICE);
    const a = await tc.allocate([{ type: 'REQUESTED-TRANSPORT', protocol: 17 }, { type: 'LIFETIME', seconds: 99_999 }]);
    expect(getAttribute(a, 'LIFETIME')?.seconds).toBe(3600);
    expect(getAttribute(await tc.refresh(30), 'LIFETIME')?.seconds).toBe(600);
    expect(getAttribute(await tc.refresh(1200), 'LIFETIME')?.seconds).toBe(1200);
    expect(getAttribute(await tc.refresh(), 'LIFETIME')?.seconds).toBe(600);
  });

  it('expires allocations, permissions and channels with the clock', async () => {
    start();
    const p = await peer();
    const client = new FakeClient('udp');
    const tc = new TestTurnClient(server, client, ALICE);
    const relayed = getAttribute(await tc.allocate(), 'XOR-RELAYED-ADDRESS')!.address;
    const peerAddr = v4('127.0.0.1', p.port);
    await tc.channelBind(0x4000, peerAddr);
    expect(server.stats()).toMatchObject({ permissions: 1, channels: 1 });

    // 299 s: the permission (installed by ChannelBind) is alive.
    clock += 299_000;
    server.handleExpiry(clock);
    expect(server.stats().permissions).toBe(1);
    // 300 s: it lapsed; the channel (600 s) is still bound but nothing is relayed without a permission.
    clock += 1_000;
    server.handleExpiry(clock);
    expect(server.stats()).toMatchObject({ permissions: 0, channels: 1 });
    const relay = relays.at(relayed.port);
    server.handleChannelData(0x4000, Buffer.from('x'), client);
    expect(relay.sent).toHaveLength(0);
    expect(relay.deliver('y', { address: '127.0.0.1', port: p.port })).toBe(true);
    expect(client.channelData()).toHaveLength(0);

    // Refresh keeps the allocation; at 600 s the channel goes.
    await tc.refresh(600);
    clock += 300_000;
    server.handleExpiry(clock);
    expect(server.stats()).toMatchObject({ allocations: 1, channels: 0 });

    // 600 s after the last refresh the allocation is gone and its socket closed.
    clock += 300_000;
    server.handleExpiry(clock);
    expect(server.stats().allocations).toBe(0);
  });

  it('arms one expiry timer for the earliest deadline (no polling) and ends what is due when it fires', async () => {
    const armed: Array<{ run: () => void; ms: number; live: boolean }> = [];
    start({}, {
      set: (run, ms) => {
        const t = { run: () => ((t.live = false), run()), ms, live: true };
        armed.push(t);
        return t;
      },
      clear: (t) => ((t as { live: boolean }).live = false),
    });
    const live = () => armed.filter((t) => t.live);
    expect(live()).toEqual([]);
    const p = await peer();
    const tc = new TestTurnClient(server, new FakeClient('udp'), ALICE);
    await tc.allocate();
    expect(live().map((t) => t.ms)).toEqual([600_000]);
    expect(server.nextExpiry()).toBe(clock + 600_000);
    await tc.createPermission(v4('127.0.0.1', p.port));
    expect(live().map((t) => t.ms)).toEqual([300_000]);

    // The permission's deadline: it goes, and the timer is re-armed for the allocation's.
    clock += 300_000;
    live()[0]!.run();
    expect(server.stats()).toMatchObject({ allocations: 1, permissions: 0 });
    expect(live().map((t) => t.ms)).toEqual([300_000]);
    clock += 300_000;
    live()[0]!.run();
    expect(server.stats().allocations).toBe(0);
    expect(live()).toEqual([]);
    expect(server.nextExpiry()).toBeUndefined();
  });

  it('uses the collaborators it is given: auth handler, relay-address source, peer policy, allocation table', async () => {
    const key = longTermKey(nodeStunCrypto, ALICE.username, ALICE.realm, ALICE.password, 'md5');
    const refusals: string[] = [];
    const auth: TurnAuthHandler = {
      check: () => ({ kind: 'ok', user: { username: 'alice', quotaKey: 'alice', password: ALICE.password }, key, integrity: 'sha1' }),
      challengeAttributes: () => [],
      isBlocked: () => false,
      recordFailure: (ip) => refusals.push(ip),
    };
    const addresses: RelayAddressSource = { bindIp: (f) => (f === 'IPv4' ? '127.0.0.1' : undefined), advertisedIp: () => '198.51.100.77' };
    server = new TurnCore(makeConfig(), {
      logger: silentLogger(),
      responder: new TurnResponder({ software: 'fake', crypto: nodeStunCrypto, now: () => clock }),
      policy: new PeerPolicy({ denyPeers: ['203.0.113.0/24'] }),
      auth,
      allocations: new AllocationTable({ userQuota: 1, totalQuota: 1 }),
      relayAddresses: addresses,
      relayFactory: new NodeRelayFactory({ ports: [42000, 42999], now: () => clock }),
      now: () => clock,
    });
    const client = new FakeClient('udp');
    const tc = new TestTurnClient(server, client, ALICE);
    tc.nonce = 'any: the fake auth accepts it';
    const allocated = await tc.allocate();
    expect(getAttribute(allocated, 'XOR-RELAYED-ADDRESS')?.address.address).toBe('198.51.100.77');
    expect(errorCode(await tc.createPermission(v4('203.0.113.9', 1)))).toBe(403);
    expect(errorCode(await tc.createPermission(v4('192.0.2.9', 1)))).toBeUndefined();
    // The injected table's user quota of one: a second 5-tuple of alice gets 486.
    const other = new TestTurnClient(server, new FakeClient('udp', { address: '127.0.0.1', port: 40_001 }), ALICE);
    other.nonce = tc.nonce;
    expect(errorCode(await other.allocate())).toBe(486);
    expect(refusals).toEqual([]);
  });

  it('applies the channel rebinding rules of RFC 8656 §11.2', async () => {
    start();
    const tc = new TestTurnClient(server, new FakeClient('udp'), ALICE);
    await tc.allocate();
    const a = v4('127.0.0.1', 5000);
    const b = v4('127.0.0.1', 5001);
    expect((await tc.channelBind(0x4000, a)).cls).toBe(StunClass.SuccessResponse);
    expect((await tc.channelBind(0x4000, a)).cls).toBe(StunClass.SuccessResponse); // refresh
    expect(errorCode(await tc.channelBind(0x4000, b))).toBe(400); // channel bound to another peer
    expect(errorCode(await tc.channelBind(0x4001, a))).toBe(400); // peer bound to another channel
    expect(errorCode(await tc.channelBind(0x3fff, b))).toBe(400); // out of range
    expect((await tc.channelBind(0x7fff, b)).cls).toBe(StunClass.SuccessResponse); // RFC 5766 range
    expect(errorCode(await tc.channelBind(0x8000, v4('127.0.0.1', 5002)))).toBe(400);
  });

  it('refuses peers by policy: 403 for CreatePermission and ChannelBind, silent drop for Send', async () => {
    start({ allowPeers: [], denyPeers: ['198.51.100.0/24'] });
    const tc = new TestTurnClient(server, new FakeClient('udp'), ALICE);
    await tc.allocate();
    expect(errorCode(await tc.createPermission(v4('127.0.0.1', 1)))).toBe(403);
    expect(errorCode(await tc.createPermission(v4('10.1.2.3', 1)))).toBe(403);
    expect(errorCode(await tc.createPermission(v4('198.51.100.7', 1)))).toBe(403);
    // All or nothing: one refused address refuses the request.
    expect(errorCode(await tc.createPermission(v4('8.8.8.8', 1), v4('192.168.1.1', 1)))).toBe(403);
    expect(server.stats().permissions).toBe(0);
    expect(errorCode(await tc.channelBind(0x4000, v4('169.254.1.1', 80)))).toBe(403);
    expect((await tc.createPermission(v4('8.8.8.8', 1), v4('1.1.1.1', 2))).cls).toBe(StunClass.SuccessResponse);
    expect(server.stats().permissions).toBe(2);
    // 443 for a peer of the other family.
    expect(errorCode(await tc.createPermission({ family: 'IPv6', address: '2001:4860:4860::8888', port: 1 }))).toBe(443);
    expect(errorCode(await tc.channelBind(0x4000, { family: 'IPv6', address: '2001:4860:4860::8888', port: 1 }))).toBe(443);
  });

  it('two clients of this server reach each other through their relayed addresses with the default peer policy; the server\'s other ports stay refused', async () => {
    // Bound on 127.0.0.1, advertised as 127.0.0.50 (a 1:1 NAT's external IP): both are "the
    // server's own address" and loopback, refused by default, yet a live relayed address is a peer.
    start({ allowPeers: [], externalIp: '127.0.0.50' });
    const alice = new FakeClient('udp', { address: '127.0.0.1', port: 40_000 });
    const bob = new FakeClient('udp', { address: '127.0.0.1', port: 40_001 });
    const a = new TestTurnClient(server, alice, ALICE);
    const b = new TestTurnClient(server, bob, BOB);
    const relayedA = getAttribute(await a.allocate(), 'XOR-RELAYED-ADDRESS')!.address;
    const relayedB = getAttribute(await b.allocate(), 'XOR-RELAYED-ADDRESS')!.address;
    expect(relayedA.address).toBe('127.0.0.50');
    expect((await a.createPermission(relayedB)).cls).toBe(StunClass.SuccessResponse);
    expect((await b.createPermission(relayedA)).cls).toBe(StunClass.SuccessResponse);
    // Naming a port on the relay IP that no allocation holds is refused.
    expect(errorCode(await a.createPermission(v4('127.0.0.50', 3478)))).toBe(403);

    // A Send indication from alice arrives at bob as a Data indication from alice's relayed address.
    a.send(relayedB, Buffer.from('hello bob'));
    const data = await until(() => bob.stun().find((m) => m.method === StunMethod.Data), 2000, 'Data indication at bob');
    expect(getAttribute(data, 'XOR-PEER-ADDRESS')?.address).toEqual(relayedA);
    expect(text(getAttribute(data, 'DATA')!.data)).toBe('hello bob');
    // Channels both ways.
    expect((await a.channelBind(0x4000, relayedB)).cls).toBe(StunClass.SuccessResponse);
    expect((await b.channelBind(0x4001, relayedA)).cls).toBe(StunClass.SuccessResponse);
    server.handleChannelData(0x4000, Buffer.from('ping'), alice);
    expect(text((await until(() => bob.channelData()[0], 2000, 'ChannelData at bob')).data)).toBe('ping');
    expect(bob.channelData()[0]!.channel).toBe(0x4001);
    server.handleChannelData(0x4001, Buffer.from('pong'), bob);
    expect(text((await until(() => alice.channelData()[0], 2000, 'ChannelData at alice')).data)).toBe('pong');
    // Handed over inside the server: nothing went out through a relay socket (no hairpin via the
    // external address, which the server's own host may not be able to reach).
    expect(relays.udp.flatMap((r) => r.sent)).toEqual([]);
    expect(server.stats().packetsRelayed).toEqual({ toPeers: 3, fromPeers: 3 });

    // The same IPs on other ports (the STUN/control port, a relay port nobody holds, loopback
    // services) stay refused: 403, and a Send is dropped.
    for (const peer of [v4('127.0.0.50', 3478), v4('127.0.0.1', 3478), v4('127.0.0.50', relayedB.port + 1), v4('127.0.0.1', 22)]) {
      expect(errorCode(await a.channelBind(0x4002, peer))).toBe(403);
    }
    a.send(v4('127.0.0.1', 3478), Buffer.from('to the control port'));
    // Once bob's allocation is gone, alice's channel to its old address relays nothing anywhere.
    expect((await b.refresh(0)).cls).toBe(StunClass.SuccessResponse);
    server.handleChannelData(0x4000, Buffer.from('after'), alice);
    a.send(relayedB, Buffer.from('after'));
    expect(relays.udp.flatMap((r) => r.sent)).toEqual([]);
    expect(errorCode(await a.channelBind(0x4003, relayedB))).toBe(403);
  });

  it('enforces the per-user (486) and total (508) quotas', async () => {
    start({ userQuota: 2, totalQuota: 3 });
    const answers: number[] = [];
    for (let i = 0; i < 3; i++) {
      const tc = new TestTurnClient(server, new FakeClient('udp', { address: '127.0.0.1', port: 41_000 + i }), ALICE);
      const a = await tc.allocate();
      answers.push(errorCode(a) ?? 0);
    }
    expect(answers).toEqual([0, 0, 486]);
    const bob1 = new TestTurnClient(server, new FakeClient('udp', { address: '127.0.0.1', port: 41_100 }), BOB);
    expect((await bob1.allocate()).cls).toBe(StunClass.SuccessResponse);
    const bob2 = new TestTurnClient(server, new FakeClient('udp', { address: '127.0.0.1', port: 41_101 }), BOB);
    expect(errorCode(await bob2.allocate())).toBe(508);
    expect(server.stats().allocations).toBe(3);
  });

  it('answers 508 when no relay port is free', async () => {
    start({ relayPorts: '42500-42500' });
    const t1 = new TestTurnClient(server, new FakeClient('udp', { address: '127.0.0.1', port: 41_001 }), ALICE);
    expect(getAttribute(await t1.allocate(), 'XOR-RELAYED-ADDRESS')?.address.port).toBe(42500);
    const t2 = new TestTurnClient(server, new FakeClient('udp', { address: '127.0.0.1', port: 41_002 }), BOB);
    expect(errorCode(await t2.allocate())).toBe(508);
  });

  it('answers a stale nonce with 438 and a fresh nonce, then accepts the retry', async () => {
    start();
    const client = new FakeClient('udp');
    const tc = new TestTurnClient(server, client, ALICE);
    await tc.allocate();
    const oldNonce = tc.nonce!;
    clock += 10 * 60_000;
    const req = tc.signed(StunMethod.Refresh, []);
    server.handleMessage(req, client);
    const stale = client.responseTo(req.transactionId)!;
    expect(errorCode(stale)).toBe(438);
    expect(getAttribute(stale, 'NONCE')?.value).not.toBe(oldNonce);
    expect(getAttribute(stale, 'REALM')?.value).toBe('burrow');
    expect(getAttribute(stale, 'PASSWORD-ALGORITHMS')).toBeDefined();
    // The test client follows the 438.
    expect((await tc.refresh()).cls).toBe(StunClass.SuccessResponse);
    expect(tc.nonce).not.toBe(oldNonce);
  });

  it('answers 401 for a wrong password and counts it; 441 when another user touches the allocation', async () => {
    start();
    const client = new FakeClient('udp');
    const tc = new TestTurnClient(server, client, ALICE);
    await tc.allocate();
    const bad = tc.signed(StunMethod.Refresh, [], { wrongPassword: 'nope' });
    server.handleMessage(bad, client);
    const refused = client.responseTo(bad.transactionId)!;
    expect(errorCode(refused)).toBe(401);
    expect(refused.integrityOffset).toBeUndefined();
    expect(getAttribute(refused, 'NONCE')).toBeDefined();
    expect(server.stats().authFailures).toBe(1);

    const asBob = new TestTurnClient(server, client, BOB);
    expect(errorCode(await asBob.refresh())).toBe(441);
    expect(errorCode(await asBob.createPermission(v4('127.0.0.1', 9)))).toBe(441);
    expect(server.stats().authFailures).toBe(3);
  });

  it('answers every credential-less Allocate (the RFC 8656 §7.2 first request) with a 401, however many come from one address', () => {
    start({ unauthorizedPerMinute: 3 });
    const client = new FakeClient('udp');
    for (let i = 0; i < 200; i++) server.handleMessage(build(StunMethod.Allocate, [{ type: 'REQUESTED-TRANSPORT', protocol: 17 }]), client);
    expect(client.sent).toHaveLength(200);
    expect(client.sent.map((b) => decodeStun(b)).every((m) => errorCode(m) === 401 && getAttribute(m, 'NONCE') !== undefined)).toBe(true);
  });

  it('counts failed authentications per source IP and then drops them, but a correct Allocate from that address still succeeds', async () => {
    start({ unauthorizedPerMinute: 3 });
    const shared = new FakeClient('udp'); // many browsers behind one company NAT: one source IP
    const guesser = new TestTurnClient(server, shared, ALICE);
    const wrong = () => {
      const m = guesser.signed(StunMethod.Allocate, [{ type: 'REQUESTED-TRANSPORT', protocol: 17 }], { wrongPassword: 'guess' });
      server.handleMessage(m, shared);
      return shared.responseTo(m.transactionId);
    };
    await guesser.allocate().catch(() => undefined); // learns a nonce (and allocates: use another client for the correct one)
    const answered = [wrong(), wrong(), wrong(), wrong(), wrong()].filter((r) => r !== undefined);
    expect(answered).toHaveLength(3);
    expect(answered.every((r) => errorCode(r) === 401)).toBe(true);
    // another user's client behind the same address: 401 dance, then a signed Allocate that succeeds
    const colleague = new TestTurnClient(server, new FakeClient('udp', { address: shared.remote.address, port: 40_001 }), BOB);
    expect((await colleague.allocate()).cls).toBe(StunClass.SuccessResponse);
  });

  it('does not count requests with a made-up nonce (a spoofed source cannot lock out the real one)', async () => {
    start({ unauthorizedPerMinute: 3 });
    const victim = new FakeClient('udp');
    for (let i = 0; i < 100; i++) {
      // what a spoofer can send with the victim's address: any nonce but one the server gave that address
      const forged = new TestTurnClient(server, victim, ALICE);
      forged.nonce = 'obMatJos2wAADforged';
      const m = forged.signed(StunMethod.Allocate, [{ type: 'REQUESTED-TRANSPORT', protocol: 17 }], { wrongPassword: `guess${i}` });
      server.handleMessage(m, victim);
      expect(errorCode(victim.responseTo(m.transactionId))).toBe(438);
    }
    expect(server.stats().authFailures).toBe(0);
    expect((await new TestTurnClient(server, new FakeClient('udp', { address: victim.remote.address, port: 40_001 }), ALICE).allocate()).cls).toBe(StunClass.SuccessResponse);
  });

  it('answers 400 when integrity comes without USERNAME/REALM/NONCE', () => {
    start();
    const client = new FakeClient('udp');
    const msg = build(StunMethod.Allocate, [{ type: 'REQUESTED-TRANSPORT', protocol: 17 }, { type: 'USERNAME', value: 'alice' }], {
      auth: undefined,
    });
    // Hand-sign a message without REALM/NONCE.
    const signed = decodeStun(encodeWithIntegrity(msg, longTermKey(nodeStunCrypto, 'alice', 'burrow', ALICE.password)));
    server.handleMessage(signed, client);
    expect(errorCode(client.responseTo(signed.transactionId))).toBe(400);
  });

  it('accepts MESSAGE-INTEGRITY-SHA256 and SHA-256 passwords, and signs the answer the same way', async () => {
    start();
    const client = new FakeClient('udp');
    const tc = new TestTurnClient(server, client, ALICE, { integrity: 'sha256', passwordAlgorithm: 'sha256' });
    const a = await tc.allocate();
    expect(a.cls).toBe(StunClass.SuccessResponse);
    const key = longTermKey(nodeStunCrypto, ALICE.username, ALICE.realm, ALICE.password, 'sha256');
    expect(a.integritySha256Offset).toBeDefined();
    expect(a.integrityOffset).toBeUndefined();
    expect(verifyIntegrity(a, key, nodeStunCrypto, 'sha256')).toBe(true);
  });

  it('refuses a bid-down (PASSWORD-ALGORITHMS not as offered) with 400', async () => {
    start();
    const client = new FakeClient('udp');
    const tc = new TestTurnClient(server, client, ALICE, {
      passwordAlgorithm: 'md5',
      passwordAlgorithms: [{ algorithm: 1, params: new Uint8Array(0) }],
    });
    expect(errorCode(await tc.allocate())).toBe(400);
  });

  it('logs in with USERHASH', async () => {
    start();
    const tc = new TestTurnClient(server, new FakeClient('udp'), ALICE, { useUserhash: true });
    expect((await tc.allocate()).cls).toBe(StunClass.SuccessResponse);
    expect(server.allocationsInfo()[0]?.username).toBe('alice');
  });

  it('accepts TURN REST credentials until they expire', async () => {
    const secret = 'rest-secret-123';
    start({ restSecret: secret });
    const username = `${Math.floor(T0 / 1000) + 60}:carol`;
    const password = createHmac('sha1', secret).update(username).digest('base64');
    const tc = new TestTurnClient(server, new FakeClient('udp'), { username, password, realm: 'burrow' });
    expect((await tc.allocate()).cls).toBe(StunClass.SuccessResponse);
    clock += 61_000;
    expect(errorCode(await tc.refresh())).toBe(401);
  });

  it('REST credentials: the granted lifetime is capped at their time left, and a release with them works after they expire', async () => {
    const secret = 'rest-secret-123';
    start({ restSecret: secret });
    clock = T0 + 500;
    const username = `${Math.floor(T0 / 1000) + 3}:carol`; // expires at T0 + 3 s: 2.5 s left
    const password = createHmac('sha1', secret).update(username).digest('base64');
    const tc = new TestTurnClient(server, new FakeClient('udp'), { username, password, realm: 'burrow' });
    const a = await tc.allocate([{ type: 'REQUESTED-TRANSPORT', protocol: 17 }, { type: 'LIFETIME', seconds: 3600 }]);
    expect(a.cls).toBe(StunClass.SuccessResponse);
    expect(getAttribute(a, 'LIFETIME')?.seconds).toBe(3); // not 600 or 3600
    clock = T0 + 3_200; // credentials expired, allocation not yet
    expect(server.allocationsInfo()).toHaveLength(1);
    expect(errorCode(await tc.refresh(600))).toBe(401); // no extension with expired credentials
    const release = await tc.refresh(0);
    expect(release.cls).toBe(StunClass.SuccessResponse);
    expect(getAttribute(release, 'LIFETIME')?.seconds).toBe(0);
    expect(server.allocationsInfo()).toHaveLength(0);
  });

  it('dual allocation: only IPv4 configured → IPv4 relayed address plus ADDRESS-ERROR-CODE 440 for IPv6', async () => {
    start();
    const tc = new TestTurnClient(server, new FakeClient('udp'), ALICE);
    const a = await tc.allocate([
      { type: 'REQUESTED-TRANSPORT', protocol: 17 },
      { type: 'ADDITIONAL-ADDRESS-FAMILY', family: 'IPv6' },
    ]);
    expect(a.cls).toBe(StunClass.SuccessResponse);
    expect(getAttributes(a, 'XOR-RELAYED-ADDRESS')).toHaveLength(1);
    expect(getAttribute(a, 'ADDRESS-ERROR-CODE')).toMatchObject({ family: 'IPv6', code: 440 });
    const other = new TestTurnClient(server, new FakeClient('udp', { address: '127.0.0.1', port: 40_001 }), ALICE);
    expect(errorCode(await other.allocate([{ type: 'REQUESTED-TRANSPORT', protocol: 17 }, { type: 'REQUESTED-ADDRESS-FAMILY', family: 'IPv6' }]))).toBe(440);
    expect(
      errorCode(
        await other.allocate([
          { type: 'REQUESTED-TRANSPORT', protocol: 17 },
          { type: 'REQUESTED-ADDRESS-FAMILY', family: 'IPv4' },
          { type: 'ADDITIONAL-ADDRESS-FAMILY', family: 'IPv6' },
        ]),
      ),
    ).toBe(400);
    expect(errorCode(await tc.refresh(600, [{ type: 'REQUESTED-ADDRESS-FAMILY', family: 'IPv6' }]))).toBe(443);
  });

  it("accepts coturn's draft ADDITIONAL-ADDRESS-FAMILY code point (0x8032) and answers in kind (0x8033)", async () => {
    start();
    const tc = new TestTurnClient(server, new FakeClient('udp'), ALICE);
    const a = await tc.allocate([
      { type: 'REQUESTED-TRANSPORT', protocol: 17 },
      { type: 'UNKNOWN', code: 0x8032, value: new Uint8Array([2, 0, 0, 0]) },
    ]);
    expect(a.cls).toBe(StunClass.SuccessResponse);
    expect(getAttributes(a, 'XOR-RELAYED-ADDRESS')).toHaveLength(1);
    expect(getAttribute(a, 'ADDRESS-ERROR-CODE')).toBeUndefined();
    const legacy = a.attributes.find((x) => x.type === 'UNKNOWN' && x.code === 0x8033);
    expect(legacy && legacy.type === 'UNKNOWN' ? [...legacy.value.slice(0, 4)] : undefined).toEqual([2, 0, 4, 40]);
  });

  it('EVEN-PORT with R reserves the next port for a RESERVATION-TOKEN (30 s)', async () => {
    start();
    const t1 = new TestTurnClient(server, new FakeClient('udp', { address: '127.0.0.1', port: 41_001 }), ALICE);
    const a = await t1.allocate([{ type: 'REQUESTED-TRANSPORT', protocol: 17 }, { type: 'EVEN-PORT', reserveNext: true }]);
    const port = getAttribute(a, 'XOR-RELAYED-ADDRESS')!.address.port;
    expect(port % 2).toBe(0);
    const token = getAttribute(a, 'RESERVATION-TOKEN')!.token;
    expect(token).toHaveLength(8);
    const t2 = new TestTurnClient(server, new FakeClient('udp', { address: '127.0.0.1', port: 41_002 }), ALICE);
    // RESERVATION-TOKEN with EVEN-PORT: 400.
    expect(
      errorCode(await t2.allocate([{ type: 'REQUESTED-TRANSPORT', protocol: 17 }, { type: 'RESERVATION-TOKEN', token }, { type: 'EVEN-PORT', reserveNext: false }])),
    ).toBe(400);
    const b = await t2.allocate([{ type: 'REQUESTED-TRANSPORT', protocol: 17 }, { type: 'RESERVATION-TOKEN', token }]);
    expect(getAttribute(b, 'XOR-RELAYED-ADDRESS')?.address.port).toBe(port + 1);
    // A token is good once.
    const t3 = new TestTurnClient(server, new FakeClient('udp', { address: '127.0.0.1', port: 41_003 }), ALICE);
    expect(errorCode(await t3.allocate([{ type: 'REQUESTED-TRANSPORT', protocol: 17 }, { type: 'RESERVATION-TOKEN', token }]))).toBe(508);
  });

  it('forgets an unclaimed reservation after 30 s', async () => {
    start();
    const t1 = new TestTurnClient(server, new FakeClient('udp', { address: '127.0.0.1', port: 41_001 }), ALICE);
    const token = getAttribute(await t1.allocate([{ type: 'REQUESTED-TRANSPORT', protocol: 17 }, { type: 'EVEN-PORT', reserveNext: true }]), 'RESERVATION-TOKEN')!.token;
    clock += 30_000;
    server.handleExpiry(clock);
    const t2 = new TestTurnClient(server, new FakeClient('udp', { address: '127.0.0.1', port: 41_002 }), ALICE);
    expect(errorCode(await t2.allocate([{ type: 'REQUESTED-TRANSPORT', protocol: 17 }, { type: 'RESERVATION-TOKEN', token }]))).toBe(508);
  });

  it('accepts DONT-FRAGMENT on UDP allocations and refuses it on TCP ones', async () => {
    start();
    const tc = new TestTurnClient(server, new FakeClient('udp'), ALICE);
    expect((await tc.allocate([{ type: 'REQUESTED-TRANSPORT', protocol: 17 }, { type: 'DONT-FRAGMENT' }])).cls).toBe(StunClass.SuccessResponse);
    const tcp = new TestTurnClient(server, new FakeClient('tcp'), ALICE);
    expect(errorCode(await tcp.allocate([{ type: 'REQUESTED-TRANSPORT', protocol: 6 }, { type: 'DONT-FRAGMENT' }]))).toBe(400);
  });

  it('pads ChannelData to the client over TCP and ends the allocation when the connection closes', async () => {
    start();
    const p = await peer();
    const client = new FakeClient('tcp');
    const tc = new TestTurnClient(server, client, ALICE);
    const relayed = getAttribute(await tc.allocate(), 'XOR-RELAYED-ADDRESS')!.address;
    await tc.channelBind(0x4002, v4('127.0.0.1', p.port));
    p.send('abcde', relayed.port);
    const cd = await until(() => client.channelData()[0], 2000, 'ChannelData');
    expect(text(cd.data)).toBe('abcde');
    expect(cd.bytes.length).toBe(12); // 4 + 5 padded to 8
    // A client that stopped reading gets nothing more.
    client.pendingBytes = 10 * 1024 * 1024;
    expect(relays.at(relayed.port).deliver('dropped', { address: '127.0.0.1', port: p.port })).toBe(true);
    expect(client.channelData()).toHaveLength(1);
    server.clientClosed(client);
    expect(server.stats().allocations).toBe(0);
  });

  it('bandwidth: datagrams over the per-allocation rate are dropped', async () => {
    start({ bandwidth: 1000 });
    const p = await peer();
    const tc = new TestTurnClient(server, new FakeClient('udp'), ALICE);
    const relay = relays.at(getAttribute(await tc.allocate(), 'XOR-RELAYED-ADDRESS')!.address.port);
    const peerAddr = v4('127.0.0.1', p.port);
    await tc.createPermission(peerAddr);
    const big = Buffer.alloc(30_000, 1);
    for (let i = 0; i < 4; i++) tc.send(peerAddr, big); // burst is 64 KiB: two pass
    expect(relay.sent).toHaveLength(2);
    await until(() => p.received.length === 2, 2000, 'datagrams');
    clock += 60_000; // refilled
    tc.send(peerAddr, big);
    expect(relay.sent).toHaveLength(3);
    await until(() => p.received.length === 3, 2000, 'datagram after refill');
  });

  describe('RFC 6062 TCP allocations', () => {
    /** A connected loopback TCP pair: [client side, server side]. */
    async function socketPair(): Promise<[Socket, Socket]> {
      const srv = net.createServer({ allowHalfOpen: true });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const accepted = new Promise<Socket>((r) => srv.once('connection', r));
      const a = net.connect({ port: (srv.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
      const b = await accepted;
      srv.close();
      cleanups.push(() => {
        a.destroy();
        b.destroy();
      });
      return [a, b];
    }

    function collect(socket: Socket): { text: () => string } {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      return { text: () => Buffer.concat(chunks).toString() };
    }

    it('ConnectionAttempt for an incoming peer, ConnectionBind on a new connection, then raw bytes both ways', async () => {
      start();
      const control = new FakeClient('tcp', { address: '127.0.0.1', port: 45_000 });
      const tc = new TestTurnClient(server, control, ALICE);
      const allocated = await tc.allocate([{ type: 'REQUESTED-TRANSPORT', protocol: 6 }]);
      expect(allocated.cls).toBe(StunClass.SuccessResponse);
      const relayed = getAttribute(allocated, 'XOR-RELAYED-ADDRESS')!.address;

      // Without a permission the peer's connection is closed at once.
      const refused = net.connect({ port: relayed.port, host: '127.0.0.1' });
      refused.on('error', () => {});
      await new Promise((r) => refused.once('close', r));
      expect(control.stun().some((m) => m.method === StunMethod.ConnectionAttempt)).toBe(false);

      await tc.createPermission(v4('127.0.0.1', 0));
      const peerSocket = net.connect({ port: relayed.port, host: '127.0.0.1' });
      cleanups.push(() => peerSocket.destroy());
      await new Promise((r) => peerSocket.once('connect', r));
      peerSocket.write('early bytes;');
      const attempt = await until(() => control.stun().find((m) => m.method === StunMethod.ConnectionAttempt), 2000, 'ConnectionAttempt');
      expect(attempt.cls).toBe(StunClass.Indication);
      expect(getAttribute(attempt, 'XOR-PEER-ADDRESS')?.address.port).toBe(peerSocket.localPort);
      const connectionId = getAttribute(attempt, 'CONNECTION-ID')!.id;

      const [clientSide, serverSide] = await socketPair();
      const data = new FakeClient('tcp', { address: '127.0.0.1', port: clientSide.localPort! }, serverSide);
      const dc = new TestTurnClient(server, data, ALICE);
      dc.nonce = tc.nonce;
      const bound = await dc.request(StunMethod.ConnectionBind, [{ type: 'CONNECTION-ID', id: connectionId }]);
      expect(bound.cls).toBe(StunClass.SuccessResponse);

      const atClient = collect(clientSide);
      const atPeer = collect(peerSocket);
      clientSide.write('to peer');
      peerSocket.write('to client');
      await until(() => atPeer.text() === 'to peer', 2000, 'bytes at peer');
      await until(() => atClient.text() === 'early bytes;to client', 2000, 'bytes at client');

      // The connection is no longer pending: binding it again is a 400.
      const again = new FakeClient('tcp', { address: '127.0.0.1', port: 45_001 }, serverSide);
      const ac = new TestTurnClient(server, again, ALICE);
      ac.nonce = tc.nonce;
      expect(errorCode(await ac.request(StunMethod.ConnectionBind, [{ type: 'CONNECTION-ID', id: connectionId }]))).toBe(400);

      // Deleting the allocation closes the data connections (RFC 6062 §5.5).
      await tc.refresh(0);
      await new Promise((r) => peerSocket.once('close', r));
    });

    it('Connect to a peer, 446 for a second Connect, 447 when the peer is not there', async () => {
      start();
      const peerServer = net.createServer({ allowHalfOpen: true });
      const accepted: Socket[] = [];
      peerServer.on('connection', (s) => accepted.push(s));
      await new Promise<void>((r) => peerServer.listen(0, '127.0.0.1', r));
      const peerPort = (peerServer.address() as net.AddressInfo).port;
      cleanups.push(() => {
        for (const s of accepted) s.destroy();
        peerServer.close();
      });

      const control = new FakeClient('tcp', { address: '127.0.0.1', port: 45_010 });
      const tc = new TestTurnClient(server, control, ALICE);
      await tc.allocate([{ type: 'REQUESTED-TRANSPORT', protocol: 6 }]);
      const connected = await tc.request(StunMethod.Connect, [{ type: 'XOR-PEER-ADDRESS', address: v4('127.0.0.1', peerPort) }]);
      expect(connected.cls).toBe(StunClass.SuccessResponse);
      const connectionId = getAttribute(connected, 'CONNECTION-ID')!.id;
      expect(errorCode(await tc.request(StunMethod.Connect, [{ type: 'XOR-PEER-ADDRESS', address: v4('127.0.0.1', peerPort) }]))).toBe(446);

      const [clientSide, serverSide] = await socketPair();
      const data = new FakeClient('tcp', { address: '127.0.0.1', port: clientSide.localPort! }, serverSide);
      const dc = new TestTurnClient(server, data, ALICE);
      dc.nonce = tc.nonce;
      expect((await dc.request(StunMethod.ConnectionBind, [{ type: 'CONNECTION-ID', id: connectionId }])).cls).toBe(StunClass.SuccessResponse);
      const peerSide = await until(() => accepted[0], 2000, 'peer accepted');
      const atPeer = collect(peerSide);
      const atClient = collect(clientSide);
      clientSide.write('hi peer');
      peerSide.write('hi client');
      await until(() => atPeer.text() === 'hi peer', 2000, 'at peer');
      await until(() => atClient.text() === 'hi client', 2000, 'at client');
      expect(server.stats().bytesRelayed).toEqual({ toPeers: 7, fromPeers: 9 });

      // Nobody listens on this port.
      const closedPort = await new Promise<number>((resolve) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
          const port = (s.address() as net.AddressInfo).port;
          s.close(() => resolve(port));
        });
      });
      expect(errorCode(await tc.request(StunMethod.Connect, [{ type: 'XOR-PEER-ADDRESS', address: v4('127.0.0.1', closedPort) }]))).toBe(447);
      // UDP allocations have no Connect; ConnectionBind over UDP is a 400.
      const udp = new TestTurnClient(server, new FakeClient('udp'), ALICE);
      await udp.allocate();
      expect(errorCode(await udp.request(StunMethod.Connect, [{ type: 'XOR-PEER-ADDRESS', address: v4('127.0.0.1', peerPort) }]))).toBe(400);
      expect(errorCode(await udp.request(StunMethod.ConnectionBind, [{ type: 'CONNECTION-ID', id: connectionId }]))).toBe(400);
    });

    it('closes a peer connection that is not bound within 30 s', async () => {
      start();
      const control = new FakeClient('tcp', { address: '127.0.0.1', port: 45_020 });
      const tc = new TestTurnClient(server, control, ALICE);
      const relayed = getAttribute(await tc.allocate([{ type: 'REQUESTED-TRANSPORT', protocol: 6 }]), 'XOR-RELAYED-ADDRESS')!.address;
      await tc.createPermission(v4('127.0.0.1', 0));
      const peerSocket = net.connect({ port: relayed.port, host: '127.0.0.1' });
      cleanups.push(() => peerSocket.destroy());
      peerSocket.on('error', () => {});
      await until(() => control.stun().find((m) => m.method === StunMethod.ConnectionAttempt), 2000, 'ConnectionAttempt');
      clock += 30_000;
      server.handleExpiry(clock);
      await new Promise((r) => peerSocket.once('close', r));
    });
  });
});

/** Signs a decoded message with MESSAGE-INTEGRITY and FINGERPRINT (for malformed-auth tests). */
function encodeWithIntegrity(m: DecodedStunMessage, key: Uint8Array): Uint8Array {
  const attributes = m.attributes.filter((a) => a.type !== 'FINGERPRINT' && a.type !== 'MESSAGE-INTEGRITY');
  return encodeStun({ method: m.method, cls: m.cls, transactionId: m.transactionId, attributes }, { integrity: { key }, fingerprint: true, crypto: nodeStunCrypto });
}
