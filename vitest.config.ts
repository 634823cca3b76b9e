import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // libtorch tensors live in native memory: run each file in its own process, not a worker thread.
    pool: 'forks',
    // --expose-gc: memory tests collect garbage before they measure.
    poolOptions: { forks: { singleFork: false, execArgv: ['--expose-gc'] } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
