/**
 * Which punching strategy worked for which address pair (issue 9: "record which strategy worked
 * per address pair"). An address pair is the two public addresses the NATs showed the server
 * (each side's server-reflexive IP): the same pair of networks meets again on every reconnect and
 * every later attempt, so what happened last time is what a user asks when a path is relayed.
 * Pure: time comes in as `now`; bounded (the least recently used pair is forgotten past `max`).
 */

import type { P2pPairRecord } from '../../shared/types/status.js';

export type PairOutcome = P2pPairRecord['lastOutcome'];
/** What one address pair's attempts came to (the status's `p2p.strategies` entries). */
export type PairRecord = P2pPairRecord;

export class PairRecords {
  private readonly byPair = new Map<string, PairRecord>();

  constructor(private readonly max = 32) {}

  record(local: string, remote: string, strategy: string, outcome: PairOutcome, now: number, punchMs?: number): PairRecord {
    const key = `${local}|${remote}`;
    const entry = this.byPair.get(key) ?? { local, remote, strategy, direct: 0, failed: 0, relay: 0, lastOutcome: outcome, lastAt: now };
    this.byPair.delete(key);
    entry.strategy = strategy;
    entry[outcome]++;
    entry.lastOutcome = outcome;
    entry.lastAt = now;
    if (outcome === 'direct' && punchMs !== undefined && (entry.bestPunchMs === undefined || punchMs < entry.bestPunchMs)) entry.bestPunchMs = punchMs;
    this.byPair.set(key, entry);
    if (this.byPair.size > this.max) this.byPair.delete(this.byPair.keys().next().value!);
    return entry;
  }

  get(local: string, remote: string): PairRecord | undefined {
    return this.byPair.get(`${local}|${remote}`);
  }

  /** Most recent first. */
  list(): PairRecord[] {
    return [...this.byPair.values()].reverse().map((e) => ({ ...e }));
  }
}
