import { describe, expect, it } from 'vitest';
import type { ClientStatus } from '../types/status.js';
import { createClient, type ClientTransport } from './client.js';
import type { HostMessage, RequestMessage } from './contract.js';
import { Router, type Handlers } from './router.js';

const status: ClientStatus = { server: 'relay.example:7000', clientId: 'laptop', state: 'online', reconnects: 0, tunnels: [], visitors: [] };

function setup(overrides: Partial<Handlers> = {}) {
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  const calls: unknown[] = [];
  const handlers: Handlers = {
    'status.get': () => status,
    'traffic.history': () => ({ samples: [] }),
    'tunnels.list': () => ({ tunnels: [] }),
    'tunnels.add': (r) => (calls.push(r), { ok: true as const }),
    'tunnels.update': () => ({ ok: true as const }),
    'tunnels.remove': () => ({ ok: true as const }),
    'tunnels.setEnabled': (r) => (calls.push(r), { ok: true as const }),
    'visitors.setEnabled': (r) => (calls.push(r), { ok: true as const }),
    'tunnels.listAsWritten': () => ({ tunnels: [] }),
    'tunnels.save': (r) => (calls.push(r), { ok: true as const }),
    'local.check': () => ({ reachable: true, checked: true }),
    'nat.run': () => Promise.reject(new Error('not in this test')),
    'nat.defaults': () => ({ stun: '' }),
    'logs.history': () => ({ lines: [] }),
    'console.mode': () => ({ mode: 'client', configFile: '/c.yaml' }),
    'settings.get': () => ({ configFile: '/c.yaml', server: 's:1', tls: true, tokenMasked: '••••' }),
    'settings.revealToken': () => ({ token: 'x' }),
    'setup.tryLocally': () => ({ mode: 'demo', configFile: '/d.yaml' }),
    'setup.connect': () => ({ mode: 'client', configFile: '/c.yaml' }),
    ...overrides,
  };
  const router = new Router(handlers, { warn: (fields, message) => warnings.push({ fields, message }) });
  const sent: HostMessage[] = [];
  const conn = router.connect({ send: (m) => sent.push(m) });
  return { router, conn, sent, warnings, calls };
}

describe('Router', () => {
  it('answers a declared channel with the handler result', async () => {
    const { conn, sent } = setup();
    await conn.receive({ kind: 'request', id: 1, channel: 'status.get', payload: {} });
    expect(sent).toEqual([{ kind: 'response', id: 1, ok: true, result: status }]);
  });

  it('refuses an undeclared channel and logs it, without calling anything', async () => {
    const { conn, sent, warnings } = setup();
    await conn.receive({ kind: 'request', id: 2, channel: 'engine.shutdown', payload: {} });
    expect(sent).toEqual([{ kind: 'response', id: 2, ok: false, error: { code: 'unknown-channel', message: 'unknown channel "engine.shutdown"' } }]);
    expect(warnings).toHaveLength(1);
  });

  it('does not treat inherited object keys as channels', async () => {
    const { conn, sent } = setup();
    await conn.receive({ kind: 'request', id: 3, channel: 'toString', payload: {} });
    expect(sent[0]).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
  });

  it('rejects a payload that fails its schema with a message naming the field, and never calls the handler', async () => {
    const { conn, sent, warnings, calls } = setup();
    await conn.receive({ kind: 'request', id: 4, channel: 'tunnels.add', payload: { tunnel: { name: 'web', type: 'tcp', local: '127.0.0.1:80', remotePort: 70000 } } });
    const reply = sent[0] as Extract<HostMessage, { kind: 'response'; ok: false }>;
    expect(reply.ok).toBe(false);
    expect(reply.error.code).toBe('bad-request');
    expect(reply.error.message).toMatch(/^tunnels\.add: tunnel\.remotePort: .*65535/);
    expect(calls).toEqual([]);
    expect(warnings[0]?.fields).toMatchObject({ channel: 'tunnels.add', code: 'bad-request' });
  });

  it('rejects unknown keys in a request (strict schemas)', async () => {
    const { conn, sent, calls } = setup();
    await conn.receive({ kind: 'request', id: 5, channel: 'tunnels.setEnabled', payload: { name: 'web', enabled: true, admin: true } });
    expect(sent[0]).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(calls).toEqual([]);
  });

  it('passes a visitor switch to its handler, and refuses a bad one in words without calling it', async () => {
    const { conn, sent, calls } = setup();
    await conn.receive({ kind: 'request', id: 6, channel: 'visitors.setEnabled', payload: { name: 'nas', enabled: false } });
    expect(sent[0]).toEqual({ kind: 'response', id: 6, ok: true, result: { ok: true } });
    expect(calls).toEqual([{ name: 'nas', enabled: false }]);
    for (const payload of [{ name: 'nas' }, { name: 'nas', enabled: 'no' }, { name: '../etc', enabled: true }, { name: 'nas', enabled: true, bind: '0.0.0.0:1' }, undefined]) {
      sent.length = 0;
      await conn.receive({ kind: 'request', id: 7, channel: 'visitors.setEnabled', payload });
      const reply = sent[0] as Extract<HostMessage, { kind: 'response'; ok: false }>;
      expect(reply.ok, JSON.stringify(payload)).toBe(false);
      expect(reply.error.code).toBe('bad-request');
      expect(reply.error.message).toMatch(/^visitors\.setEnabled: (enabled|name|Unrecognized key)/);
    }
    expect(sent).toHaveLength(1);
    expect(calls).toHaveLength(1);
  });

  it('answers garbage with bad-message instead of throwing', async () => {
    const { conn, sent } = setup();
    for (const raw of [null, 42, 'hello', { kind: 'request' }, { kind: 'request', id: -1, channel: 'status.get' }]) await conn.receive(raw);
    expect(sent).toHaveLength(5);
    for (const m of sent) expect(m).toMatchObject({ kind: 'response', ok: false, error: { code: 'bad-message' } });
  });

  it('turns a throwing handler into a failed response with its message', async () => {
    const { conn, sent } = setup({
      'tunnels.remove': () => {
        throw new Error('no tunnel named "web"');
      },
    });
    await conn.receive({ kind: 'request', id: 6, channel: 'tunnels.remove', payload: { name: 'web' } });
    expect(sent[0]).toEqual({ kind: 'response', id: 6, ok: false, error: { code: 'failed', message: 'no tunnel named "web"' } });
  });

  it('does not send a host answer that breaks the contract', async () => {
    const { conn, sent } = setup({ 'status.get': () => ({ ...status, reconnects: -1 }) });
    await conn.receive({ kind: 'request', id: 7, channel: 'status.get', payload: {} });
    expect(sent[0]).toMatchObject({ ok: false, error: { code: 'failed' } });
  });

  it('delivers events to every connected port, and stops after close', () => {
    const { router, conn, sent } = setup();
    const other: HostMessage[] = [];
    router.connect({ send: (m) => other.push(m) });
    router.publish('status', status);
    conn.close();
    router.publish('status', status);
    expect(sent).toEqual([{ kind: 'event', stream: 'status', payload: status }]);
    expect(other).toHaveLength(2);
  });

  it('drops and logs an event that breaks its schema', () => {
    const { router, sent, warnings } = setup();
    router.publish('traffic', { at: 1, total: { inPerSec: -5, outPerSec: 0, activeConnections: 0 }, tunnels: [] });
    expect(sent).toEqual([]);
    expect(warnings[0]?.fields).toMatchObject({ stream: 'traffic' });
  });
});

describe('createClient over a router', () => {
  function wire(router: Router) {
    let receive: (m: unknown) => void = () => {};
    const transport: ClientTransport = {
      send: (m: RequestMessage) => {
        void conn.receive(JSON.parse(JSON.stringify(m)));
      },
      onMessage: (r) => (receive = r),
    };
    const conn = router.connect({ send: (m) => receive(JSON.parse(JSON.stringify(m))) });
    return createClient(transport);
  }

  it('resolves a typed call and rejects a refused one with the host error code', async () => {
    const { router } = setup();
    const client = wire(router);
    await expect(client.call('status.get', {})).resolves.toEqual(status);
    await expect(client.call('tunnels.remove', { name: 'bad name!' })).rejects.toMatchObject({ name: 'ChannelError', code: 'bad-request' });
  });

  it('hands events to listeners until unsubscribed', () => {
    const { router } = setup();
    const client = wire(router);
    const got: unknown[] = [];
    const off = client.on('status', (s) => got.push(s.clientId));
    router.publish('status', status);
    off();
    router.publish('status', status);
    expect(got).toEqual(['laptop']);
  });

  it('fails pending calls when the transport goes away', async () => {
    const client = createClient({ send: () => {}, onMessage: () => {} });
    const call = client.call('status.get', {});
    client.fail('console connection closed');
    await expect(call).rejects.toMatchObject({ code: 'disconnected', message: 'console connection closed' });
  });

  it('tunnels.save checks the tunnel with the config schema but passes it on as typed', async () => {
    const { conn, sent, calls } = setup();
    await conn.receive({ kind: 'request', id: 40, channel: 'tunnels.save', payload: { tunnel: { name: 'web', type: 'tcp', local: '127.0.0.1:80', remotePort: 0, bandwidth: '10MB' } } });
    expect(sent.at(-1)).toMatchObject({ ok: true });
    expect(calls.at(-1)).toEqual({ tunnel: { name: 'web', type: 'tcp', local: '127.0.0.1:80', remotePort: 0, bandwidth: '10MB' } });
    await conn.receive({ kind: 'request', id: 41, channel: 'tunnels.save', payload: { tunnel: { name: 'web', type: 'tcp', local: '127.0.0.1:80', remotePort: 70000 } } });
    expect(sent.at(-1)).toMatchObject({ ok: false, error: { code: 'bad-request', message: expect.stringMatching(/tunnel\.remotePort: Too big/) } });
    expect(calls).toHaveLength(1);
  });
});
