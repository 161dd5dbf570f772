/**
 * udx stream ids are per UDX instance (one process-wide handle), not per socket: every direct
 * path of the engine draws its stream ids from one allocator, so two paths (a visitor and a tunnel
 * in one process, or two visitors) never hand udx the same id. Data streams get random ids below
 * 2^31; control streams use ids at or above 2^31 derived from a secret-keyed seed of the punch
 * session (controlIds(), noise-keys.ts).
 *
 * Why random and keyed: libudx delivers a datagram to the stream its id names, whatever address it
 * came from. With ids a stranger can guess (1, 2, 3… or a function of the session id), packets
 * forged from anywhere land in a live stream's receive window and stall or break it; with 31 random
 * bits per stream they have to be guessed blindly.
 */
import { randomInt } from 'node:crypto';

const DATA_ID_LIMIT = 0x8000_0000;

export class UdxIdAllocator {
  private readonly used = new Set<number>();

  /** `random(min, max)`: an integer in [min, max) (default crypto.randomInt). */
  constructor(private readonly random: (min: number, max: number) => number = randomInt) {}

  /** A free data-stream id, at random. */
  take(): number {
    if (this.used.size >= DATA_ID_LIMIT / 2) throw new Error('no free udx stream id');
    for (;;) {
      const id = this.random(1, DATA_ID_LIMIT);
      if (!this.used.has(id)) {
        this.used.add(id);
        return id;
      }
    }
  }

  /** Claims a given id (control streams); false when it is in use. */
  claim(id: number): boolean {
    if (this.used.has(id)) return false;
    this.used.add(id);
    return true;
  }

  release(id: number): void {
    this.used.delete(id);
  }

  get inUse(): number {
    return this.used.size;
  }
}

/** The two control-stream ids of a punch session from its seed (noiseSeeds().controlIds): offerer's and answerer's, both >= 2^31. */
export function controlIds(seed: Uint8Array): { offerer: number; answerer: number } {
  const v = ((seed[0]! << 24) | (seed[1]! << 16) | (seed[2]! << 8) | seed[3]!) >>> 0;
  const offerer = (DATA_ID_LIMIT | (v & 0x7fff_fffe)) >>> 0;
  return { offerer, answerer: offerer + 1 };
}
