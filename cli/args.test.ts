import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError, withExitCode } from './args.js';
import { quiet } from './test-helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('withExitCode', () => {
  it('with --json, a usage error prints {"error"} on stdout and exits 2', async () => {
    const q = quiet();
    expect(await withExitCode(() => Promise.reject(new UsageError('bad flag')), ['--json'])).toBe(2);
    expect(JSON.parse(q.out())).toEqual({ error: 'bad flag' });
    expect(q.err()).toMatch(/bad flag/);
  });

  it('with --json, any other failure prints {"error"} on stdout and exits 1', async () => {
    const q = quiet();
    expect(await withExitCode(() => Promise.reject(new Error('demo tunnel failed: x')), ['--json'])).toBe(1);
    expect(JSON.parse(q.out())).toEqual({ error: 'demo tunnel failed: x' });
  });

  it('without --json, stdout stays empty and unexpected errors propagate', async () => {
    const q = quiet();
    expect(await withExitCode(() => Promise.reject(new UsageError('bad flag')), [])).toBe(2);
    await expect(withExitCode(() => Promise.reject(new Error('boom')), [])).rejects.toThrow('boom');
    expect(q.out()).toBe('');
  });
});
