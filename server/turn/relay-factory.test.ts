import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeRelayFactory, RESERVATION_MS, type RelaySocket } from './relay-factory.js';

describe('NodeRelayFactory', () => {
  const open: Array<{ close(): void }> = [];
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });

  it('binds random ports in the range, even ones on request', async () => {
    const f = new NodeRelayFactory({ ports: [43000, 43099] });
    for (let i = 0; i < 5; i++) {
      const s = await f.bindUdp('127.0.0.1', 'random', { evenPort: true });
      open.push(s);
      expect(s.port % 2).toBe(0);
      expect(s.port).toBeGreaterThanOrEqual(43000);
      expect(s.port).toBeLessThanOrEqual(43099);
    }
  });

  it('skips ports in use and fails with EADDRINUSE when the range is full', async () => {
    const squatter = dgram.createSocket('udp4');
    await new Promise<void>((r) => squatter.bind(43200, '127.0.0.1', r));
    open.push(squatter);
    const f = new NodeRelayFactory({ ports: [43200, 43201] });
    const s = await f.bindUdp('127.0.0.1', 'random', {});
    open.push(s);
    expect(s.port).toBe(43201);
    await expect(f.bindUdp('127.0.0.1', 'random', {})).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('reserves port + 1 for a token, held for 30 s', async () => {
    let now = 0;
    const f = new NodeRelayFactory({ ports: [43300, 43399], now: () => now });
    const s = await f.bindUdp('127.0.0.1', 'random', { evenPort: true, reserveNext: true });
    open.push(s);
    expect(s.reservationToken).toHaveLength(8);
    const claimed = f.claimReservation(s.reservationToken!, 1000) as RelaySocket;
    open.push(claimed);
    expect(claimed.port).toBe(s.port + 1);
    expect(f.claimReservation(s.reservationToken!, 1000)).toBeUndefined();

    const s2 = await f.bindUdp('127.0.0.1', 'random', { reserveNext: true });
    open.push(s2);
    now = RESERVATION_MS;
    f.handleExpiry(now);
    expect(f.claimReservation(s2.reservationToken!, now)).toBeUndefined();
    // The reserved port is free again.
    const again = await f.bindUdp('127.0.0.1', s2.port + 1, {});
    open.push(again);
    await f.close();
  });

  it('relays datagrams through a relay socket', async () => {
    const f = new NodeRelayFactory({ ports: [43400, 43499] });
    const s = await f.bindUdp('127.0.0.1', 'random', {});
    open.push(s);
    const peer = dgram.createSocket('udp4');
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', r));
    open.push(peer);
    const got = new Promise<{ data: string; port: number }>((resolve) => s.onMessage((d, from) => resolve({ data: d.toString(), port: from.port })));
    peer.send('hi', s.port, '127.0.0.1');
    expect(await got).toEqual({ data: 'hi', port: peer.address().port });
    const back = new Promise<string>((resolve) => peer.once('message', (d) => resolve(d.toString())));
    s.send(Buffer.from('yo'), peer.address().port, '127.0.0.1');
    expect(await back).toBe('yo');
  });

  it('listens for TCP and dials peers, failing on refused connections', async () => {
    const f = new NodeRelayFactory({ ports: [43500, 43599] });
    const l = await f.listenTcp('127.0.0.1', 'random');
    open.push(l);
    const accepted = new Promise<net.Socket>((resolve) => l.onConnection(resolve));
    const c = net.connect({ port: l.port, host: '127.0.0.1' });
    open.push({ close: () => c.destroy() });
    const s = await accepted;
    open.push({ close: () => s.destroy() });
    const dialed = await f.connectTcp('127.0.0.1', { address: '127.0.0.1', port: l.port }, 2000);
    open.push({ close: () => dialed.destroy() });
    expect(dialed.remotePort).toBe(l.port);
    const closed = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
    await expect(f.connectTcp('127.0.0.1', { address: '127.0.0.1', port: closed }, 2000)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
