/** Which public ports clients may claim (pure). */

export type PortRange = readonly [number, number];

export function portAllowed(port: number, ranges: readonly PortRange[]): boolean {
  return ranges.some(([lo, hi]) => port >= lo && port <= hi);
}

export function describeRanges(ranges: readonly PortRange[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(', ');
}

/** A random port from the allowed ranges, weighted by range size (for remotePort: 0). */
export function randomAllowedPort(ranges: readonly PortRange[], random: () => number = Math.random): number {
  const total = ranges.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
  let pick = Math.floor(random() * total);
  for (const [lo, hi] of ranges) {
    const size = hi - lo + 1;
    if (pick < size) return lo + pick;
    pick -= size;
  }
  return ranges[0]![0];
}
