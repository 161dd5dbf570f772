import { describe, expect, it } from 'vitest';
import { MASK, maskRecord, maskText } from './log-mask.js';

const CANARY = 'canary-secret-7f3a9c';

describe('log masking', () => {
  it('replaces a known secret wherever it appears, and any field named like a secret', () => {
    const line = maskRecord(
      { level: 40, time: 5, msg: `login with ${CANARY} failed`, tunnel: 'ssh', token: 'something-else', nested: { reason: `bad ${CANARY}`, password: 'hunter2' }, list: [CANARY] },
      [CANARY],
      99,
    );
    expect(JSON.stringify(line)).not.toContain(CANARY);
    expect(JSON.stringify(line)).not.toContain('something-else');
    expect(JSON.stringify(line)).not.toContain('hunter2');
    expect(line).toMatchObject({ at: 5, level: 'warn', message: `login with ${MASK} failed`, tunnel: 'ssh' });
    expect(line.detail).toContain('tunnel=ssh');
    expect(line.detail).toContain(`token=${MASK}`);
  });

  it('leaves ordinary text alone and ignores secrets too short to be real', () => {
    expect(maskText('tunnel online', ['abc'])).toBe('tunnel online');
    expect(maskText('a b', [])).toBe('a b');
    expect(maskRecord({ level: 30, msg: 'x' }, [], 7)).toEqual({ at: 7, level: 'info', message: 'x' });
  });

  it('masks the longer of two overlapping secrets whole', () => {
    expect(maskText('tok-12345678-extra', ['tok-12345678', 'tok-12345678-extra'])).toBe(MASK);
  });
});
