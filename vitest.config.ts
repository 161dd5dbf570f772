import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['shared/**/*.test.ts', 'server/**/*.test.ts', 'engine/**/*.test.ts', 'electron/**/*.test.ts', 'io/**/*.test.ts', 'cli/**/*.test.ts', 'hosts/**/*.test.ts', 'tests/**/*.test.ts', 'e2e/**/*.test.ts', 'renderer/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // global.gc() for the memory-bound tests, so they measure what is retained, not GC timing.
    execArgv: ['--expose-gc'],
  },
});
