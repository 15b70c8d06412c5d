// The stores' conformance suite (test/conformance/forensic.ts) on SQLite day files written through
// SqliteStore.commitDay; the ClickHouse run is test/scenario/clickhouse-store.test.ts.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { QueryConfig } from '../../src/query/engine.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { writeWorld } from '../fixtures/query/world.js';
import { forensicSuite } from '../conformance/forensic.js';

let dir: string;
let cfg: QueryConfig;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'megalog-conf-'));
  const cold = join(dir, 'cold');
  mkdirSync(cold);
  const store = new SqliteStore({ cold_storage_dir: cold, db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });
  writeWorld(store);
  store.close();
  cfg = { cold_storage_dir: cold, storage: 'sqlite', timezone: 'America/Sao_Paulo' };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

forensicSuite('sqlite', () => cfg);
