// The hour-by-hour port walk (src/query/walk.ts over the packed records of store/sqlite) gives exactly
// the answer of reading every record of the address: random days with heavy port reuse, all protocol
// classes, closes, port blocks and late lines into packed hours, checked against an oracle that feeds
// the interval rules every row.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventKind, NatRecord } from '../../src/parse/types.js';
import { forensicLookup, LOOKBACK_MS, ReaderCache, ReaderPool, subscriberLookup, type Candidate } from '../../src/query/engine.js';
import { Timelines, toEvent } from '../../src/query/intervals.js';
import { protoMatches } from '../../src/query/walk.js';
import { DAY_MS, dayOf, dayStart, ipToDb, protoCode } from '../../src/store/codes.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { DayFile, type DayLine } from '../../src/store/sqlite/dayfile.js';
import { commitWithLateLines } from '../helpers/late.js';
import { Part } from '../../src/store/sqlite/part.js';
import { decodeSegment, PSET_SEGS, PSET_SPAN } from '../../src/store/sqlite/port-set.js';
import type { NatRow } from '../../src/store/store.js';
import { DayReader } from '../../src/store/sqlite/read.js';
import { FANOUT, HOUR_MS, LVL_PART, PART_ROWS } from '../../src/store/sqlite/schema.js';

const D0 = Date.parse('2026-04-10T00:00:00Z');
const NATS = ['203.0.113.1', '203.0.113.2'];
const PORTS = [1024, 1025, 4095, 4096, 4097, 8191, 40000, 40001, 65535];
const PROTOS = ['tcp', 'tcp', 'udp', 'icmp', null] as const;
let dir: string;
let cold: string;
const coldDir = () => cold;
let seed = Number(process.env.WALK_SEED ?? 7);
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed / 2147483648);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

function record(t: number): NatRecord {
  const nat = pick(NATS);
  const block = rnd() < 0.08;
  const src = `100.64.0.${1 + Math.floor(rnd() * 6)}`;
  if (block) {
    const start = pick([1024, 4096, 40000]);
    // a block event that names one port and no range (stored as a block row without port_end)
    if (rnd() < 0.2) return { vendor: 'juniper-srx', event: 'block_alloc', proto: null, src_ip: src, src_port: null, nat_ip: nat, nat_port: start, nat_port_start: null, nat_port_end: null, dst_ip: null, dst_port: null, time: t, host: 'b' };
    return { vendor: 'juniper-srx', event: rnd() < 0.3 ? 'block_release' : 'block_alloc', proto: null, src_ip: src, src_port: null, nat_ip: nat, nat_port: null, nat_port_start: start, nat_port_end: start + pick([0, 63, 1023]), dst_ip: null, dst_port: null, time: t, host: 'b' };
  }
  const event: EventKind = rnd() < 0.25 ? 'session_close' : 'session_create';
  return { vendor: 'mikrotik', event, proto: pick(PROTOS), src_ip: src, src_port: 1000 + Math.floor(rnd() * 3), nat_ip: nat, nat_port: pick(PORTS), nat_port_start: null, nat_port_end: null, dst_ip: '198.18.0.1', dst_port: 443, time: t, host: 'b' };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'megalog-walk-'));
  cold = join(dir, 'cold');
  const store = new SqliteStore({ cold_storage_dir: cold, db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });
  // Three days; gaps of up to ~3 h between records so max-age ends and quiet hours both happen.
  const recs: NatRecord[] = [];
  for (let t = D0 + 60_000; t < D0 + 3 * DAY_MS; t += Math.floor(rnd() * (rnd() < 0.05 ? 3 * HOUR_MS : 20 * 60_000))) recs.push(record(t));
  // Commits of ~40 lines in time order; one line in 10 held back and committed 2–6 h later (late into sealed hours).
  commitWithLateLines(store, recs, { rnd, lateShare: 0.1, lateMinMs: 2 * HOUR_MS, lateSpreadMs: 4 * HOUR_MS, payload: (r) => JSON.stringify(r) });
  store.close();
  // A day still being written: the same first two and a half days, then a record every ~45 s until
  // 14:30 of the third, lines held back minutes (into written pieces of hours not sealed yet) or hours.
  const live = new SqliteStore({ cold_storage_dir: join(dir, 'live'), db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });
  const liveRecs = recs.filter((r) => r.time! < LIVE_DENSE_FROM);
  for (let t = LIVE_DENSE_FROM; t < LIVE_END; t += Math.floor(rnd() * 90_000)) liveRecs.push(record(t));
  commitWithLateLines(live, liveRecs, { rnd, lateShare: 0.15, lateMinMs: 2 * 60_000, lateSpreadMs: 90 * 60_000, payload: (r) => JSON.stringify(r) });
  live.close();
});
const LIVE_DENSE_FROM = D0 + 2 * DAY_MS + 8 * HOUR_MS;
const LIVE_END = D0 + 2 * DAY_MS + 14.5 * HOUR_MS;
afterAll(() => { if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true }); else console.log('KEPT', cold); });

/** The answer from every row: all of the address's records from the first day the rules need. */
function oracle(cold: string, natIp: string, port: number, at: number, windowSec: number, proto: string | null): string[] {
  const lo = at - windowSec * 1000;
  const hi = at + windowSec * 1000;
  const want = proto == null ? null : protoCode(proto);
  const tl = new Timelines();
  const natDb = ipToDb(natIp)!;
  // …through the day after the window's (the engine's documented reach for an interval's end).
  const readers: DayReader[] = [];
  for (let d = dayStart(dayOf(lo - LOOKBACK_MS)); d <= dayStart(dayOf(hi)) + DAY_MS; d += DAY_MS) {
    const r = DayReader.open(cold, dayOf(d));
    if (!r) continue;
    readers.push(r);
    const rows = [...r.file.allRows()].filter((x) => x.nat_ip === natDb).sort((a, b) => a.t - b.t || a.id - b.id);
    for (const row of rows) {
      const covers = row.port_end != null ? row.nat_port <= port && row.port_end >= port : row.nat_port === port;
      if (!covers || !protoMatches(want, row.code)) continue;
      const ev = toEvent(row, r);
      if (ev) tl.push(ev);
    }
  }
  const out = tl
    .finish()
    .filter((iv) => iv.start <= hi && iv.end >= lo)
    .map((iv) => `${iv.kind} ${iv.holder} ${iv.start}-${iv.end} ${iv.end_reason} n=${iv.count} exact=${iv.start_exact}`)
    .sort();
  for (const r of readers) r.close();
  return out;
}

const key = (c: Candidate) => `${c.kind} ${c.kind === 'block' ? c.src_ip : `${c.src_ip}|${c.src_port ?? ''}`} ${c.start_ms}-${c.end_ms} ${c.end_reason} n=${c.count} exact=${c.start_exact}`;

describe('packed records', () => {
  it('pack every past hour into parts with disjoint port ranges, and lose nothing', () => {
    for (const day of ['2026-04-10', '2026-04-11', '2026-04-12']) {
      const r = new DayReader(join(cold, `${day}.db`), day);
      try {
        const recs = r.file.db.prepare('SELECT nat_ip, hour, lvl, port_lo, port_hi, n, t_max, data FROM rec ORDER BY nat_ip, hour, port_lo').all() as { nat_ip: number; hour: number; lvl: number; port_lo: number; port_hi: number; n: number; t_max: number; data: Buffer }[];
        const blocks = Number(r.file.db.prepare('SELECT count(*) FROM blk').pluck().get());
        expect(recs.reduce((a, x) => a + x.n, 0) + blocks).toBe(r.file.counters().records);
        const parts = new Map<string, typeof recs>();
        for (const x of recs) {
          const p = new Part(x.data);
          expect(p.n).toBe(x.n);
          // sorted by (port, t, id), within the row's port range and hour
          for (let i = 0; i < p.n; i++) {
            const row = p.row(x.nat_ip, i);
            expect(row.nat_port >= x.port_lo && row.nat_port <= x.port_hi && Math.floor(row.t / HOUR_MS) === x.hour && row.t <= x.t_max).toBe(true);
            if (i) expect(p.port(i - 1) < row.nat_port || (p.port(i - 1) === row.nat_port && p.t(i - 1) <= row.t)).toBe(true);
          }
          if (x.lvl === LVL_PART) {
            const k = `${x.nat_ip}|${x.hour}`;
            parts.set(k, [...(parts.get(k) ?? []), x]);
            if (x.n > PART_ROWS) expect(x.port_lo).toBe(x.port_hi);
          } else expect(x.lvl).toBeGreaterThanOrEqual(0);
        }
        // the parts of an hour never overlap: a port is in one of them
        for (const list of parts.values()) for (let i = 1; i < list.length; i++) expect(list[i]!.port_lo).toBeGreaterThan(list[i - 1]!.port_hi);
        expect(parts.size).toBeGreaterThan(20);
        expectExactPortSets(r.file.db);
        // no level holds a full set of pieces (they were merged into the next)
        const full = r.file.db.prepare(`SELECT count(*) FROM (SELECT nat_ip, hour, lvl FROM rec WHERE lvl >= 0 GROUP BY nat_ip, hour, lvl HAVING count(*) >= ${FANOUT})`).pluck().get();
        expect(full).toBe(0);
      } finally {
        r.close();
      }
    }
  });

  it('keeps the port set of each closed hour exact, with late records beside its parts in a day still written', () => {
    const day = dayOf(LIVE_END);
    const r = new DayReader(join(dir, 'live', `${day}.db`), day);
    try {
      expect(expectExactPortSets(r.file.db)).toBeGreaterThan(0);
    } finally {
      r.close();
    }
  });

  it('answers exactly like reading every row, for random ports, times, windows and protocols', () => {
    matchesOracle(coldDir(), () => D0 + Math.floor(rnd() * 3 * DAY_MS), 100);
  });

  it('merges level by level: an hour written by many commits keeps fewer than FANOUT pieces a level', () => {
    const d = mkdtempSync(join(tmpdir(), 'megalog-levels-'));
    const day = dayOf(Date.now() + DAY_MS); // tomorrow: no hour of it is over, none is packed
    const store = new SqliteStore({ cold_storage_dir: d, db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });
    try {
      const t = dayStart(day) + 5 * HOUR_MS;
      const line = (end: number): DayLine => ({ end, payload: Buffer.from(`l${end}`), device: '192.0.2.1', time: t + end, status: 'records', vendor: 'mikrotik', reason: null, records: [{ vendor: 'mikrotik', event: 'session_create', proto: 'tcp', src_ip: '100.64.0.1', src_port: end, nat_ip: '203.0.113.9', nat_port: 1024 + (end % 50), nat_port_start: null, nat_port_end: null, dst_ip: null, dst_port: null, time: t + end, host: 'b' }] });
      for (let i = 1; i <= 300; i++) store.commitDay(day, [line(i)], i);
      const f = store.day(day);
      const levels = f.db.prepare('SELECT lvl, count(*) AS k, sum(n) AS n FROM rec GROUP BY lvl ORDER BY lvl').all();
      // 300 = 1·256 + 2·16 + 12: one piece of level 2, two of level 1, twelve of level 0
      expect(levels).toEqual([{ lvl: 0, k: 12, n: 12 }, { lvl: 1, k: 2, n: 32 }, { lvl: 2, k: 1, n: 256 }]);
      f.closeAllHours();
      // packed into parts of at most PART_ROWS records, a port never split
      expect(f.db.prepare('SELECT lvl, count(*) AS k, sum(n) AS n FROM rec GROUP BY lvl').all()).toEqual([{ lvl: -1, k: Math.ceil(300 / PART_ROWS), n: 300 }]);
    } finally {
      store.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});

/**
 * Each closed hour (one with parts) has a port set of PSET_SEGS rows holding exactly its records'
 * ports, those of late pieces beside its parts included; an hour still written has none. Returns
 * how many closed hours had late pieces.
 */
function expectExactPortSets(db: DayFile['db']): number {
  const want = new Map<string, Set<number>>();
  const closed = new Set<string>();
  const late = new Set<string>();
  const recs = db.prepare('SELECT nat_ip, hour, lvl, data FROM rec').all() as { nat_ip: number; hour: number; lvl: number; data: Buffer }[];
  for (const x of recs) {
    const k = `${x.nat_ip}|${x.hour}`;
    if (x.lvl === LVL_PART) closed.add(k);
    const p = new Part(x.data);
    if (!want.has(k)) want.set(k, new Set());
    for (let i = 0; i < p.n; i++) if (p.port(i) >= 0) want.get(k)!.add(p.port(i));
  }
  for (const x of recs) if (x.lvl >= 0 && closed.has(`${x.nat_ip}|${x.hour}`)) late.add(`${x.nat_ip}|${x.hour}`);
  const got = new Map<string, Set<number>>();
  for (const x of db.prepare('SELECT nat_ip, seg, hour, ports FROM pset').all() as { nat_ip: number; seg: number; hour: number; ports: Buffer }[]) {
    const k = `${x.nat_ip}|${x.hour}`;
    if (!got.has(k)) got.set(k, new Set());
    for (const o of decodeSegment(x.ports)) got.get(k)!.add(x.seg * PSET_SPAN + o);
  }
  expect([...got.keys()].sort()).toEqual([...closed].sort());
  for (const [k, ports] of got) expect([...ports].sort((a, b) => a - b)).toEqual([...want.get(k)!].sort((a, b) => a - b));
  expect(db.prepare('SELECT count(*) FROM pset').pluck().get()).toBe(closed.size * PSET_SEGS);
  return late.size;
}

/** 400 random ip:port lookups at times drawn by `at` answer as the oracle does; more than `nonEmpty` find something. */
function matchesOracle(cold: string, at: () => number, nonEmpty: number): void {
  const pool = new ReaderPool(cold);
  try {
    let found = 0;
    for (let i = 0; i < 400; i++) {
      const natIp = pick(NATS);
      const port = rnd() < 0.8 ? pick(PORTS) : 1024 + Math.floor(rnd() * 2000);
      const t = at();
      const windowSec = pick([1, 60, 600, 7200]);
      const proto = pick(['tcp', 'udp', 'icmp', null, null] as const);
      const a = forensicLookup({ natIp, natPort: port, at: t, windowSec, proto }, { cold_storage_dir: cold, timezone: 'UTC' }, pool);
      const want = oracle(cold, natIp, port, t, windowSec, proto);
      if (process.env.WALK_DEBUG && JSON.stringify(a.candidates.map(key).sort()) !== JSON.stringify(want)) console.log(a.candidates.map(key).sort(), want);
      expect(a.candidates.map(key).sort(), `${natIp}:${port} at ${new Date(t).toISOString()} ±${windowSec}s ${proto}`).toEqual(want);
      if (want.length) found++;
    }
    expect(found).toBeGreaterThan(nonEmpty);
  } finally {
    pool.close();
  }
}

describe('port walk of a day still being written', () => {
  it('answers exactly like reading every row, around the hours being written', () => {
    matchesOracle(join(dir, 'live'), () => (rnd() < 0.8 ? LIVE_DENSE_FROM + Math.floor(rnd() * (LIVE_END - LIVE_DENSE_FROM + HOUR_MS)) : D0 + Math.floor(rnd() * 3 * DAY_MS)), 150);
  });
});

describe('day files kept open between lookups (ReaderCache)', () => {
  it('sees what the committer wrote since, and lets go of a removed file', () => {
    const d = mkdtempSync(join(tmpdir(), 'megalog-readers-'));
    const store = new SqliteStore({ cold_storage_dir: d, db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });
    const readers = new ReaderCache(d);
    const cfg = { cold_storage_dir: d, timezone: 'UTC', readers };
    const t = Date.parse('2026-04-10T05:00:00Z');
    const line = (end: number, dev: string, port: number): DayLine => ({ end, payload: Buffer.from(`l${end}`), device: dev, time: t, status: 'records', vendor: 'mikrotik', reason: null, records: [{ vendor: 'mikrotik', event: 'session_create', proto: 'tcp', src_ip: '100.64.0.1', src_port: 1, nat_ip: '203.0.113.9', nat_port: port, nat_port_start: null, nat_port_end: null, dst_ip: null, dst_port: null, time: t, host: 'b' }] });
    try {
      store.commitDay('2026-04-10', [line(1, '192.0.2.1', 1000)], 1);
      expect(forensicLookup({ natIp: '203.0.113.9', natPort: 1000, at: t }, cfg).candidates[0]?.device).toBe('192.0.2.1');
      // a new device and port committed while the reader is cached
      store.commitDay('2026-04-10', [line(2, '192.0.2.7', 2000)], 2);
      expect(forensicLookup({ natIp: '203.0.113.9', natPort: 2000, at: t }, cfg).candidates[0]?.device).toBe('192.0.2.7');
      // the file removed (retention) and written anew: the cached reader is not used again
      store.close();
      for (const ext of ['', '-wal', '-shm']) rmSync(join(d, `2026-04-10.db${ext}`), { force: true });
      expect(forensicLookup({ natIp: '203.0.113.9', natPort: 2000, at: t }, cfg).verdict).toBe('no_data');
      const again = new SqliteStore({ cold_storage_dir: d, db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });
      again.commitDay('2026-04-10', [line(3, '192.0.2.9', 3000)], 3);
      again.close();
      expect(forensicLookup({ natIp: '203.0.113.9', natPort: 3000, at: t }, cfg).candidates[0]?.device).toBe('192.0.2.9');
    } finally {
      readers.close();
      store.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('a subscriber\'s walks share their hour reads (SharedHours)', () => {
  /** Every subscriber over random ranges, answered twice: with the day files' shared hour reads, and without them (a store without them, as ClickHouse). */
  function sameWithoutShared(cold: string, from: () => number): void {
    const proto = DayReader.prototype as unknown as Record<string, unknown>;
    const saved = { portsHourRows: proto.portsHourRows, dayBlocks: proto.dayBlocks };
    const ask = (src: string, lo: number, hi: number, p: string | null) => {
      const a = subscriberLookup({ srcIp: src, from: lo, to: hi, proto: p }, { cold_storage_dir: cold, timezone: 'UTC' });
      return a.mappings.map((c) => `${c.nat_ip}:${c.nat_port_start}-${c.nat_port_end} ${key(c)}`).sort();
    };
    let found = 0;
    for (let i = 0; i < 60; i++) {
      const src = `100.64.0.${1 + Math.floor(rnd() * 6)}`;
      const lo = from();
      const hi = lo + pick([HOUR_MS, 6 * HOUR_MS, DAY_MS, 2 * DAY_MS]);
      const p = pick(['tcp', null, null] as const);
      const shared = ask(src, lo, hi, p);
      Object.assign(proto, { portsHourRows: undefined, dayBlocks: undefined });
      try {
        expect(shared, `${src} ${new Date(lo).toISOString()} +${(hi - lo) / HOUR_MS} h ${p}`).toEqual(ask(src, lo, hi, p));
      } finally {
        Object.assign(proto, saved);
      }
      if (shared.length) found++;
    }
    expect(found).toBeGreaterThan(40);
  }

  it('answers as each port walked alone, over packed days', () => {
    sameWithoutShared(coldDir(), () => D0 - HOUR_MS + Math.floor(rnd() * 2 * DAY_MS));
  });

  it('answers as each port walked alone, around the hours being written', () => {
    sameWithoutShared(join(dir, 'live'), () => LIVE_DENSE_FROM - 6 * HOUR_MS + Math.floor(rnd() * 10 * HOUR_MS));
  });
});
