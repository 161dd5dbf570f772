import { describe, expect, it } from 'vitest';
import { createClient } from '../../shared/ipc/client.js';
import { createConsoleStore, mergeHistory, mergeLogs } from './store.js';

const at = (t: number) => ({ at: t, total: { inPerSec: t, outPerSec: 0, activeConnections: 0 }, tunnels: [] });

describe('mergeHistory', () => {
  it('puts the host history before the live samples, without duplicates', () => {
    expect(mergeHistory([at(1000), at(2000)], [at(2000), at(3000)]).map((s) => s.at)).toEqual([1000, 2000, 3000]);
    expect(mergeHistory([], [at(5)]).map((s) => s.at)).toEqual([5]);
  });
});

describe('console store', () => {
  it('keeps the pushed status and a ten-minute traffic window', () => {
    let deliver: (m: unknown) => void = () => {};
    const client = createClient({ send: () => {}, onMessage: (r) => (deliver = r) });
    const store = createConsoleStore(client);
    deliver({ kind: 'event', stream: 'status', payload: { server: 's:1', clientId: 'c', state: 'online', reconnects: 0, tunnels: [], visitors: [] } });
    for (let i = 0; i <= 660; i++) deliver({ kind: 'event', stream: 'traffic', payload: { at: i * 1000, total: { inPerSec: i, outPerSec: 0, activeConnections: 0 }, tunnels: [] } });
    deliver({ kind: 'event', stream: 'traffic', payload: { at: 1, total: { inPerSec: -1 } } }); // breaks the schema: ignored
    const s = store.getState();
    expect(s.connected).toBe(true);
    expect(s.status?.clientId).toBe('c');
    expect(s.samples).toHaveLength(600);
    expect(s.samples.at(-1)?.total.inPerSec).toBe(660);
  });
});

describe('console store: logs, NAT progress, local health, mode', () => {
  it('keeps what the host pushes, for the pages', () => {
    let deliver: (m: unknown) => void = () => {};
    const client = createClient({ send: () => {}, onMessage: (r) => (deliver = r) });
    const store = createConsoleStore(client);
    deliver({ kind: 'event', stream: 'log', payload: { at: 1, level: 'info', message: 'tunnel online', tunnel: 'web' } });
    deliver({ kind: 'event', stream: 'nat.progress', payload: { step: 'stun-mapping', state: 'no-reply', detail: 'no reply from x' } });
    deliver({ kind: 'event', stream: 'local.health', payload: { tunnels: [{ name: 'web', local: '127.0.0.1:1', reachable: false, checked: true, error: 'connection refused' }] } });
    deliver({ kind: 'event', stream: 'mode', payload: { mode: 'demo', configFile: '/x.yaml' } });
    const s = store.getState();
    expect(s.logs.map((l) => l.message)).toEqual(['tunnel online']);
    expect(s.natSteps['stun-mapping']).toEqual({ state: 'no-reply', detail: 'no reply from x' });
    expect(s.health.web).toEqual({ reachable: false, checked: true, error: 'connection refused' });
    expect(s.mode?.mode).toBe('demo');
  });

  it('merges kept log lines before live ones without doubles', () => {
    const l = (at: number) => ({ at, level: 'info' as const, message: String(at) });
    expect(mergeLogs([l(1), l(2)], [l(2), l(3)]).map((x) => x.at)).toEqual([1, 2, 3]);
  });
});
