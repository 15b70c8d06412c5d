// The committer gathers a fast stream into big batches (commit/committer.ts, GATHER_MS): a batch of
// batch_size lines waits until half a second after the last commit began, and every line is still
// committed once, in order.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Stats } from '../../src/core/counters.js';
import { Committer } from '../../src/commit/committer.js';
import { SpoolWriter } from '../../src/spool/writer.js';
import { DayReader } from '../../src/store/sqlite/read.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'megalog-gather-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('committer batches', () => {
  it('takes a fast stream in batches half a second apart, not one per batch_size lines', () => {
    const cfg = loadConfig({ file: null, env: { MEGALOG_HOT_STORAGE_DIR: join(dir, 'hot'), MEGALOG_COLD_STORAGE_DIR: join(dir, 'cold'), MEGALOG_BATCH_SIZE: '10', MEGALOG_TIMEZONE: 'UTC' } });
    const stats = new Stats();
    const w = new SpoolWriter({ dir: join(dir, 'hot', 'spool'), segmentBytes: 1 << 20, fsync: 'never', floor: 0 });
    const c = new Committer(cfg, stats, () => {});
    const t0 = Date.parse('2026-05-10T12:00:00Z');
    let n = 0;
    /** 25 lines arrive (more than batch_size), then the committer takes a step `at` ms after t0. */
    const tick = (at: number) => {
      for (let i = 0; i < 25; i++, n++) w.append(t0 + at, 'udp', '192.0.2.1', Buffer.from(`<134>May 10 12:00:00 bng unparsed line ${n}`));
      w.flush();
      stats.set('spool_end', w.end);
      c.step(t0 + at);
    };
    try {
      // Every 100 ms for 2 s: the first step commits (no commit before it), then one commit every 500 ms.
      for (let at = 0; at < 2000; at += 100) tick(at);
      expect(stats.get('commit_count')).toBe(4); // at 0, 500, 1000, 1500
      expect(stats.get('lines_committed')).toBe(25 * 16);
      c.drain();
      expect(stats.get('lines_committed')).toBe(n);
    } finally {
      c.close();
      w.close();
    }
    const r = new DayReader(join(dir, 'cold', '2026-05-10.db'), '2026-05-10');
    expect(Number(r.file.meta('lines'))).toBe(n);
    r.close();
  });
});
