import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Media and runtime tests spawn ffmpeg; two cores share them.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
