/**
 * udx stream ids are per UDX instance (one process-wide handle), not per socket: every direct
 * path of the engine draws its stream ids from one allocator, so two paths (a visitor and a tunnel
 * in one process, or two visitors) never hand udx the same id. Data streams get ids below 2^31;
 * control streams use ids derived from the punch session at or above 2^31 (controlIds()).
 */
const DATA_ID_LIMIT = 0x8000_0000;

export class UdxIdAllocator {
  private readonly used = new Set<number>();
  private next = 1;

  /** A free data-stream id. */
  take(): number {
    for (let tries = 0; tries < DATA_ID_LIMIT; tries++) {
      const id = this.next;
      this.next = this.next + 1 >= DATA_ID_LIMIT ? 1 : this.next + 1;
      if (!this.used.has(id)) {
        this.used.add(id);
        return id;
      }
    }
    throw new Error('no free udx stream id');
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

/** The two control-stream ids of a punch session: offerer's and answerer's, both >= 2^31. */
export function controlIds(sessionId: Uint8Array): { offerer: number; answerer: number } {
  const v = ((sessionId[0]! << 24) | (sessionId[1]! << 16) | (sessionId[2]! << 8) | sessionId[3]!) >>> 0;
  const offerer = (DATA_ID_LIMIT | (v & 0x7fff_fffe)) >>> 0;
  return { offerer, answerer: offerer + 1 };
}
