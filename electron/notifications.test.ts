import { describe, expect, it } from 'vitest';
import type { ClientStatus, TunnelStatus } from '../shared/types/status.js';
import { changesWorthTelling, StatusNotifier, type DesktopNotice } from './notifications.js';

const counters = { bytesIn: 0, bytesOut: 0, activeConnections: 0, totalConnections: 0 };
const tunnel = (state: TunnelStatus['state'], extra: Record<string, unknown> = {}): TunnelStatus => ({ name: 'ssh', type: 'tcp', local: '127.0.0.1:22', state, ...counters, ...extra });
const status = (t: TunnelStatus, visitorState: TunnelStatus['state'] = 'online'): ClientStatus => ({
  server: 's:7000',
  clientId: 'c',
  state: 'online',
  reconnects: 0,
  tunnels: [t],
  visitors: [{ name: 'db', tunnel: 'pg', bind: '127.0.0.1:5432', type: 'secret', state: visitorState, ...counters }],
});

function recorder() {
  const shown: DesktopNotice[] = [];
  return { shown, sink: { show: (n: DesktopNotice) => shown.push(n) } };
}

describe('desktop notifications', () => {
  it('tells once when a tunnel goes from online to error, not again while it stays in error', () => {
    const { shown, sink } = recorder();
    const n = new StatusNotifier(sink, true);
    n.update(status(tunnel('online')));
    n.update(status(tunnel('error', { error: 'local service 127.0.0.1:22 refused' })));
    n.update(status(tunnel('error', { error: 'local service 127.0.0.1:22 refused' })));
    n.update(status(tunnel('error', { error: 'local service 127.0.0.1:22 refused' })));
    expect(shown).toEqual([{ title: 'Tunnel ssh failed', body: 'local service 127.0.0.1:22 refused' }]);
  });

  it('tells again after the tunnel recovered and failed a second time', () => {
    const { shown, sink } = recorder();
    const n = new StatusNotifier(sink, true);
    for (const s of ['online', 'error', 'online', 'error'] as const) n.update(status(tunnel(s)));
    expect(shown).toHaveLength(2);
  });

  it('tells when a visitor fails and when a direct path falls back to the relay', () => {
    expect(changesWorthTelling(status(tunnel('online'), 'online'), status(tunnel('online'), 'error'))).toEqual([{ title: 'Visitor db failed', body: 'it is no longer online' }]);
    const fellBack = changesWorthTelling(status(tunnel('online', { p2p: { path: 'direct' } })), status(tunnel('online', { p2p: { path: 'relay' } })));
    expect(fellBack.map((x) => x.title)).toEqual(['Tunnel ssh fell back to the relay']);
    expect(changesWorthTelling(status(tunnel('online', { p2p: { path: 'relay' } })), status(tunnel('online', { p2p: { path: 'direct' } })))).toEqual([]);
  });

  it('does not tell about connecting -> error (a tunnel that never came up) or the first status', () => {
    expect(changesWorthTelling(undefined, status(tunnel('error')))).toEqual([]);
    expect(changesWorthTelling(status(tunnel('connecting')), status(tunnel('error')))).toEqual([]);
  });

  it('shows nothing while switched off, and does not replay old changes when switched on', () => {
    const { shown, sink } = recorder();
    const n = new StatusNotifier(sink, false);
    n.update(status(tunnel('online')));
    n.update(status(tunnel('error')));
    n.enabled = true;
    n.update(status(tunnel('error')));
    expect(shown).toEqual([]);
  });
});
