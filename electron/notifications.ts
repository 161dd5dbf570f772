/**
 * Desktop notifications for changes a user must hear about even with the window closed: a tunnel
 * or visitor going from online to error, and a peer-to-peer path falling back from direct to the
 * relay. `changesWorthTelling` is pure (previous status, next status) -> messages, so a state that
 * stays in error is told once, not on every status tick. Switchable (the tray's "Notifications").
 */
import type { ClientStatus } from '../shared/types/status.js';

export interface DesktopNotice {
  title: string;
  body: string;
}

interface Item {
  name: string;
  state: string;
  error?: string;
  p2p?: { path: string };
}

export function changesWorthTelling(previous: ClientStatus | undefined, next: ClientStatus): DesktopNotice[] {
  if (!previous) return [];
  const notices: DesktopNotice[] = [];
  const compare = (kind: 'Tunnel' | 'Visitor', before: Item[], after: Item[]) => {
    const old = new Map(before.map((i) => [i.name, i]));
    for (const item of after) {
      const was = old.get(item.name);
      if (!was) continue;
      if (was.state === 'online' && item.state === 'error') {
        notices.push({ title: `${kind} ${item.name} failed`, body: item.error ?? 'it is no longer online' });
      }
      if (was.p2p?.path === 'direct' && item.p2p?.path === 'relay') {
        notices.push({ title: `${kind} ${item.name} fell back to the relay`, body: 'the direct peer-to-peer path was lost; traffic goes through the server' });
      }
    }
  };
  compare('Tunnel', previous.tunnels as Item[], next.tunnels as Item[]);
  compare('Visitor', previous.visitors as Item[], next.visitors as Item[]);
  return notices;
}

export interface NotificationSink {
  show(notice: DesktopNotice): void;
}

/** Feeds every status through `changesWorthTelling`; shows nothing while switched off. */
export class StatusNotifier {
  private last: ClientStatus | undefined;

  constructor(
    private readonly sink: NotificationSink,
    public enabled: boolean,
  ) {}

  update(status: ClientStatus): void {
    const notices = changesWorthTelling(this.last, status);
    this.last = status;
    if (!this.enabled) return;
    for (const n of notices) this.sink.show(n);
  }
}
