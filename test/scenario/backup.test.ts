// Backup and restore: consistent copies with SHA-256 manifest, incremental, verified before restoring.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, dayCounters, sendUdp, startDaemon, stopDaemon, tempDir, testEnv, waitFor } from '../helpers/daemon.js';
import { mappings, mikrotikLine } from '../helpers/gen.js';

const cli = (dir: string, ...args: string[]) => execFileSync(process.execPath, [BIN, ...args], { env: testEnv(dir), encoding: 'utf8', stdio: 'pipe' });

describe('backup and restore', () => {
  it('backs up while running, skips unchanged files, restores only a verified backup', async () => {
    const dir = tempDir();
    const bak = join(tempDir(), 'bak');
    const start = Date.now() - 2 * 86_400_000;
    const d = await startDaemon(dir);
    const lines = [...mappings(500, { start, stepMs: 200_000, seed: 11 })].map((m) => mikrotikLine(m)); // spans ~2 days
    await sendUdp(d.udpPort, lines);
    const total = () => JSON.parse(cli(dir, 'stats', '--json')).records_total;
    await waitFor('all committed', () => total() === 500);
    expect(cli(dir, 'backup', bak)).toMatch(/copied/); // while the processor runs
    await stopDaemon(d);
    const manifest = JSON.parse(readFileSync(join(bak, 'MANIFEST.json'), 'utf8'));
    expect(manifest.files.length).toBeGreaterThanOrEqual(2);
    expect(manifest.files.every((f: { sha256: string }) => /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
    const days = manifest.files.map((f: { file: string }) => f.file).filter((f: string) => f.endsWith('.db') && f !== 'users.db');
    // evidence is for the service user and its group, never for others, whatever the umask
    for (const f of readdirSync(join(dir, 'cold')).filter((n) => n.endsWith('.db'))) expect(statSync(join(dir, 'cold', f)).mode & 0o007, f).toBe(0);
    for (const f of manifest.files as { file: string }[]) expect(statSync(join(bak, f.file)).mode & 0o077, f.file).toBe(f.file === 'users.db' ? 0 : 0o040);
    cli(dir, 'backup', bak); // after the shutdown checkpoint rewrote the files
    expect(cli(dir, 'backup', bak)).toMatch(/\(0 copied, \d+ unchanged\)/);

    rmSync(join(dir, 'cold'), { recursive: true });
    expect(cli(dir, 'restore', bak)).toMatch(/restored/);
    expect(total()).toBe(500);
    expect(days.reduce((n: number, f: string) => n + dayCounters(join(dir, 'cold', f)).nat_rows, 0)).toBe(500);

    // a tampered backup is refused whole
    const victim = join(bak, days[0]);
    const buf = readFileSync(victim);
    buf[buf.length - 10] ^= 1;
    writeFileSync(victim, buf);
    try {
      cli(dir, 'restore', bak, '--force');
      expect.unreachable();
    } catch (err) {
      expect(String((err as { stderr: string }).stderr)).toMatch(/does not match its SHA-256: nothing restored/);
    }
  });
});
