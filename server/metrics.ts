/**
 * Prometheus metrics for `burrow server`, served by the admin API at GET /metrics.
 *
 * Nothing is counted here: every burrow_* metric is filled in at scrape time from one
 * `ServerSnapshot` (the same data GET /api/status returns), so the metrics can never drift from
 * the server's own counters, and label sets of clients/tunnels that went away disappear on the
 * next scrape (cardinality follows what is connected now). Per-tunnel counters restart from zero
 * when a client reconnects; Prometheus' rate()/increase() treat that as a counter reset.
 *
 * Uses its own Registry (never prom-client's global one), plus the default process metrics
 * (RSS, open fds, CPU, event-loop lag, heap…).
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { TunnelKind } from '../shared/protocol/messages.js';
import type { ServerSnapshot, ServerTunnelInfo } from '../shared/types/server-status.js';

export interface BurrowMetrics {
  registry: Registry;
}

/** Counter values must be finite and non-negative or prom-client throws (and the scrape fails). */
function count(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}

export function createMetrics(source: () => ServerSnapshot): BurrowMetrics {
  const registry = new Registry();

  // All collect() callbacks of one scrape run synchronously in the same tick (Registry.metrics()
  // starts every metric's get() before awaiting), so one snapshot serves the whole scrape and the
  // numbers are mutually consistent. The cache is dropped at the next microtask.
  let cached: ServerSnapshot | undefined;
  const snapshot = (): ServerSnapshot => {
    if (!cached) {
      cached = source();
      queueMicrotask(() => {
        cached = undefined;
      });
    }
    return cached;
  };
  const tunnels = function* (s: ServerSnapshot): Generator<ServerTunnelInfo> {
    for (const client of s.clients) yield* client.tunnels;
  };

  new Gauge({
    name: 'burrow_clients_connected',
    help: 'Clients with a live control session.',
    registers: [registry],
    collect() {
      this.set(snapshot().clients.length);
    },
  });

  new Gauge({
    name: 'burrow_tunnels',
    help: 'Tunnels registered by connected clients, by type.',
    labelNames: ['type'] as const,
    registers: [registry],
    collect() {
      const byType = new Map<string, number>(TunnelKind.options.map((t) => [t, 0]));
      for (const t of tunnels(snapshot())) byType.set(t.type, (byType.get(t.type) ?? 0) + 1);
      this.reset();
      for (const [type, n] of byType) this.set({ type }, n);
    },
  });

  new Gauge({
    name: 'burrow_tunnel_connections_active',
    help: 'Connections (tcp/secret) or sender sessions (udp) open now, per tunnel.',
    labelNames: ['client', 'tunnel', 'type'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const t of tunnels(snapshot())) {
        this.inc({ client: t.clientId, tunnel: t.name, type: t.type }, count(t.activeConnections));
      }
    },
  });

  new Counter({
    name: 'burrow_tunnel_connections_total',
    help: 'Connections (tcp/secret) or sender sessions (udp) since the tunnel came up.',
    labelNames: ['client', 'tunnel', 'type'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const t of tunnels(snapshot())) {
        this.inc({ client: t.clientId, tunnel: t.name, type: t.type }, count(t.totalConnections));
      }
    },
  });

  new Counter({
    name: 'burrow_tunnel_bytes_total',
    help: 'Bytes relayed since the tunnel came up; in = from remote users towards the local service, out = back.',
    labelNames: ['client', 'tunnel', 'type', 'direction'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const t of tunnels(snapshot())) {
        this.inc({ client: t.clientId, tunnel: t.name, type: t.type, direction: 'in' }, count(t.bytesIn));
        this.inc({ client: t.clientId, tunnel: t.name, type: t.type, direction: 'out' }, count(t.bytesOut));
      }
    },
  });

  new Counter({
    name: 'burrow_logins_total',
    help: 'Authentication attempts on the control port by result (failure also counts bad work/visitor connection proofs; rate_limited: refused unchecked, source over the failure limit).',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      const c = snapshot().counters;
      this.reset();
      this.inc({ result: 'success' }, count(c.loginsSucceeded));
      this.inc({ result: 'failure' }, count(c.loginsFailed));
      this.inc({ result: 'rate_limited' }, count(c.loginsRateLimited));
    },
  });

  const simpleCounter = (name: string, help: string, pick: (s: ServerSnapshot) => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(count(pick(snapshot())));
      },
    });
  };
  simpleCounter('burrow_protocol_errors_total', 'Malformed frames, failed TLS handshakes and unexpected messages.', (s) => s.counters.protocolErrors);
  simpleCounter('burrow_refused_by_access_list_total', 'User connections or datagram senders refused by a tunnel access list.', (s) => s.counters.refusedByAccessList);
  simpleCounter('burrow_work_conn_timeouts_total', 'User connections dropped because no work connection arrived in time.', (s) => s.counters.workConnTimeouts);
  simpleCounter('burrow_visitors_refused_total', 'Secret-tunnel visitors refused (unknown tunnel or wrong secret).', (s) => s.counters.visitorsRefused);

  // TURN (present only when the server runs a TURN service; zero otherwise).
  const turnGauge = (name: string, help: string, pick: (t: NonNullable<ServerSnapshot['turn']>['stats']) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const t = snapshot().turn;
        this.set(t ? count(pick(t.stats)) : 0);
      },
    });
  };
  turnGauge('burrow_turn_allocations', 'Live TURN allocations.', (t) => t.allocations);
  turnGauge('burrow_turn_permissions', 'Live TURN permissions across allocations.', (t) => t.permissions);
  turnGauge('burrow_turn_channels', 'Live TURN channel bindings across allocations.', (t) => t.channels);
  simpleCounter('burrow_turn_auth_failures_total', 'TURN requests refused for missing or wrong credentials.', (s) => s.turn?.stats.authFailures ?? 0);
  for (const [name, help, key] of [
    ['burrow_turn_relayed_bytes_total', 'Bytes relayed by TURN allocations, by direction.', 'bytesRelayed'],
    ['burrow_turn_relayed_packets_total', 'Packets relayed by TURN allocations, by direction.', 'packetsRelayed'],
  ] as const) {
    new Counter({
      name,
      help,
      labelNames: ['direction'] as const,
      registers: [registry],
      collect() {
        this.reset();
        const t = snapshot().turn?.stats[key];
        this.inc({ direction: 'to_peers' }, count(t?.toPeers ?? 0));
        this.inc({ direction: 'from_peers' }, count(t?.fromPeers ?? 0));
      },
    });
  }

  collectDefaultMetrics({ register: registry });

  return { registry };
}
