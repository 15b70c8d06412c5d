// `megalog verify` finds a damaged day file and says which; a healthy store verifies clean. The
// audit chain's head, logged by the web at start and printed by `megalog audit head`, is checked
// later with `verify --audit --head`.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { BIN, startDaemon, stopDaemon, tempDir, testEnv } from '../helpers/daemon.js';
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

  it('finds a head the web logged at start, and no longer once the log was cut before it', async () => {
    const dir = tempDir();
    const megalog = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env: testEnv(dir), encoding: 'utf8', input: 'a long enough password\n' });
    expect(megalog('user', 'add', 'carol', '--password-stdin').status).toBe(0);
    const web = await startDaemon(dir, {}, 'web');
    expect(await stopDaemon(web)).toBe(0);
    const logged = /^audit head (\d+:[0-9a-f]{64}) \(entries: 1\)$/m.exec(web.stderr())?.[1];
    expect(logged, web.stderr()).toMatch(/^1:/);

    expect(megalog('user', 'add', 'dave', '--password-stdin').status).toBe(0);
    const head = megalog('audit', 'head');
    expect(head.status).toBe(0);
    expect(head.stdout).toMatch(/^2:[0-9a-f]{64}\n$/);
    for (const h of [logged!, head.stdout.trim()]) expect(megalog('verify', '--audit', '--head', h).status).toBe(0);

    // Cut the last entry and make the head record match: nothing inside users.db shows it.
    const db = new Database(join(dir, 'users.db'));
    const h1 = db.prepare('SELECT hash FROM audit WHERE id = 1').pluck().get();
    db.prepare('DELETE FROM audit WHERE id = 2').run();
    db.prepare('UPDATE audit_head SET last_id = 1, last_hash = ?, entries = 1').run(h1);
    db.close();
    expect(megalog('verify', '--audit').status).toBe(0);
    expect(megalog('verify', '--audit', '--head', logged!).status).toBe(0);
    const cut = megalog('verify', '--audit', '--head', head.stdout.trim());
    expect(cut.status).toBe(1);
    expect(cut.stdout).toContain('  - the published head #2 (hash ');
    expect(cut.stdout).toContain('is not in the log (it ends at #1): entries were deleted');

    const bad = megalog('verify', '--audit', '--head', 'latest');
    expect(bad.status).toBe(64);
    expect(bad.stderr).toBe('megalog verify: --head takes ID:HASH, as `megalog audit head` prints it\n');
  });
});
