/**
 * The tray, as a pure function of the engine's status: which icon (all online / some failing /
 * all off), the tooltip, and the menu template. tray.ts sets it again on every status change.
 * On Linux the tray is a StatusNotifierItem whose click does not reliably reach the app, so every
 * action is a menu item. No Electron import here: the template is plain data with action ids.
 */
import type { ClientStatus, ConnectionState } from '../shared/types/status.js';

export type OverallState = 'online' | 'failing' | 'off';

export type TrayAction =
  | { kind: 'toggle-tunnel'; name: string; enabled: boolean }
  | { kind: 'toggle-visitor'; name: string; enabled: boolean }
  | { kind: 'copy'; text: string }
  | { kind: 'open' }
  | { kind: 'nat-diagnosis' }
  | { kind: 'toggle-notifications'; enabled: boolean }
  | { kind: 'toggle-autostart'; enabled: boolean }
  | { kind: 'quit' };

export interface TrayItem {
  label: string;
  type?: 'checkbox' | 'separator' | 'normal';
  checked?: boolean;
  enabled?: boolean;
  action?: TrayAction;
}

export interface TrayView {
  state: OverallState;
  tooltip: string;
  items: TrayItem[];
}

export interface TrayOptions {
  notifications: boolean;
  autostart: boolean;
}

interface Item {
  name: string;
  state: ConnectionState;
  error?: string;
  remoteAddress?: string;
  /** p2p tunnels and visitors: which path carries new connections (direct / relay / connecting). */
  p2p?: { path: string };
}

/** all online: every switched-on tunnel and visitor is online; all off: nothing switched on (or no status yet). */
export function overallState(status: ClientStatus | undefined): OverallState {
  if (!status) return 'off';
  const on = [...status.tunnels, ...status.visitors].filter((i) => i.state !== 'stopped');
  if (on.length === 0) return 'off';
  if (status.state === 'online' && on.every((i) => i.state === 'online')) return 'online';
  return 'failing';
}

const TOOLTIP: Record<OverallState, string> = {
  online: 'Burrow: all tunnels online',
  failing: 'Burrow: some tunnels are not online',
  off: 'Burrow: all tunnels off',
};

function words(item: Item): string {
  const path = item.p2p?.path === 'direct' || item.p2p?.path === 'relay' ? `, ${item.p2p.path}` : '';
  if (item.state === 'error') return `error${item.error ? `: ${item.error}` : ''}`;
  return `${item.state}${path}`;
}

export function trayView(status: ClientStatus | undefined, options: TrayOptions): TrayView {
  const state = overallState(status);
  const items: TrayItem[] = [];
  if (status) {
    items.push({ label: `Server ${status.server || '(not set)'}: ${status.state}`, enabled: false });
    const tunnels = status.tunnels as Item[];
    const visitors = status.visitors as Item[];
    if (tunnels.length + visitors.length > 0) items.push({ label: '', type: 'separator' });
    for (const t of tunnels) {
      const on = t.state !== 'stopped';
      items.push({ label: `${t.name} (${words(t)})`, type: 'checkbox', checked: on, action: { kind: 'toggle-tunnel', name: t.name, enabled: !on } });
      if (t.remoteAddress) items.push({ label: `    ${t.remoteAddress} (click to copy)`, action: { kind: 'copy', text: t.remoteAddress } });
    }
    for (const v of visitors) {
      // Off closes the visitor's local port (visitors.setEnabled); on opens it again.
      const on = v.state !== 'stopped';
      items.push({ label: `Visitor ${v.name} (${words(v)})`, type: 'checkbox', checked: on, action: { kind: 'toggle-visitor', name: v.name, enabled: !on } });
    }
  } else {
    items.push({ label: 'Starting…', enabled: false });
  }
  items.push(
    { label: '', type: 'separator' },
    { label: 'Open Burrow', action: { kind: 'open' } },
    { label: 'Run NAT diagnosis', action: { kind: 'nat-diagnosis' } },
    { label: '', type: 'separator' },
    { label: 'Notifications', type: 'checkbox', checked: options.notifications, action: { kind: 'toggle-notifications', enabled: !options.notifications } },
    { label: 'Start at login', type: 'checkbox', checked: options.autostart, action: { kind: 'toggle-autostart', enabled: !options.autostart } },
    { label: '', type: 'separator' },
    { label: 'Quit', action: { kind: 'quit' } },
  );
  return { state, tooltip: TOOLTIP[state], items };
}

export type PanelTheme = 'light' | 'dark';

/** build/icons/tray/<file>: dark glyph on a light panel, light glyph on a dark one. */
export function trayIconFile(state: OverallState, theme: PanelTheme): string {
  return `burrow-tray-${state}-${theme}.png`;
}
