/**
 * Per-remote-sender UDP sessions with idle expiry and an LRU size cap. Generic over the session
 * value; pure: time comes in as `now` (ms). ngtcp2's get_expiry / handle_expiry contract:
 * `nextExpiry()` says when the least recently used session goes idle and `handleExpiry(now)`
 * removes the idle ones; the caller arms one timer for that deadline (io/deadline-timer.ts).
 */

/** One session and when it was last used; linked in least-recently-used order. */
interface Slot<S> {
  readonly key: string;
  session: S;
  lastSeen: number;
  prev: Slot<S> | undefined;
  next: Slot<S> | undefined;
}

/** Sessions keyed by remote sender (e.g. "address|port"), expiring after `idleMs` without traffic. */
export class UdpSessionTable<S> {
  private readonly slots = new Map<string, Slot<S>>();
  /**
   * Recency list, least recently used first. Hand-made rather than relying on Map order: V8
   * leaves holes at the front of a Map after deletions, making "first entry" O(n) under churn.
   */
  private head: Slot<S> | undefined;
  private tail: Slot<S> | undefined;

  /** `maxSessions` defaults to 4096; when full, set() evicts the least recently used and returns it. Throws RangeError for bad values. */
  constructor(
    private readonly idleMs: number,
    private readonly maxSessions: number = 4096,
  ) {
    if (!(idleMs > 0)) throw new RangeError(`idleMs must be > 0, got ${idleMs}`);
    if (!Number.isInteger(maxSessions) || maxSessions < 1) throw new RangeError(`maxSessions must be an integer >= 1, got ${maxSessions}`);
  }

  /** The session for `key`, if any; counts as use (touches lastSeen and recency). */
  get(key: string, now: number): S | undefined {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    this.touch(slot, now);
    return slot.session;
  }

  /**
   * Stores `session` under `key` (as just used) and returns a session that left the table, if
   * any, for the caller to dispose: the least recently used one when the table was full, or the
   * previous session under `key` when a different one replaces it. Re-setting the same session
   * only touches it and returns undefined.
   */
  set(key: string, session: S, now: number): S | undefined {
    const existing = this.slots.get(key);
    if (existing) {
      const previous = existing.session;
      existing.session = session;
      this.touch(existing, now);
      return Object.is(previous, session) ? undefined : previous;
    }
    let evicted: S | undefined;
    if (this.slots.size >= this.maxSessions && this.head) {
      evicted = this.head.session;
      this.remove(this.head);
    }
    const slot: Slot<S> = { key, session, lastSeen: now, prev: undefined, next: undefined };
    this.slots.set(key, slot);
    this.append(slot);
    return evicted;
  }

  /** Removes and returns the session for `key`, if any. */
  delete(key: string): S | undefined {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    this.remove(slot);
    return slot.session;
  }

  /**
   * When the least recently used session will have been idle for idleMs (ms); undefined when the
   * table is empty. Use only moves deadlines later, so only a new session in an empty table
   * brings this forward. (If the clock went backwards between touches, a session further down
   * the list may be due sooner; handleExpiry at this time removes it then.)
   */
  nextExpiry(): number | undefined {
    return this.head ? this.head.lastSeen + this.idleMs : undefined;
  }

  /** Removes and returns sessions idle for >= idleMs at `now`. */
  handleExpiry(now: number): Array<[string, S]> {
    const expired: Array<[string, S]> = [];
    // Full scan (bounded by maxSessions) rather than stopping at the first fresh slot, so a clock
    // that went backwards between touches cannot hide idle sessions.
    for (let slot = this.head; slot; ) {
      const next = slot.next;
      if (now - slot.lastSeen >= this.idleMs) {
        this.remove(slot);
        expired.push([slot.key, slot.session]);
      }
      slot = next;
    }
    return expired;
  }

  /** The session for `key`, if any, without counting as use. */
  peek(key: string): S | undefined {
    return this.slots.get(key)?.session;
  }

  /** When `key` was last used, if it has a session. Does not count as use. */
  lastSeen(key: string): number | undefined {
    return this.slots.get(key)?.lastSeen;
  }

  /** Number of sessions. */
  get size(): number {
    return this.slots.size;
  }

  /**
   * The sessions, least recently used first. Does not count as use. A snapshot, so it is safe to
   * delete sessions (e.g. close them all) while iterating.
   */
  values(): IterableIterator<S> {
    const sessions: S[] = [];
    for (let slot = this.head; slot; slot = slot.next) sessions.push(slot.session);
    return sessions.values();
  }

  private touch(slot: Slot<S>, now: number): void {
    if (now > slot.lastSeen) slot.lastSeen = now;
    if (slot !== this.tail) {
      this.unlink(slot);
      this.append(slot);
    }
  }

  private remove(slot: Slot<S>): void {
    this.unlink(slot);
    this.slots.delete(slot.key);
  }

  private unlink(slot: Slot<S>): void {
    if (slot.prev) slot.prev.next = slot.next;
    else this.head = slot.next;
    if (slot.next) slot.next.prev = slot.prev;
    else this.tail = slot.prev;
    slot.prev = slot.next = undefined;
  }

  private append(slot: Slot<S>): void {
    slot.prev = this.tail;
    slot.next = undefined;
    if (this.tail) this.tail.next = slot;
    else this.head = slot;
    this.tail = slot;
  }
}
