// `megalog verify` finds a damaged day file and says which; a healthy store verifies clean.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, tempDir, testEnv } from '../helpers/daemon.js';
import { mappings, mikrotikLine } from '../helpers/gen.js';

describe('megalog verify', () => {
  it('reports ok for intact day files and names a damaged one', () => {
    const dir = tempDir();
    const f = join(dir, 'in.log');
    writeFileSync(f, [...mappings(5000, { start: Date.now() - 7200_000, stepMs: 100 })].map((m) => mikrotikLine(m)).join('\n') + '\n');
    execFileSync(process.execPath, [BIN, 'import', f], { env: testEnv(dir), stdio: 'pipe' });
    const ok = execFileSync(process.execPath, [BIN, 'verify'], { env: testEnv(dir), encoding: 'utf8' });
    expect(ok).toMatch(/: ok \(\d+ records\)/);
    const day = /(\d{4}-\d{2}-\d{2}): ok/.exec(ok)![1]!;
    const path = join(dir, 'cold', `${day}.db`);
    const buf = readFileSync(path);
    buf.fill(0x5a, Math.floor(buf.length / 2), Math.floor(buf.length / 2) + 8192);
    writeFileSync(path, buf);
    try {
      execFileSync(process.execPath, [BIN, 'verify'], { env: testEnv(dir), encoding: 'utf8', stdio: 'pipe' });
      expect.unreachable();
    } catch (err) {
      const e = err as { status: number; stdout: string };
      expect(e.status).toBe(1);
      expect(e.stdout).toContain(`${day}: PROBLEM`);
    }
  });
});
