import { describe, expect, it } from 'vitest';
import { StreamAdmission } from './stream-admission.js';

describe('StreamAdmission', () => {
  const idleMs = 30_000;

  it('closes a connection without an allocation after idleMs of silence, and says when (no polling)', () => {
    const allocated = new Set<string>();
    const a = new StreamAdmission<string>({ maxConnections: 10, idleMs }, (c) => allocated.has(c));
    a.admit('binding-only', '198.51.100.1', 0);
    a.admit('turn', '198.51.100.1', 1_000);
    allocated.add('turn');
    expect(a.nextExpiry()).toBe(30_000);
    expect(a.handleExpiry(29_999)).toEqual([]);
    expect(a.handleExpiry(30_000)).toEqual(['binding-only']);
    // The allocated one is due at 31 s but kept, and looked at again idleMs later.
    expect(a.nextExpiry()).toBe(31_000);
    expect(a.handleExpiry(31_000)).toEqual([]);
    expect(a.nextExpiry()).toBe(61_000);
    expect(a.size).toBe(1);
    // Once its allocation is gone, it is idle-closed too.
    allocated.delete('turn');
    expect(a.handleExpiry(61_000)).toEqual(['turn']);
    expect(a.nextExpiry()).toBeUndefined();
  });

  it('restarts the idle clock on activity', () => {
    const a = new StreamAdmission<string>({ maxConnections: 10, idleMs }, () => false);
    a.admit('x', '198.51.100.1', 0);
    a.admit('y', '198.51.100.1', 5_000);
    a.touch('x', 20_000);
    expect(a.nextExpiry()).toBe(35_000); // y is now the silent-longest
    expect(a.handleExpiry(35_000)).toEqual(['y']);
    expect(a.handleExpiry(49_999)).toEqual([]);
    expect(a.handleExpiry(50_000)).toEqual(['x']);
  });

  it('shares a full cap fairly: one address holding every slot cannot shut out another', () => {
    const a = new StreamAdmission<string>({ maxConnections: 100, idleMs }, () => false);
    for (let i = 0; i < 100; i++) expect(a.admit(`flood${i}`, '203.0.113.66', i).admitted).toBe(true);
    // More from the flooding address: refused.
    expect(a.admit('flood100', '203.0.113.66', 200)).toEqual({ admitted: false });
    // A victim address gets in, evicting the flood's silent-longest connection.
    expect(a.admit('victim', '198.51.100.7', 300)).toEqual({ admitted: true, evict: 'flood0' });
    expect(a.countFor('198.51.100.7')).toBe(1);
    expect(a.countFor('203.0.113.66')).toBe(99);
    expect(a.size).toBe(100);
    // Many other addresses get in as well, until the shares are even.
    for (let i = 0; i < 49; i++) expect(a.admit(`other${i}`, '198.51.100.7', 400 + i).admitted).toBe(true);
    expect(a.countFor('198.51.100.7')).toBe(50);
    expect(a.countFor('203.0.113.66')).toBe(50);
    // Even shares: neither takes a slot from the other (no swapping back and forth).
    expect(a.admit('one-more', '198.51.100.7', 500)).toEqual({ admitted: false });
    expect(a.admit('flood-again', '203.0.113.66', 500)).toEqual({ admitted: false });
  });

  it('never evicts a connection that holds an allocation', () => {
    const allocated = new Set(['f0', 'f1']);
    const a = new StreamAdmission<string>({ maxConnections: 3, idleMs }, (c) => allocated.has(c));
    a.admit('f0', '203.0.113.66', 0);
    a.admit('f1', '203.0.113.66', 1);
    a.admit('f2', '203.0.113.66', 2);
    expect(a.admit('v0', '198.51.100.7', 3)).toEqual({ admitted: true, evict: 'f2' });
    // The flood's two left hold allocations: the next newcomer is refused rather than cut one.
    expect(a.admit('w0', '198.51.100.8', 4)).toEqual({ admitted: false });
  });

  it('forgets removed connections', () => {
    const a = new StreamAdmission<string>({ maxConnections: 2, idleMs }, () => false);
    a.admit('x', '198.51.100.1', 0);
    a.admit('y', '198.51.100.1', 0);
    a.remove('x');
    a.remove('x');
    expect(a.size).toBe(1);
    expect(a.admit('z', '198.51.100.1', 1)).toEqual({ admitted: true });
    expect(a.admit('w', '198.51.100.1', 1)).toEqual({ admitted: false });
  });
});
