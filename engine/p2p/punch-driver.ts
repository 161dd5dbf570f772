/**
 * Runs a PunchSession (sans-I/O) over a UDX socket: the thin I/O adapter of the puncher. It feeds
 * the session only the socket's non-udx datagrams that look like probes, sends what the session
 * returns, and keeps one timer at session.nextDeadline(). It resolves when the attempt ends
 * (connected or failed); a connected session stays driven (keep-alives, loss) until stop().
 */
import type { UdxSocket } from 'udx-native';
import type { Clock } from '../../shared/clock.js';
import { looksLikeProbe } from '../../shared/p2p/probe.js';
import type { Datagram, PunchEvent, PunchSession } from './punch-session.js';

export type PunchOutcome = Extract<PunchEvent, { type: 'connected' | 'failed' }>;

export class PunchDriver {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private settle: ((e: PunchOutcome) => void) | undefined;
  private readonly lostListeners: Array<(reason: string) => void> = [];
  /** Datagrams on the socket that were neither probes nor udx (STUN answers excepted: others listen for them). */
  readonly outcome: Promise<PunchOutcome>;
  private readonly onMessage = (data: Buffer, from: { host: string; port: number }) => {
    if (this.stopped) return;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (!looksLikeProbe(bytes)) return;
    this.send(this.session.handleDatagram({ ip: from.host, port: from.port }, bytes, this.clock.now()));
    this.afterStep();
  };

  constructor(
    readonly socket: UdxSocket,
    readonly session: PunchSession,
    private readonly clock: Clock,
  ) {
    this.outcome = new Promise((resolve) => (this.settle = resolve));
    socket.on('message', this.onMessage);
    this.afterStep();
  }

  /** Called once if a connected path is lost (no valid probe from the peer for the path timeout). */
  onLost(listener: (reason: string) => void): void {
    this.lostListeners.push(listener);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket.off('message', this.onMessage);
  }

  private send(out: readonly Datagram[]): void {
    for (const d of out) this.socket.send(d.data, d.to.port, d.to.ip).catch(() => {});
  }

  private afterStep(): void {
    for (const e of this.session.takeEvents()) {
      if (e.type === 'lost') {
        this.stop();
        for (const l of this.lostListeners.splice(0)) l(`no probe from the peer for ${Math.round(e.idleMs / 1000)} s`);
      } else if (this.settle) {
        const settle = this.settle;
        this.settle = undefined;
        settle(e);
        if (e.type === 'failed') this.stop();
      }
    }
    if (this.stopped) return;
    clearTimeout(this.timer);
    const at = this.session.nextDeadline();
    if (at === undefined) return;
    this.timer = setTimeout(() => {
      if (this.stopped) return;
      this.send(this.session.handleExpiry(this.clock.now()));
      this.afterStep();
    }, Math.max(0, at - this.clock.now()));
  }
}
