// The storage seam: every `storage:` value the schema accepts has a store in the registry, and the
// SQLite store commits a day's share with its spool position through the interface alone.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { SCHEMA } from '../../src/config/schema.js';
import { ipToDb } from '../../src/store/codes.js';
import { openDay, openStore, STORES } from '../../src/store/index.js';
import type { DayLine } from '../../src/store/store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'megalog-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('store registry', () => {
  it('has exactly the stores the schema accepts', () => {
    expect(Object.keys(STORES).sort()).toEqual([...SCHEMA.storage.kind.values].sort());
  });

  it('commits through Store and reads back through DayView, with the spool position', async () => {
    const cfg = loadConfig({ file: null, env: { MEGALOG_COLD_STORAGE_DIR: join(dir, 'cold'), MEGALOG_HOT_STORAGE_DIR: join(dir, 'hot') } });
    const store = openStore(cfg);
    const t = Date.UTC(2026, 2, 5, 12, 0, 0);
    const line = '<134>Mar  5 09:00:00 r1 NAT test';
    const lines: DayLine[] = [
      {
        end: 100,
        payload: Buffer.from(line),
        device: '192.0.2.1',
        time: t,
        status: 'records',
        vendor: 'mikrotik',
        reason: null,
        records: [{ vendor: 'mikrotik', event: 'session_create', proto: 'tcp', src_ip: '100.64.0.10', src_port: 51000, nat_ip: '203.0.113.7', nat_port: 40312, nat_port_start: null, nat_port_end: null, dst_ip: '198.51.100.1', dst_port: 443, time: t, host: null }],
      },
    ];
    expect(store.commitDay('2026-03-05', lines, 100)).toMatchObject({ records: 1, lines: 1 });
    // a replay of the same position commits nothing twice
    expect(store.commitDay('2026-03-05', lines, 100)).toMatchObject({ records: 0, skipped: 1 });
    expect(store.maxCommittedPos()).toBe(100);
    expect(store.recordsOf('2026-03-05')).toBe(1);
    store.close();
    const day = openDay(cfg.cold_storage_dir, '2026-03-05')!;
    day.begin();
    const rows = day.portRowsIn(ipToDb('203.0.113.7')!, 40312, t - 1000, t + 1000);
    expect(rows).toHaveLength(1);
    expect(day.rawOf(rows[0]!)?.toString()).toBe(line);
    expect(day.rawAt(ipToDb('203.0.113.7')!, 40312, t, rows[0]!.id)?.toString()).toBe(line);
    day.end();
    day.close();
  });
});

describe('day files of another layout', () => {
  it("are moved aside, never read or written as this version's layout", () => {
    const cold = join(dir, 'other-layout');
    mkdirSync(cold, { recursive: true });
    const old = new Database(join(cold, '2026-03-06.db'));
    old.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY) WITHOUT ROWID; INSERT INTO meta VALUES ('schema_version', 2); CREATE TABLE nat (nat_ip ANY)");
    old.close();
    const store = new SqliteStore({ cold_storage_dir: cold, db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 8, db_max_page_count: 0 });
    try {
      expect(store.day('2026-03-06').counters().records).toBe(0);
      expect(store.quarantined).toHaveLength(1);
      expect(readdirSync(cold).some((f) => f.startsWith('2026-03-06.db.corrupt-'))).toBe(true);
    } finally {
      store.close();
    }
  });
});
