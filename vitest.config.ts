import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites each create their own MariaDB database, so files may run in parallel;
    // two workers match the two cores of the machines we run on.
    maxWorkers: 2,
  },
});
