// The ClickHouse store against a clickhouse-server of the test's own (Debian's 18.16 in CI): the
// stores' conformance suite on the ground-truth world, and identical answers from SQLite and
// ClickHouse for a generated day with known holders.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/load.js';
import { forensicLookup, ReaderCache, subscriberLookup, type Answer, type QueryConfig } from '../../src/query/engine.js';
import { ClickhouseStore } from '../../src/store/clickhouse/ch-store.js';
import { readConfigOf } from '../../src/store/index.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { DayLine } from '../../src/store/store.js';
import { writeWorld } from '../fixtures/query/world.js';
import { forensicSuite } from '../conformance/forensic.js';
import { ClickhouseServer, hasClickhouse, NO_CLICKHOUSE } from '../helpers/clickhouse.js';

const TZ = 'America/Sao_Paulo';
let ch: ClickhouseServer;
let dir: string;
const cfgs: Record<string, QueryConfig> = {};

function chConfig(url: string, database: string, cold: string): Config {
  return loadConfig({ file: null, env: {}, overrides: { storage: 'clickhouse', clickhouse_url: url, clickhouse_database: database, cold_storage_dir: cold, hot_storage_dir: join(cold, '..', 'hot') } });
}

beforeAll(async () => {
  if (!hasClickhouse) return;
  dir = mkdtempSync(join(tmpdir(), 'megalog-chstore-'));
  ch = new ClickhouseServer();
  await ch.start();
  const c = chConfig(ch.url, 'world', join(dir, 'cold'));
  const store = new ClickhouseStore(c);
  writeWorld(store);
  store.close();
  cfgs.world = { ...readConfigOf(c), timezone: TZ };
}, 60_000);
afterAll(async () => {
  await ch?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasClickhouse)('clickhouse store' + NO_CLICKHOUSE, () => {
  forensicSuite('clickhouse', () => cfgs.world!);

  it('keeps every original line byte for byte, and detects what the server can do', () => {
    const store = new ClickhouseStore(chConfig(ch.url, 'world', join(dir, 'cold')));
    const f = store.client.features();
    expect(f.version).toMatch(/^\d+\.\d+/);
    expect(f.codecs).toBe(f.versionNum >= 19_001); // 18.16: no CODEC; raw stays LZ4
    expect(store.listDayNames()).toEqual(['2026-03-04', '2026-03-05']);
    store.close();
  });
});

describe.skipIf(!hasClickhouse)('retention on ClickHouse' + NO_CLICKHOUSE, () => {
  it('drops whole day partitions past the retention, never rows, and keeps a held day', () => {
    const cold = join(dir, 'ret-cold');
    const c = chConfig(ch.url, 'ret', cold);
    const store = new ClickhouseStore(c);
    writeWorld(store);
    writeFileSync(join(cold, '2026-03-04.db.hold'), '{}');
    const now = Date.UTC(2026, 3, 10); // 2026-04-10: both days are over 30 days old
    expect(store.applyRetention(30, now, true)).toEqual(['2026-03-05']);
    expect(store.listDayNames()).toEqual(['2026-03-04', '2026-03-05']);
    expect(store.applyRetention(30, now)).toEqual(['2026-03-05']);
    expect(store.listDayNames()).toEqual(['2026-03-04']);
    expect(store.applyRetention(40, now)).toEqual([]);
    store.close();
  });
});

/** A generated day: subscribers take ports of a few public addresses, some sessions closed, blocks too. */
function generated(): { byDay: Map<string, DayLine[]>; pos: number; questions: [string, number | null, number][]; holders: Map<string, string> } {
  let seed = 12345;
  const rnd = (n: number) => ((seed = (seed * 48271) % 2147483647) % n);
  const start = Date.UTC(2026, 4, 10, 0, 0, 0);
  const byDay = new Map<string, DayLine[]>();
  const questions: [string, number | null, number][] = [];
  const holders = new Map<string, string>();
  const events: { t: number; line: Omit<DayLine, 'end' | 'time'> }[] = [];
  for (let i = 0; i < 3000; i++) {
    const t = start + rnd(2 * 86_400_000);
    const nat = `203.0.113.${1 + rnd(4)}`;
    const port = 1024 + rnd(300);
    const src = `100.64.${rnd(8)}.${1 + rnd(200)}`;
    const proto = rnd(3) === 0 ? 'udp' : 'tcp';
    const event = rnd(5) === 0 ? ('session_close' as const) : ('session_create' as const);
    const raw = `<134>gen ${event} ${proto} ${src}:${4000 + i} -> ${nat}:${port} #${i}`;
    events.push({ t, line: { payload: Buffer.from(raw), device: `192.0.2.${1 + (i % 3)}`, status: 'records', vendor: 'mikrotik', reason: null, records: [{ vendor: 'mikrotik', event, proto, src_ip: src, src_port: 4000 + i, nat_ip: nat, nat_port: port, nat_port_start: null, nat_port_end: null, dst_ip: '198.18.0.1', dst_port: 443, time: t, host: 'gen' }] } });
    if (i % 10 === 0) questions.push([nat, port, t + 1000]);
    if (i % 97 === 0) questions.push([nat, null, t]);
    if (event === 'session_create') holders.set(`${nat}|${port}|${t}`, src);
  }
  for (let b = 0; b < 40; b++) {
    const t = start + rnd(2 * 86_400_000);
    const lo = 20_000 + 512 * rnd(16);
    const src = `100.65.0.${1 + rnd(50)}`;
    const event = b % 3 === 2 ? ('block_release' as const) : ('block_alloc' as const);
    events.push({ t, line: { payload: Buffer.from(`<134>gen ${event} ${src} 198.51.100.9 ${lo}-${lo + 511}`), device: '192.0.2.9', status: 'records', vendor: 'juniper-srx', reason: null, records: [{ vendor: 'juniper-srx', event, proto: null, src_ip: src, src_port: null, nat_ip: '198.51.100.9', nat_port: null, nat_port_start: lo, nat_port_end: lo + 511, dst_ip: null, dst_port: null, time: t, host: 'gen' }] } });
    questions.push(['198.51.100.9', lo + rnd(512), t + 60_000]);
  }
  for (let u = 0; u < 50; u++) events.push({ t: start + rnd(2 * 86_400_000), line: { payload: Buffer.from(`gen unparsed ${u}`), device: '192.0.2.1', status: 'unparsed', vendor: null, reason: null, records: [] } });
  events.sort((a, b) => a.t - b.t);
  let pos = 0;
  for (const e of events) {
    const day = new Date(e.t).toISOString().slice(0, 10);
    let l = byDay.get(day);
    if (!l) byDay.set(day, (l = []));
    l.push({ ...e.line, end: ++pos, time: e.t });
  }
  return { byDay, pos, questions, holders };
}

describe.skipIf(!hasClickhouse)('ground truth: identical answers from SQLite and ClickHouse' + NO_CLICKHOUSE, () => {
  it('answers every generated question the same from both stores, the known holder included', () => {
    const g = generated();
    const cold = join(dir, 'gen-cold');
    mkdirSync(cold, { recursive: true });
    const sq = new SqliteStore({ cold_storage_dir: cold, db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });
    const c = chConfig(ch.url, 'gen', cold);
    const cs = new ClickhouseStore(c);
    // ClickHouse in batches of 500 lines, as the committer commits them
    for (const [day, lines] of g.byDay) {
      sq.commitDay(day, lines, g.pos);
      for (let i = 0; i < lines.length; i += 500) cs.commitDay(day, lines.slice(i, i + 500), lines[Math.min(i + 500, lines.length) - 1]!.end);
    }
    sq.close();
    cs.close();
    // Readers kept between lookups, as the console keeps them (each lookup still reads afresh: DayView.begin).
    const sqCfg: QueryConfig = { cold_storage_dir: cold, timezone: TZ, readers: new ReaderCache(cold) };
    const chCfg: QueryConfig = { ...readConfigOf(c), timezone: TZ, readers: new ReaderCache(readConfigOf(c)) };
    const strip = (a: Answer) => ({ ...a, days_used: a.days_used.map((d) => d.day) });
    let unique = 0;
    let knownHolders = 0;
    for (const [ip, port, at] of g.questions) {
      const a = forensicLookup({ natIp: ip, natPort: port, at, windowSec: 30 }, sqCfg);
      const b = forensicLookup({ natIp: ip, natPort: port, at, windowSec: 30 }, chCfg);
      expect(strip(b)).toEqual(strip(a));
      if (a.verdict === 'unique') unique++;
      const h = port == null ? undefined : g.holders.get(`${ip}|${port}|${at - 1000}`);
      if (h && a.verdict === 'unique') {
        expect(a.candidates[0]!.src_ip).toBe(h);
        knownHolders++;
      }
    }
    expect(unique).toBeGreaterThan(50);
    expect(knownHolders).toBeGreaterThan(50);
    for (const src of ['100.64.1.7', '100.64.3.50', '100.65.0.7']) {
      const q = { srcIp: src, from: Date.UTC(2026, 4, 10, 6), to: Date.UTC(2026, 4, 11, 18) };
      const a = subscriberLookup(q, sqCfg);
      const b = subscriberLookup(q, chCfg);
      expect({ ...b, days_used: b.days_used.map((d) => d.day) }).toEqual({ ...a, days_used: a.days_used.map((d) => d.day) });
    }
    sqCfg.readers!.close();
    chCfg.readers!.close();
  });
});
