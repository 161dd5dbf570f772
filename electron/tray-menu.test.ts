import { describe, expect, it } from 'vitest';
import type { ClientStatus, TunnelStatus, VisitorStatus } from '../shared/types/status.js';
import { overallState, trayIconFile, trayView } from './tray-menu.js';

const counters = { bytesIn: 0, bytesOut: 0, activeConnections: 0, totalConnections: 0 };
const tunnel = (name: string, state: TunnelStatus['state'], extra: Partial<TunnelStatus> = {}): TunnelStatus => ({ name, type: 'tcp', local: '127.0.0.1:22', state, ...counters, ...extra });
const visitor = (name: string, state: VisitorStatus['state']): VisitorStatus => ({ name, tunnel: 'db', bind: '127.0.0.1:5432', type: 'secret', state, ...counters });
const status = (tunnels: TunnelStatus[], visitors: VisitorStatus[] = [], state: ClientStatus['state'] = 'online'): ClientStatus => ({ server: 'relay.example:7000', clientId: 'laptop', state, reconnects: 0, tunnels, visitors });
const p2p = (path: 'direct' | 'relay' | 'connecting') => ({ path, attempts: [], rejectedProbes: 0, direct: { bytesIn: 0, bytesOut: 0, connections: 0 }, relay: { bytesIn: 0, bytesOut: 0, connections: 0 } });
const options = { notifications: true, autostart: false };

describe('overall tray state', () => {
  it('is online only when every switched-on tunnel and visitor is online', () => {
    expect(overallState(status([tunnel('ssh', 'online'), tunnel('web', 'stopped')], [visitor('db', 'online')]))).toBe('online');
  });
  it('is failing when one is in error or still connecting, or the server is not reached', () => {
    expect(overallState(status([tunnel('ssh', 'online'), tunnel('web', 'error')]))).toBe('failing');
    expect(overallState(status([tunnel('ssh', 'connecting')]))).toBe('failing');
    expect(overallState(status([tunnel('ssh', 'online')], [], 'connecting'))).toBe('failing');
  });
  it('is off when nothing is switched on, or before the first status', () => {
    expect(overallState(status([tunnel('ssh', 'stopped')]))).toBe('off');
    expect(overallState(status([]))).toBe('off');
    expect(overallState(undefined)).toBe('off');
  });
  it('picks the icon file for the state and the panel theme', () => {
    expect(trayIconFile('failing', 'dark')).toBe('burrow-tray-failing-dark.png');
    expect(trayView(status([tunnel('ssh', 'error')]), options).tooltip).toBe('Burrow: some tunnels are not online');
  });
});

describe('tray menu', () => {
  const view = trayView(
    status([tunnel('ssh', 'online', { remoteAddress: 'relay.example:6022', p2p: p2p('direct') }), tunnel('web', 'stopped'), tunnel('api', 'error', { error: 'port 6000 is already in use' })], [visitor('db', 'online')]),
    options,
  );
  const byLabel = (prefix: string) => view.items.find((i) => i.label.startsWith(prefix));

  it('has each tunnel as a checkbox whose click switches it the other way', () => {
    expect(byLabel('ssh')).toMatchObject({ label: 'ssh (online, direct)', type: 'checkbox', checked: true, action: { kind: 'toggle-tunnel', name: 'ssh', enabled: false } });
    expect(byLabel('web')).toMatchObject({ type: 'checkbox', checked: false, action: { kind: 'toggle-tunnel', name: 'web', enabled: true } });
    expect(byLabel('api')).toMatchObject({ label: 'api (error: port 6000 is already in use)', checked: true });
  });

  it('has the public address as an item that copies it', () => {
    expect(view.items.find((i) => i.action?.kind === 'copy')).toMatchObject({ label: '    relay.example:6022 (click to copy)', action: { kind: 'copy', text: 'relay.example:6022' } });
  });

  it('has each visitor as a checkbox with its state, whose click switches it the other way', () => {
    expect(byLabel('Visitor db')).toMatchObject({ label: 'Visitor db (online)', type: 'checkbox', checked: true, action: { kind: 'toggle-visitor', name: 'db', enabled: false } });
    expect(byLabel('Visitor db')?.enabled).not.toBe(false);
    const off = trayView(status([], [visitor('db', 'stopped')]), options);
    expect(off.items.find((i) => i.label.startsWith('Visitor db'))).toMatchObject({ label: 'Visitor db (stopped)', checked: false, action: { kind: 'toggle-visitor', name: 'db', enabled: true } });
  });

  it('has every action in the menu, since a tray click is not reliable on Linux', () => {
    const actions = view.items.map((i) => i.action?.kind).filter(Boolean);
    expect(actions).toEqual(expect.arrayContaining(['open', 'nat-diagnosis', 'toggle-notifications', 'toggle-autostart', 'quit']));
    expect(view.items.at(-1)).toMatchObject({ label: 'Quit' });
    expect(byLabel('Notifications')).toMatchObject({ checked: true, action: { kind: 'toggle-notifications', enabled: false } });
    expect(byLabel('Start at login')).toMatchObject({ checked: false, action: { kind: 'toggle-autostart', enabled: true } });
  });

  it('says "Starting…" before the engine has a status, and still offers Open and Quit', () => {
    const early = trayView(undefined, options);
    expect(early.state).toBe('off');
    expect(early.items[0]).toMatchObject({ label: 'Starting…', enabled: false });
    expect(early.items.map((i) => i.label)).toEqual(expect.arrayContaining(['Open Burrow', 'Quit']));
  });
});
