// Vitest global setup: one temporary folder per test run, under which every test's tempDir() and
// every daemon, peer and browser it starts make theirs (TMPDIR is set for the workers), removed when
// the run ends. A run that is killed leaves one folder, not hundreds; MEGALOG_KEEP_TMP=1 keeps it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'megalog-run-'));
  process.env.TMPDIR = dir;
  return () => {
    if (process.env.MEGALOG_KEEP_TMP === '1') console.log(`test files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
}
