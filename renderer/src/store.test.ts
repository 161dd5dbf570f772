import { describe, expect, it } from 'vitest';
import { createClient } from '../../shared/ipc/client.js';
import { createConsoleStore, mergeHistory } from './store.js';

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
