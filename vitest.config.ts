import { defineConfig } from 'vitest/config';

// Scenario tests start real daemons, sockets and rsyslog: run files one at a time on this 2-core box.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
