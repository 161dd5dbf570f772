/**
 * Which STUN/TURN stream connections (TCP, TLS) the listener holds (issue 8 point 9: no
 * unauthenticated connection is held forever, and no single address can take every slot).
 *
 * - Idle timeout: a connection that holds no allocation (asked through `holdsAllocation`, the TURN
 *   core) and has sent nothing for `idleMs` is closed. A connection with an allocation lives as
 *   long as the allocation (RFC 8656 §3.1 / RFC 6062: its lifetime and Refreshes govern it).
 * - Fair share of the cap: at `maxConnections`, a connection from a source address holding fewer
 *   connections than the busiest source is admitted and one idle-longest, allocation-less
 *   connection of the busiest source is evicted; a connection from the busiest source itself is
 *   refused. So 10,000 connections from one address cannot shut anyone else out.
 *
 * Pure, with the get_expiry / handle_expiry contract: time comes in as `now`, `nextExpiry()` says
 * when the next idle deadline falls (O(1): connections are kept in order of last activity) and
 * `handleExpiry(now)` returns the connections to close. It owns no socket and no timer.
 */

export interface StreamAdmissionLimits {
  /** Connections held at most (per listener). */
  maxConnections: number;
  /** How long a connection without an allocation may stay silent. */
  idleMs: number;
}

export type Admission<C> =
  | { admitted: true; evict?: C }
  /** Refused: the cap is reached and this source already holds the largest share. */
  | { admitted: false };

interface Entry {
  source: string;
  lastActivity: number;
}

export class StreamAdmission<C> {
  /** In order of last activity, oldest first (Map iteration order; touch() re-inserts). */
  private readonly entries = new Map<C, Entry>();
  private readonly bySource = new Map<string, Set<C>>();

  constructor(
    private readonly limits: StreamAdmissionLimits,
    /** Whether the connection holds (or is being given) an allocation: then it is never idle-closed or evicted. */
    private readonly holdsAllocation: (connection: C) => boolean,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Connections `source` holds now. */
  countFor(source: string): number {
    return this.bySource.get(source)?.size ?? 0;
  }

  /** A new connection from `source`: admitted (possibly evicting another, which the caller closes) or refused. */
  admit(connection: C, source: string, now: number): Admission<C> {
    let evict: C | undefined;
    if (this.entries.size >= this.limits.maxConnections) {
      evict = this.victimFor(source);
      if (evict === undefined) return { admitted: false };
      this.remove(evict);
    }
    this.entries.set(connection, { source, lastActivity: now });
    let set = this.bySource.get(source);
    if (!set) this.bySource.set(source, (set = new Set()));
    set.add(connection);
    return evict === undefined ? { admitted: true } : { admitted: true, evict };
  }

  /** Something arrived on the connection (a STUN message, ChannelData): its idle clock restarts. */
  touch(connection: C, now: number): void {
    const entry = this.entries.get(connection);
    if (!entry) return;
    this.entries.delete(connection);
    entry.lastActivity = now;
    this.entries.set(connection, entry);
  }

  /** The connection closed or was taken over (RFC 6062 data connection). */
  remove(connection: C): void {
    const entry = this.entries.get(connection);
    if (!entry) return;
    this.entries.delete(connection);
    const set = this.bySource.get(entry.source);
    set?.delete(connection);
    if (set && set.size === 0) this.bySource.delete(entry.source);
  }

  /** When the silent-longest connection reaches its idle deadline; undefined when none is held. */
  nextExpiry(): number | undefined {
    for (const entry of this.entries.values()) return entry.lastActivity + this.limits.idleMs;
    return undefined;
  }

  /**
   * The connections whose idle deadline has passed by `now` and that hold no allocation (removed
   * here; the caller closes them). Ones with an allocation are looked at again `idleMs` later.
   */
  handleExpiry(now: number): C[] {
    const closing: C[] = [];
    const keep: C[] = [];
    for (const [connection, entry] of this.entries) {
      if (entry.lastActivity + this.limits.idleMs > now) break;
      if (this.holdsAllocation(connection)) keep.push(connection);
      else closing.push(connection);
    }
    for (const c of closing) this.remove(c);
    for (const c of keep) this.touch(c, now);
    return closing;
  }

  /** The connection to evict so `source` gets a slot, or undefined when `source` must be refused. */
  private victimFor(source: string): C | undefined {
    const own = this.countFor(source);
    // Sources holding at least two more than `source` (so a slot moving over makes the shares more
    // even, never just swaps them), busiest first.
    const busiest = [...this.bySource].filter(([s, set]) => s !== source && set.size > own + 1).sort((a, b) => b[1].size - a[1].size);
    for (const [, set] of busiest) {
      let victim: C | undefined;
      let oldest = Infinity;
      for (const c of set) {
        if (this.holdsAllocation(c)) continue;
        const at = this.entries.get(c)!.lastActivity;
        if (at < oldest) {
          oldest = at;
          victim = c;
        }
      }
      if (victim !== undefined) return victim;
    }
    return undefined;
  }
}
