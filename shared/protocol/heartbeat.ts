/**
 * Heartbeat state machine for a control connection. Pure: time comes in as `now`
 * (milliseconds, any monotonic-ish clock), and the caller owns the timer and the socket.
 *
 * - The client side pings every `intervalMs` and declares the peer dead after `timeoutMs`
 *   without receiving anything.
 * - The server side passes `intervalMs: Infinity`: it never pings, it only watches for silence.
 */

/** Heartbeat timing. `intervalMs` may be Infinity (never ping, only watch for silence). */
export interface HeartbeatOptions {
  intervalMs: number;
  timeoutMs: number;
}

/** What `Heartbeat.tick` asks the caller to do. */
export interface HeartbeatTick {
  /** Send a ping now (at most once per interval; never once the peer is dead). */
  sendPing: boolean;
  /** Nothing was received for `timeoutMs`: close the connection. */
  dead: boolean;
  /** When to call `tick` again: the earlier of the next ping time and the silence deadline. */
  nextTickAt: number;
}

/** Tracks when the peer was last heard from and when the next ping is due. */
export class Heartbeat {
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private lastReceived: number;
  private nextPingAt: number;

  /** Starts the clock at `now`: the first ping is due at `now + intervalMs`, the deadline at `now + timeoutMs`. */
  constructor(options: HeartbeatOptions, now: number) {
    if (!(options.intervalMs > 0)) throw new RangeError(`heartbeat intervalMs must be > 0, got ${options.intervalMs}`);
    if (!(options.timeoutMs > 0)) throw new RangeError(`heartbeat timeoutMs must be > 0, got ${options.timeoutMs}`);
    this.intervalMs = options.intervalMs;
    this.timeoutMs = options.timeoutMs;
    this.lastReceived = now;
    this.nextPingAt = now + options.intervalMs;
  }

  /** Any frame received from the peer proves it is alive. (An earlier `now` than already seen is ignored.) */
  received(now: number): void {
    if (now > this.lastReceived) this.lastReceived = now;
  }

  /**
   * sendPing: true once per interval (records the ping as sent at `now`, so the next one is due at
   * `now + intervalMs` — missed intervals are not caught up); dead: true when nothing was received
   * for timeoutMs. nextTickAt: when to call tick again (min of next ping time and the deadline).
   */
  tick(now: number): HeartbeatTick {
    const deadline = this.lastReceived + this.timeoutMs;
    const dead = now >= deadline;
    let sendPing = false;
    if (!dead && now >= this.nextPingAt) {
      sendPing = true;
      this.nextPingAt = now + this.intervalMs;
    }
    return { sendPing, dead, nextTickAt: Math.min(this.nextPingAt, deadline) };
  }

  /** The `now` of the most recent `received` call (or of construction). */
  get lastReceivedAt(): number {
    return this.lastReceived;
  }
}
