// `megalog import` as an operator migrating from MEGA LOG V2.0 uses it: lines keep their router
// (from the syslog header), a file is not imported twice by mistake, and the file the processor is
// about to tail is handed over at the end of what was imported.
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, startDaemon, stopDaemon, tempDir, testEnv, waitFor, type Daemon } from '../helpers/daemon.js';
import { mappings, mikrotikLine } from '../helpers/gen.js';

const cli = (dir: string, args: string[], extra: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { env: testEnv(dir, extra), encoding: 'utf8', timeout: 60_000 });
const total = (dir: string, extra: Record<string, string> = {}) => JSON.parse(cli(dir, ['stats', '--json'], extra).stdout).records_total as number;

let d: Daemon | null = null;
afterEach(async () => {
  if (d) await stopDaemon(d);
  d = null;
});

describe('megalog import for a migration', () => {
  it('prints its usage for --help', () => {
    const r = cli(tempDir(), ['import', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/usage: megalog import \[--force\] \[--detach\] FILE/);
  });

  it('takes the router from the syslog header: a configured device by name, else the host as written', () => {
    const dir = tempDir();
    const start = Date.now() - 3600_000;
    const ms = [...mappings(2, { start, stepMs: 1000, seed: 3 })];
    const f = join(dir, 'hot_logs.raw');
    writeFileSync(f, `${mikrotikLine(ms[0]!, 'bng-centro')}\n${mikrotikLine(ms[1]!, 'bng-norte')}\n`);
    const env = { MEGALOG_DEVICES: JSON.stringify({ '192.0.2.9': { name: 'bng-centro', timezone: 'UTC' } }) };
    expect(cli(dir, ['import', f], env).status).toBe(0);
    const device = (m: (typeof ms)[number]) => {
      const r = cli(dir, ['search', '--nat-ip', m.natIp, '--nat-port', String(m.natPort), '--at', new Date(m.time).toISOString(), '--case', 'MIG-1', '--json'], env);
      return JSON.parse(r.stdout).candidates[0]?.device;
    };
    expect(device(ms[0]!)).toBe('192.0.2.9');
    expect(device(ms[1]!)).toBe('bng-norte');
  });

  it('commits on a committer thread of its own, handed the parsed lines in memory: every line once', async () => {
    // One thread reading, parsing and committing imported 72.6k lines/s; with the commits on a
    // thread of their own (the processor's committer), 109k (test/bench/RESULTS.md).
    const dir = tempDir();
    const f = join(dir, 'history.log');
    const n = 200_000;
    writeFileSync(f, [...mappings(n, { start: Date.now() - 86_400_000, stepMs: 300, seed: 9 })].map((m) => mikrotikLine(m)).join('\n') + '\n');
    // A small hand-over bound: the reading thread waits for the committer again and again.
    const p = spawn(process.execPath, [BIN, 'import', f], { env: testEnv(dir, { MEGALOG_HANDOFF_MAX_BYTES: String(16 << 20) }), stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (c) => (err += c));
    const threads = new Set<string>();
    const exited = new Promise<number | null>((resolve) => p.on('exit', resolve));
    let done = false;
    void exited.then(() => (done = true));
    while (!done) {
      try {
        for (const t of readdirSync(`/proc/${p.pid}/task`)) threads.add(readFileSync(`/proc/${p.pid}/task/${t}/comm`, 'utf8').trim());
      } catch {
        /* exiting */
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await exited, err).toBe(0);
    expect(threads).toContain('ml-committer');
    expect(err).toContain(`imported ${n} lines: ${n} records`);
    expect(total(dir)).toBe(n);
  });

  /** Start `megalog import f` and SIGKILL it once it has spooled ~4 MB: a file half read, partly committed. */
  async function importKilled(dir: string, f: string): Promise<void> {
    const p = spawn(process.execPath, [BIN, 'import', f], { env: testEnv(dir, { MEGALOG_HANDOFF_MAX_BYTES: String(8 << 20) }), stdio: 'ignore' });
    const exited = new Promise((resolve) => p.on('exit', resolve));
    const spooled = () => {
      try {
        const spool = join(dir, 'hot', 'spool');
        return readdirSync(spool).reduce((n, s) => n + statSync(join(spool, s)).size, 0);
      } catch {
        return 0;
      }
    };
    await waitFor('the import spooling', () => spooled() > 4 << 20 || p.exitCode !== null, 30_000);
    p.kill('SIGKILL');
    await exited;
  }

  const historyFile = (dir: string, n: number) => {
    const f = join(dir, 'history.log');
    writeFileSync(f, [...mappings(n, { start: Date.now() - 86_400_000, stepMs: 250, seed: 12 })].map((m) => mikrotikLine(m)).join('\n') + '\n');
    return f;
  };

  it('resumes an import cut short by SIGKILL: run again, every line is committed once', async () => {
    // Before, a run again read the file from its first line while the spool still held what the
    // first run had read: 600,000 lines gave 727,107 records.
    const dir = tempDir();
    const n = 300_000;
    const f = historyFile(dir, n);
    await importKilled(dir, f);
    const cut = total(dir);
    expect(cut).toBeLessThan(n); // the kill fell in the middle
    const again = cli(dir, ['import', f]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming after line [1-9]\d*|lines were spooled by an earlier run/);
    expect(total(dir)).toBe(n);
    // Recorded as imported once complete: a third run is refused.
    expect(cli(dir, ['import', f]).status).toBe(65);
  });

  it('resumes an import cut short by SIGKILL through the processor started meanwhile: every line once', async () => {
    const dir = tempDir();
    const n = 300_000;
    const f = historyFile(dir, n);
    await importKilled(dir, f);
    expect(total(dir)).toBeLessThan(n);
    d = await startDaemon(dir); // commits what the spool holds, then takes the file as a job
    const handed = cli(dir, ['import', '--detach', f]);
    expect(handed.status, handed.stderr).toBe(0);
    expect(handed.stderr).toMatch(/handed to the running processor as job cli-|lines were spooled by an earlier run/);
    // Given again while that job runs: refused, not queued a second time under the same id.
    const twice = cli(dir, ['import', f]);
    expect(twice.status, twice.stderr).toBe(65);
    expect(twice.stderr).toMatch(/is already being imported by the processor|was imported on/);
    await waitFor('every line committed', () => total(dir) >= n, 60_000);
    await new Promise((r) => setTimeout(r, 1500)); // nothing twice
    expect(total(dir)).toBe(n);
  });

  it('refuses a file already imported; --force imports it again', () => {
    const dir = tempDir();
    const f = join(dir, 'old.log');
    writeFileSync(f, [...mappings(100, { start: Date.now() - 7200_000, stepMs: 1000, seed: 5 })].map((m) => mikrotikLine(m)).join('\n') + '\n');
    expect(cli(dir, ['import', f]).status).toBe(0);
    expect(total(dir)).toBe(100);
    const again = cli(dir, ['import', f]);
    expect(again.status).toBe(65);
    expect(again.stderr).toMatch(/was imported on .* \(100 lines, as old\.log\); --force/);
    expect(total(dir)).toBe(100);
    expect(cli(dir, ['import', '--force', f]).status).toBe(0);
    expect(total(dir)).toBe(200);
  });

  it('hands the tailed file over: the processor goes on after the last whole line imported', async () => {
    const dir = tempDir();
    const f = join(dir, 'hot_logs.raw');
    const lines = [...mappings(300, { start: Date.now() - 600_000, stepMs: 1000, seed: 8 })].map((m) => mikrotikLine(m));
    // rsyslog is in the middle of writing line 201 when the import reads the file
    writeFileSync(f, `${lines.slice(0, 200).join('\n')}\n${lines[200]!.slice(0, 40)}`);
    const env = { MEGALOG_TAIL_FILE: f };
    expect(cli(dir, ['import', f], env).status).toBe(0);
    expect(total(dir, env)).toBe(200);
    appendFileSync(f, `${lines[200]!.slice(40)}\n${lines.slice(201).join('\n')}\n`);
    d = await startDaemon(dir, env);
    await waitFor('tail caught up', () => total(dir, env) >= 300, 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // nothing read twice
    expect(total(dir, env)).toBe(300);
  });
});
