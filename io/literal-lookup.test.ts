import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { literalLookup } from './literal-lookup.js';

describe('literalLookup', () => {
  it('answers IP literals at once, in the same tick', () => {
    const seen: Array<[string, number]> = [];
    literalLookup('192.0.2.1', 4, (err, address, family) => {
      expect(err).toBeNull();
      seen.push([address, family]);
    });
    literalLookup('2001:db8::1', 6, (_err, address, family) => seen.push([address, family]));
    expect(seen).toEqual([
      ['192.0.2.1', 4],
      ['2001:db8::1', 6],
    ]);
  });

  it('still resolves a host name, so a socket can bind "localhost"', async () => {
    const s = createSocket({ type: 'udp4', lookup: literalLookup });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, 'localhost', () => resolve());
    });
    expect(s.address().address).toBe('127.0.0.1');
    s.close();
  });
});
