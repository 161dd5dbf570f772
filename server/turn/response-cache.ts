/**
 * Answers retransmitted requests with the answer already given (RFC 8489 §6.3.1: a server SHOULD
 * be idempotent over UDP; RFC 8656 §7.2: a retransmitted Allocate must get the original success
 * response, not 437). Only requests that were authenticated are cached, and a cached answer is
 * replayed only for a byte-identical request from the same 5-tuple, so the cache can never answer
 * something the original request would not have been answered with. Pure: time comes in as `now`.
 *
 * Memory is bounded: entries live `ttlMs` (default 40 s, longer than a STUN client's whole
 * retransmission schedule, RFC 8489 §6.2.1: Rc=7, Rm=16 → 39.5 s) and at most `maxEntries` are
 * kept (oldest evicted first).
 */

interface Entry {
  readonly request: Uint8Array;
  readonly response: Uint8Array;
  readonly expiresAt: number;
}

export interface ResponseCacheOptions {
  ttlMs?: number;
  maxEntries?: number;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ResponseCache {
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  /** Insertion order == expiry order (constant TTL), so the oldest entries are at the front. */
  private readonly entries = new Map<string, Entry>();

  constructor(options: ResponseCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 40_000;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The response given to this exact request from this 5-tuple, if still remembered. */
  get(clientKey: string, transactionId: Uint8Array, request: Uint8Array, now: number): Uint8Array | undefined {
    this.prune(now);
    const entry = this.entries.get(key(clientKey, transactionId));
    if (!entry || entry.expiresAt <= now || !sameBytes(entry.request, request)) return undefined;
    return entry.response;
  }

  put(clientKey: string, transactionId: Uint8Array, request: Uint8Array, response: Uint8Array, now: number): void {
    const k = key(clientKey, transactionId);
    this.entries.delete(k);
    this.entries.set(k, { request: request.slice(), response, expiresAt: now + this.ttlMs });
    this.prune(now);
  }

  private prune(now: number): void {
    for (const [k, entry] of this.entries) {
      if (entry.expiresAt > now && this.entries.size <= this.maxEntries) break;
      this.entries.delete(k);
    }
  }
}

function key(clientKey: string, transactionId: Uint8Array): string {
  return `${clientKey}#${Buffer.from(transactionId).toString('hex')}`;
}
