import { describe, expect, it } from 'vitest';
import { bridgeTransport, type ContractBridge } from './bridge.js';
import { createClient } from './client.js';
import { contract } from './contract.js';

function fakeBridge(answer: (channel: string, payload: unknown) => Promise<unknown>) {
  const subscribers = new Map<string, (payload: unknown) => void>();
  const bridge: ContractBridge = {
    channels: Object.keys(contract.channels),
    streams: Object.keys(contract.events),
    invoke: answer,
    subscribe: (stream, listener) => {
      subscribers.set(stream, listener);
      return () => subscribers.delete(stream);
    },
  };
  return { bridge, subscribers };
}

const status = { server: 's:7000', clientId: 'c', state: 'online', reconnects: 0, tunnels: [], visitors: [] };

describe('bridgeTransport (the Electron preload as a ClientTransport)', () => {
  it('answers a call with the host response, whatever id the host used', async () => {
    const { bridge } = fakeBridge(async (channel) => (channel === 'status.get' ? { kind: 'response', id: 0, ok: true, result: status } : undefined));
    const client = createClient(bridgeTransport(bridge));
    await expect(client.call('status.get', {})).resolves.toEqual(status);
  });

  it('passes a refusal on as the ChannelError the WebSocket would give', async () => {
    const { bridge } = fakeBridge(async () => ({ kind: 'response', id: 0, ok: false, error: { code: 'bad-request', message: 'name: too long' } }));
    const client = createClient(bridgeTransport(bridge));
    await expect(client.call('tunnels.remove', { name: 'x' })).rejects.toMatchObject({ code: 'bad-request', message: 'name: too long' });
  });

  it('turns an IPC failure into a failed call instead of a hang', async () => {
    const { bridge } = fakeBridge(async () => {
      throw new Error('refused: not the app frame');
    });
    const client = createClient(bridgeTransport(bridge));
    await expect(client.call('status.get', {})).rejects.toMatchObject({ code: 'failed', message: 'refused: not the app frame' });
  });

  it('delivers every contract event stream to the client listeners', () => {
    const { bridge, subscribers } = fakeBridge(async () => undefined);
    const client = createClient(bridgeTransport(bridge));
    const seen: unknown[] = [];
    client.on('status', (s) => seen.push(s));
    expect([...subscribers.keys()].sort()).toEqual(Object.keys(contract.events).sort());
    subscribers.get('status')!(status);
    expect(seen).toEqual([status]);
  });
});
