// Case `clickhouse` (`npm run bench -- --only clickhouse [--ch-records N]`): the same generated day
// (day.ts, same seed) committed into SQLite day files and into a clickhouse-server of the bench's own
// (loopback, temporary directory), side by side in one run: insert rate, bytes per record, and the
// query engine's whole answers (ip+port+T p50/p99, IP-only p99) read through each store's DayView
// with a ReaderCache, as the console reads them. Each store's commits are timed alone (the other
// idle); the ClickHouse server shares the machine's cores with the bench, as CI's does.
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { forensicLookup, ReaderCache, type QueryConfig } from '../../src/query/engine.js';
import { ipFromDb } from '../../src/store/codes.js';
import { ClickhouseStore } from '../../src/store/clickhouse/ch-store.js';
import { readConfigOf } from '../../src/store/index.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { ClickhouseServer, hasClickhouse } from '../helpers/clickhouse.js';
import { tempDir } from '../helpers/daemon.js';
import { CHUNK_LINES, DAY, DaySource, prepare, type Prepared } from './day.js';
import { onCleanup } from './procs.js';
import { figure, info, pct } from './report.js';

export interface ClickhouseBenchOptions {
  records: number;
  subscribers: number;
  publics: number;
  queries: number;
}

/** Commit a whole generated day into `store`, CHUNK_LINES lines a commit; ms spent in commitDay. */
async function fill(store: Store, o: ClickhouseBenchOptions): Promise<{ ms: number; src: DaySource }> {
  const src = new DaySource({ day: DAY, total: o.records, subscribers: o.subscribers, publics: o.publics, seed: 12345 });
  let ms = 0;
  let asked = Math.min(CHUNK_LINES, o.records);
  let cur: Prepared | null = await prepare(src, asked);
  while (cur?.lines.length) {
    const n = Math.min(CHUNK_LINES, o.records - asked);
    asked += n;
    const next: Prepared | null = n > 0 ? await prepare(src, n) : null;
    const t0 = performance.now();
    store.commitDay(DAY, cur.lines, cur.end);
    ms += performance.now() - t0;
    src.committed = cur.end;
    cur = next;
  }
  return { ms, src };
}

function answers(cfg: QueryConfig, src: DaySource, n: number, port: boolean): number[] {
  const ms: number[] = [];
  const dayStart = Date.parse(`${DAY}T00:00:00Z`);
  for (let i = -3; i < n; i++) {
    const k = src.pick();
    const t0 = performance.now();
    const a = forensicLookup({ natIp: ipFromDb(k.natIp)!, natPort: port ? k.natPort : null, at: dayStart + k.t, windowSec: 60 }, cfg);
    if (i >= 0) ms.push(performance.now() - t0);
    if (!a.candidates.length) throw new Error(`a sampled key got ${a.verdict}`);
  }
  return ms;
}

export async function benchClickhouse(o: ClickhouseBenchOptions): Promise<void> {
  if (!hasClickhouse) {
    info('clickhouse: no /usr/sbin/clickhouse-server (Debian 12: apt-get install clickhouse-server); case skipped');
    return;
  }
  const dir = tempDir('megalog-bench-ch-');
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const server = new ClickhouseServer();
  onCleanup(() => void server.destroy());
  await server.start();
  const label = o.records >= 1e6 ? `${o.records / 1e6} M` : `${o.records / 1e3} k`;
  const cold = join(dir, 'cold');
  const cfg = loadConfig({ file: null, env: {}, overrides: { cold_storage_dir: cold, hot_storage_dir: join(dir, 'hot'), storage: 'clickhouse', clickhouse_url: server.url } });

  // SQLite first, then ClickHouse, each alone on the machine (ClickHouse's merges run after its inserts).
  const sq = new SqliteStore(cfg);
  const s = await fill(sq, o);
  sq.close();
  const sqBytes = statSync(join(cold, `${DAY}.db`)).size;
  info(`clickhouse: SQLite filled (${label} records) in ${Math.round(s.ms / 1000)} s of commits`);
  const ch = new ClickhouseStore(cfg);
  const c = await fill(ch, o);
  const version = ch.client.features().version;
  ch.client.exec('OPTIMIZE TABLE megalog.rec FINAL'); // the day as it is kept: its parts merged
  const chBytes = Number(ch.client.tsv("SELECT sum(bytes) FROM system.parts WHERE database = 'megalog' AND table = 'rec' AND active")[0]?.[0] ?? 0);
  ch.close();
  info(`clickhouse: ClickHouse ${version} filled in ${Math.round(c.ms / 1000)} s of inserts`);
  await c.src.close();

  const note = `${CHUNK_LINES.toLocaleString('en-US')} lines a commit, original lines included`;
  figure({ case: 'clickhouse', name: `insert rate SQLite (${label})`, value: (o.records * 1000) / s.ms, unit: 'rows/s', note });
  figure({ case: 'clickhouse', name: `insert rate ClickHouse ${version} (${label})`, value: (o.records * 1000) / c.ms, unit: 'rows/s', note: `${note}; RowBinary over HTTP` });
  figure({ case: 'clickhouse', name: `bytes per record SQLite (${label})`, value: sqBytes / o.records, unit: 'B', note: 'day file, indexes and original lines' });
  figure({ case: 'clickhouse', name: `bytes per record ClickHouse (${label})`, value: chBytes / o.records, unit: 'B', note: 'active parts after OPTIMIZE FINAL; original lines LZ4 on 18.16 (ZSTD where codecs exist)' });

  const sqCfg: QueryConfig = { cold_storage_dir: cold, timezone: 'UTC', readers: new ReaderCache(cold) };
  const chCfg: QueryConfig = { ...readConfigOf(cfg), timezone: 'UTC', readers: new ReaderCache(readConfigOf(cfg)) };
  for (const [name, qc] of [['SQLite', sqCfg], ['ClickHouse', chCfg]] as const) {
    const port = answers(qc, s.src, o.queries, true);
    const ip = answers(qc, s.src, Math.max(10, Math.floor(o.queries / 10)), false);
    figure({ case: 'clickhouse', name: `ip+port+T p50 ${name} (${label})`, value: pct(port, 50), unit: 'ms', note: 'forensicLookup, ±60 s, original line read' });
    figure({ case: 'clickhouse', name: `ip+port+T p99 ${name} (${label})`, value: pct(port, 99), unit: 'ms', note: `${o.queries} queries` });
    figure({ case: 'clickhouse', name: `IP-only p99 ${name} (${label})`, value: pct(ip, 99), unit: 'ms', note: `p50 ${pct(ip, 50).toFixed(1)} ms; ±60 s, ~${Math.round(o.records / o.publics).toLocaleString('en-US')} rows an address` });
    qc.readers!.close();
  }
  await s.src.close();
  await server.destroy();
}
