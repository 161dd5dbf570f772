/**
 * Bytes in stream order as the chunks they arrived in (no copy per chunk: a peer dribbling a large
 * message a byte at a time must not cost a copy of everything buffered per byte). Past 64 chunks
 * they are merged into one, so that costs at most one copy of the buffer per 64 chunks.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.chunks.length > 64) this.chunks = [Buffer.concat(this.chunks)];
  }

  firstByte(): number | undefined {
    return this.chunks[0]?.[0];
  }

  skip(n: number): void {
    this.length -= n;
    while (n > 0) {
      const c = this.chunks[0];
      if (!c) break;
      if (n < c.length) {
        this.chunks[0] = c.subarray(n);
        return;
      }
      n -= c.length;
      this.chunks.shift();
    }
  }

  bytes(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }

  clear(): void {
    this.chunks = [];
    this.length = 0;
  }
}
