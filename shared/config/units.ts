/** Config value units: port ranges and byte rates, pure parsing. */

/** "6000-6100" or "7000" -> inclusive range; undefined when malformed. */
export function parsePortRange(text: string | number): readonly [number, number] | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(String(text).trim());
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || lo > hi) return undefined;
  return [lo, hi];
}

const RATE_UNITS: Record<string, number> = {
  '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3,
};

/** "10MB", "512KiB", "1.5mb" or a number (bytes per second) -> bytes per second. */
export function parseByteRate(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)(?:\/s)?\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = RATE_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const n = Number(m[1]) * unit;
  return n > 0 ? Math.floor(n) : undefined;
}
