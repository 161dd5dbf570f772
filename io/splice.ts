/**
 * Join two byte streams both ways: the relay's data path.
 *
 * - Backpressure: `pipe()` pauses the reader while the writer's buffer is full, so a slow
 *   reader on one side never makes this process buffer without bound.
 * - Half-close: when one side ends its writing (FIN), the other side's writing is ended too,
 *   and the opposite direction keeps flowing until it ends as well (sockets need allowHalfOpen).
 * - Any error or abrupt close tears both sides down.
 */
import type { Duplex, Transform } from 'node:stream';

export interface SpliceOptions {
  /** Called with each chunk's size as it moves a -> b and b -> a. */
  onAToB?: (bytes: number) => void;
  onBToA?: (bytes: number) => void;
  /** Optional transforms (e.g. bandwidth throttles) inserted in each direction. */
  aToB?: Transform;
  bToA?: Transform;
}

/** Resolves when both sides are closed. Never rejects: errors just close both sides. */
export function splice(a: Duplex, b: Duplex, options: SpliceOptions = {}): Promise<void> {
  return new Promise((resolve) => {
    let closed = 0;
    const streams = [a, b, options.aToB, options.bToA].filter((s): s is Duplex => s !== undefined);
    const teardown = () => {
      for (const s of streams) if (!s.destroyed) s.destroy();
    };
    for (const s of streams) s.on('error', teardown);
    const onClose = (side: Duplex) => () => {
      // An abrupt close (not after a clean end in both directions) tears the other side down.
      if (!side.readableEnded || !side.writableFinished) teardown();
      if (++closed === 2) resolve();
    };
    a.once('close', onClose(a));
    b.once('close', onClose(b));
    if (options.onAToB) a.on('data', (c: Buffer) => options.onAToB!(c.length));
    if (options.onBToA) b.on('data', (c: Buffer) => options.onBToA!(c.length));
    if (options.aToB) a.pipe(options.aToB).pipe(b);
    else a.pipe(b);
    if (options.bToA) b.pipe(options.bToA).pipe(a);
    else b.pipe(a);
  });
}
