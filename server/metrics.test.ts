import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ServerClientInfo, ServerSnapshot, ServerTunnelInfo } from '../shared/types/server-status.js';
import { createMetrics } from './metrics.js';

function tunnel(clientId: string, name: string, type: ServerTunnelInfo['type'], n: Partial<ServerTunnelInfo> = {}): ServerTunnelInfo {
  return {
    name,
    type,
    clientId,
    createdAt: '2024-06-01T00:00:00.000Z',
    bytesIn: 0,
    bytesOut: 0,
    activeConnections: 0,
    totalConnections: 0,
    ...n,
  };
}

function client(clientId: string, tunnels: ServerTunnelInfo[]): ServerClientInfo {
  const sum = (k: 'bytesIn' | 'bytesOut' | 'activeConnections' | 'totalConnections') => tunnels.reduce((a, t) => a + t[k], 0);
  return {
    clientId,
    sessionId: `s-${clientId}`,
    address: '10.0.0.1:50000',
    version: '0.1.0',
    connectedAt: '2024-06-01T00:00:00.000Z',
    idleWorkConnections: 1,
    tunnels,
    bytesIn: sum('bytesIn'),
    bytesOut: sum('bytesOut'),
    activeConnections: sum('activeConnections'),
    totalConnections: sum('totalConnections'),
  };
}

function snapshot(clients: ServerClientInfo[], counters: Partial<ServerSnapshot['counters']> = {}): ServerSnapshot {
  return {
    version: '0.1.0',
    startedAt: '2024-06-01T00:00:00.000Z',
    listen: '0.0.0.0:7000',
    tls: true,
    clients,
    counters: {
      loginsSucceeded: 0,
      loginsFailed: 0,
      loginsRateLimited: 0,
      protocolErrors: 0,
      refusedByAccessList: 0,
      workConnTimeouts: 0,
      visitorsRefused: 0,
      ...counters,
    },
  };
}

const FULL = snapshot(
  [
    client('c1', [
      tunnel('c1', 'ssh', 'tcp', { bytesIn: 1234, bytesOut: 5678, activeConnections: 2, totalConnections: 7 }),
      tunnel('c1', 'dns', 'udp', { bytesIn: 10, bytesOut: 20, activeConnections: 1, totalConnections: 3 }),
    ]),
    client('c2', [tunnel('c2', 'db', 'secret', { bytesIn: 1, bytesOut: 2, totalConnections: 1 })]),
  ],
  {
    loginsSucceeded: 5,
    loginsFailed: 3,
    loginsRateLimited: 2,
    protocolErrors: 4,
    refusedByAccessList: 6,
    workConnTimeouts: 8,
    visitorsRefused: 9,
  },
);

const lines = (text: string) => text.split('\n');

describe('createMetrics', () => {
  it('exposes every burrow metric from the snapshot at scrape time', async () => {
    const { registry } = createMetrics(() => FULL);
    const text = await registry.metrics();
    const expected = [
      'burrow_clients_connected 2',
      'burrow_tunnels{type="tcp"} 1',
      'burrow_tunnels{type="udp"} 1',
      'burrow_tunnels{type="secret"} 1',
      'burrow_tunnel_connections_active{client="c1",tunnel="ssh",type="tcp"} 2',
      'burrow_tunnel_connections_active{client="c1",tunnel="dns",type="udp"} 1',
      'burrow_tunnel_connections_active{client="c2",tunnel="db",type="secret"} 0',
      'burrow_tunnel_connections_total{client="c1",tunnel="ssh",type="tcp"} 7',
      'burrow_tunnel_connections_total{client="c2",tunnel="db",type="secret"} 1',
      'burrow_tunnel_bytes_total{client="c1",tunnel="ssh",type="tcp",direction="in"} 1234',
      'burrow_tunnel_bytes_total{client="c1",tunnel="ssh",type="tcp",direction="out"} 5678',
      'burrow_tunnel_bytes_total{client="c1",tunnel="dns",type="udp",direction="in"} 10',
      'burrow_tunnel_bytes_total{client="c2",tunnel="db",type="secret",direction="out"} 2',
      'burrow_logins_total{result="success"} 5',
      'burrow_logins_total{result="failure"} 3',
      'burrow_logins_total{result="rate_limited"} 2',
      'burrow_protocol_errors_total 4',
      'burrow_refused_by_access_list_total 6',
      'burrow_work_conn_timeouts_total 8',
      'burrow_visitors_refused_total 9',
      '# TYPE burrow_tunnel_bytes_total counter',
      '# TYPE burrow_tunnel_connections_total counter',
      '# TYPE burrow_logins_total counter',
      '# TYPE burrow_clients_connected gauge',
      '# TYPE burrow_tunnel_connections_active gauge',
    ];
    for (const line of expected) expect(lines(text)).toContain(line);
  });

  it('includes the default process metrics', async () => {
    const { registry } = createMetrics(() => FULL);
    const text = await registry.metrics();
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^process_open_fds \d+/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('follows the snapshot: new values each scrape, vanished tunnels disappear', async () => {
    let current = FULL;
    const { registry } = createMetrics(() => current);
    expect(await registry.metrics()).toContain('burrow_tunnel_bytes_total{client="c2",tunnel="db",type="secret",direction="in"} 1');

    current = snapshot([client('c1', [tunnel('c1', 'ssh', 'tcp', { bytesIn: 99999 })])]);
    const text = await registry.metrics();
    expect(lines(text)).toContain('burrow_tunnel_bytes_total{client="c1",tunnel="ssh",type="tcp",direction="in"} 99999');
    expect(lines(text)).toContain('burrow_clients_connected 1');
    expect(lines(text)).toContain('burrow_tunnels{type="secret"} 0');
    expect(text).not.toContain('client="c2"');
    expect(text).not.toContain('tunnel="dns"');
    expect(lines(text)).toContain('burrow_protocol_errors_total 0');
  });

  it('reports zeroes (and all tunnel types) with no clients', async () => {
    const { registry } = createMetrics(() => snapshot([]));
    const text = await registry.metrics();
    for (const type of ['tcp', 'udp', 'secret']) expect(lines(text)).toContain(`burrow_tunnels{type="${type}"} 0`);
    expect(lines(text)).toContain('burrow_clients_connected 0');
    expect(lines(text)).toContain('burrow_logins_total{result="failure"} 0');
    expect(text).not.toMatch(/^burrow_tunnel_bytes_total\{/m);
  });

  it('takes one snapshot per scrape', async () => {
    let calls = 0;
    const { registry } = createMetrics(() => {
      calls++;
      return FULL;
    });
    await registry.metrics();
    expect(calls).toBe(1);
    await registry.metrics();
    expect(calls).toBe(2);
  });

  it('uses its own registry: nothing lands in the global one, instances do not collide', async () => {
    const a = createMetrics(() => FULL);
    const b = createMetrics(() => snapshot([]));
    expect(a.registry).not.toBe(globalRegistry);
    expect(await globalRegistry.metrics()).not.toContain('burrow_');
    expect(await a.registry.metrics()).toContain('burrow_clients_connected 2');
    expect(await b.registry.metrics()).toContain('burrow_clients_connected 0');
    expect(a.registry.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('escapes label values and survives nonsense numbers', async () => {
    const weird = snapshot([
      client('we"ird\\id', [tunnel('we"ird\\id', 'x', 'tcp', { bytesIn: -5, bytesOut: Number.NaN, totalConnections: Infinity })]),
    ]);
    const { registry } = createMetrics(() => weird);
    const text = await registry.metrics();
    expect(lines(text)).toContain('burrow_tunnel_bytes_total{client="we\\"ird\\\\id",tunnel="x",type="tcp",direction="in"} 0');
    expect(lines(text)).toContain('burrow_tunnel_bytes_total{client="we\\"ird\\\\id",tunnel="x",type="tcp",direction="out"} 0');
    expect(lines(text)).toContain('burrow_tunnel_connections_total{client="we\\"ird\\\\id",tunnel="x",type="tcp"} 0');
  });

  it('fails the scrape (does not return stale data) when the snapshot throws', async () => {
    const { registry } = createMetrics(() => {
      throw new Error('boom');
    });
    await expect(registry.metrics()).rejects.toThrow('boom');
  });
});
