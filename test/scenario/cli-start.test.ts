// What an operator sees when a command cannot start: one line naming the problem and a distinct exit
// status (core/errors.ts START_ERRORS), never a stack trace; and the version where they ask for it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, startDaemon, stopDaemon, tempDir, testEnv, type Daemon } from '../helpers/daemon.js';

const run = (args: string[], env: Record<string, string>) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 30_000 });
const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at .*:\d+/);
let held: Daemon | null = null;
afterAll(async () => {
  if (held) await stopDaemon(held);
});

describe('megalog start-up', () => {
  it('prints its version for --version and version', () => {
    const v = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    const env = testEnv(tempDir());
    for (const args of [['--version'], ['version']]) {
      const r = run(args, env);
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(v);
    }
  });

  it('refuses a short MEGALOG_SECRET_KEY with one line and exit 78', () => {
    const r = run(['web'], testEnv(tempDir(), { MEGALOG_SECRET_KEY: 'short' }));
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/megalog web: MEGALOG_SECRET_KEY: must have at least 32 characters/);
    noStack(r.stderr);
  });

  it('refuses a bad configuration with every problem and exit 78', () => {
    const r = run(['processor'], testEnv(tempDir(), { MEGALOG_BATCH_SIZE: '0', MEGALOG_TIMEZONE: 'Mars/Olympus' }));
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/batch_size/);
    noStack(r.stderr);
  });

  it('refuses a second processor on a hot directory in use with exit 75', async () => {
    const dir = tempDir();
    held = await startDaemon(dir);
    const r = run(['processor'], testEnv(dir));
    expect(r.status).toBe(75);
    expect(r.stderr).toMatch(/is in use by processor/);
    noStack(r.stderr);
  });
});
