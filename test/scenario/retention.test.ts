// Retention deletes whole day files older than log_retention_days, never rows; a legal hold keeps a day.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { dayOf } from '../../src/store/codes.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/daemon.js';

describe('retention', () => {
  it('deletes day files past the retention, keeps held days and recent days whole', () => {
    const cold = tempDir();
    const cfg = loadConfig({ env: { MEGALOG_COLD_STORAGE_DIR: cold } });
    const store = new SqliteStore(cfg);
    const now = Date.UTC(2026, 10, 25, 12);
    const days = [400, 366, 365, 364, 10, 0].map((n) => dayOf(now - n * 86_400_000));
    for (const [i, day] of days.entries()) {
      store.commitDay(day, [{ end: i + 1, payload: Buffer.from(`line ${day}`), device: 'udp', time: Date.parse(`${day}T01:00:00Z`), status: 'unparsed', vendor: null, reason: null, records: [] }], i + 1);
    }
    writeFileSync(join(cold, `${days[1]}.db.hold`), 'case 123/2026');
    store.syncAll();
    const removed = store.applyRetention(365, now);
    expect(removed).toEqual([days[0]]);
    expect(existsSync(join(cold, `${days[0]}.db`))).toBe(false);
    for (const d of days.slice(1)) expect(existsSync(join(cold, `${d}.db`))).toBe(true);
    expect(store.listDays().map((d) => d.unparsed)).toEqual([1, 1, 1, 1, 1]);
    store.close();
  });
});
