// Two lanes (npm run test:unit, npm run test:scenario; npm test runs both):
// - unit: in-process, no daemon, no build, no peer; files run in parallel; under a minute.
// - scenario: the built executable (dist/) with real sockets on 127.0.0.1, rsyslog, nginx, chromium;
//   one file at a time on this 2-core box. `npm run test:scenario` builds first.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/run-tmp.ts'],
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 60_000, pool: 'forks' } },
      {
        test: {
          name: 'scenario',
          include: ['test/scenario/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
    ],
  },
});
