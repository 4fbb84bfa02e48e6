import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    // Each file opens its own WebGPU device; two at a time keeps a 2-core machine busy without thrashing
    // a software adapter.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
