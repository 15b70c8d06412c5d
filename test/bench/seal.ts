// `npm run bench:seal [-- --mib N]` (default 1024): seal a day file of N MiB while another day keeps
// committing 500-line batches on the same thread, as the committer does. Prints the time spent on the
// committer thread (checkpoint, optimize, journal switch), the background time (fsync, SHA-256), and
// the gap between commits before and during the seal. The file is padded with random blobs: sealing
// cost depends on bytes, not on what they hold. Warm page cache: a cold HDD read adds ~1 s per 150 MB
// to the background time only.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { Stats } from '../../src/core/counters.js';
import type { DayLine } from '../../src/store/sqlite/dayfile.js';
import { Sealer } from '../../src/evidence/seal.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const mib = Number(process.argv[process.argv.indexOf('--mib') + 1] || 1024) || 1024;
const dir = mkdtempSync(join(tmpdir(), 'megalog-bench-seal-'));
const cfg = loadConfig({ env: { MEGALOG_COLD_STORAGE_DIR: join(dir, 'cold'), MEGALOG_HOT_STORAGE_DIR: join(dir, 'hot') } });
const store = new SqliteStore(cfg);
const old = '2026-11-20';
const today = new Date().toISOString().slice(0, 10);
const line = (day: string, i: number): DayLine => ({ end: i, payload: Buffer.from(`<134>bench line ${i} padded to look like a NAT log line of about a hundred bytes`), device: 'udp', time: Date.parse(`${day}T01:00:00Z`), status: 'unparsed', vendor: null, reason: null, records: [] });
let pos = 0;
store.commitDay(old, [line(old, ++pos)], pos);
const db = store.day(old).db;
db.exec('CREATE TABLE bench_filler (b BLOB)');
const ins = db.prepare('INSERT INTO bench_filler VALUES (?)');
const blob = randomBytes(1 << 20);
for (let i = 0; i < mib; i += 64) db.transaction(() => { for (let j = 0; j < 64 && i + j < mib; j++) ins.run(blob); })();
// As in production: written over the day, fsynced every few seconds, the WAL at most ~4 MB.
db.pragma('wal_checkpoint(TRUNCATE)');
const fd = openSync(store.pathOf(old), 'r');
fsyncSync(fd);
closeSync(fd);
for (let i = 0; i < 4; i++) ins.run(blob);
const logs: string[] = [];
const sealer = new Sealer(cfg, store, new Stats(), (_l, m) => logs.push(m));

async function commitWhile(until: () => boolean): Promise<{ commits: number; p50: number; p99: number; max: number }> {
  const gaps: number[] = [];
  let last = performance.now();
  while (!until()) {
    const lines: DayLine[] = [];
    for (let i = 0; i < 500; i++) lines.push(line(today, ++pos));
    store.commitDay(today, lines, pos);
    const now = performance.now();
    gaps.push(now - last);
    last = now;
    await new Promise((r) => setTimeout(r, 0));
  }
  gaps.sort((a, b) => a - b);
  const q = (p: number) => Number(gaps[Math.min(gaps.length - 1, Math.floor(gaps.length * p))]!.toFixed(2));
  return { commits: gaps.length, p50: q(0.5), p99: q(0.99), max: q(1) };
}

const t0 = performance.now();
const before = await commitWhile(() => performance.now() - t0 > 3000);
const t1 = performance.now();
let done = false;
const result = sealer.seal(old).then((r) => ((done = true), r));
const during = await commitWhile(() => done);
const secs = (performance.now() - t1) / 1000;
console.log(JSON.stringify({ case: 'seal', file_bytes: statSync(store.pathOf(old)).size, result: await result, seal_secs: Number(secs.toFixed(2)), log: logs.at(-1), commit_gap_ms_before: before, commit_gap_ms_during: during }));
sealer.stop();
store.close();
rmSync(dir, { recursive: true, force: true });
