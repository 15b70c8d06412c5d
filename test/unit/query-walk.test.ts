// The hour-by-hour port walk (src/query/walk.ts over the port summary of store/sqlite/ports.ts) gives
// exactly the answer of reading every record of the address: random days with heavy port reuse, all
// protocol classes, closes, port blocks and late lines into sealed hours, checked against an oracle
// that feeds the interval rules every row.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventKind, NatRecord } from '../../src/parse/types.js';
import { forensicLookup, LOOKBACK_MS, ReaderCache, ReaderPool, type Candidate } from '../../src/query/engine.js';
import { Timelines, toEvent } from '../../src/query/intervals.js';
import { protoMatches } from '../../src/query/walk.js';
import { DAY_MS, dayOf, dayStart, ipToDb, protoCode } from '../../src/store/codes.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { DayFile, type DayLine } from '../../src/store/sqlite/dayfile.js';
import { commitWithLateLines } from '../helpers/late.js';
import { dayMask, hasPort, CLOSE_GRACE_MS } from '../../src/store/sqlite/ports.js';
import type { NatRow } from '../../src/store/store.js';
import { DayReader } from '../../src/store/sqlite/read.js';
import { HOUR_MS } from '../../src/store/sqlite/schema.js';

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
  // The same days as older writers and a live day leave them: without port_time, and with hours
  // 16–23 unsealed and 8–15 sealed without port_time (read whole, from nat, in both cases).
  for (const [name, change] of Object.entries(VARIANTS)) {
    mkdirSync(join(dir, name));
    for (const f of readdirSync(cold).filter((f) => f.endsWith('.db'))) {
      const src = new Database(join(cold, f), { readonly: true });
      src.exec(`VACUUM INTO '${join(dir, name, f)}'`);
      src.close();
      const db = new Database(join(dir, name, f));
      db.exec(change);
      db.close();
    }
  }
});
const LIVE_DENSE_FROM = D0 + 2 * DAY_MS + 8 * HOUR_MS;
const LIVE_END = D0 + 2 * DAY_MS + 14.5 * HOUR_MS;
const VARIANTS: Record<string, string> = {
  'no-port-time': 'DROP TABLE port_time',
  // (no piece rows either: a writer before them, which also wrote no nat_block)
  'partly-sealed': `UPDATE meta SET value = ${2 ** 16 - 1} WHERE key = 'port_hours'; UPDATE meta SET value = ${2 ** 8 - 1} WHERE key = 'port_time_hours'; DELETE FROM meta WHERE key = 'port_pieces'; DROP INDEX nat_block`,
  'no-block-index': 'DROP INDEX nat_block',
  // a file sealed by a writer before port_day
  'no-port-day': 'DROP TABLE port_day',
  // an older writer committed after port_day was written: port_day is behind, the reader must not trust it
  'stale-port-day': "DELETE FROM port_day WHERE part % 2 = 0; UPDATE meta SET value = value - 1 WHERE key = 'port_day_pos'",
};
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
    const rows = r.file.db.prepare('SELECT * FROM nat WHERE nat_ip = ? ORDER BY t, id').all(natDb) as NatRow[];
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

const popcount = (m: number) => {
  let n = 0;
  for (; m; m &= m - 1) n++;
  return n;
};

const key = (c: Candidate) => `${c.kind} ${c.kind === 'block' ? c.src_ip : `${c.src_ip}|${c.src_port ?? ''}`} ${c.start_ms}-${c.end_ms} ${c.end_reason} n=${c.count} exact=${c.start_exact}`;

describe('port walk over the hourly port summary', () => {
  it('seals past hours and keeps late lines in the summary', () => {
    const r = new DayReader(join(cold, '2026-04-10.db'), '2026-04-10');
    try {
      const sealed = Number(r.file.meta('port_hours'));
      expect(sealed).toBe(2 ** 24 - 1); // the day is over: every hour sealed
      // every (ip, port, hour) with a row is in the summary — including the held-back lines
      const rows = r.file.db.prepare('SELECT nat_ip, nat_port, t, code FROM nat WHERE nat_port >= 0').all() as { nat_ip: number; nat_port: number; t: number; code: number }[];
      expect(rows.length).toBeGreaterThan(50);
      for (const row of rows) {
        const ph = r.portHours(row.nat_ip, row.nat_port, 1);
        const h = Math.floor(row.t / HOUR_MS);
        const p = row.code % 1024;
        expect(ph.cls[p === 6 ? 0 : p === 17 ? 1 : 2] & (1 << h), `${row.nat_ip}:${row.nat_port} hour ${h}`).not.toBe(0);
        // …and port_time has the second of every row
        expect(r.portSeconds(row.nat_ip, row.nat_port, h), `${row.nat_ip}:${row.nat_port} at ${row.t}`).toContain(Math.floor((row.t - h * HOUR_MS) / 1000));
      }
      expect(Number(r.file.meta('port_time_hours'))).toBe(2 ** 24 - 1);
      // port_day was written when the day was over, and the lines that came after it were merged into it
      expect(Number(r.file.meta('port_day_pos'))).toBe(Number(r.file.meta('spool_pos')));
      const masks = r.file.db.prepare('SELECT nat_ip, part, cls, hours FROM port_day').all() as { nat_ip: number; part: number; cls: number; hours: Buffer }[];
      let bits = 0;
      for (const m of masks) for (let off = 0; off < 256; off++) bits += popcount(dayMask(m.hours, off));
      const cls = 'CASE code % 1024 WHEN 6 THEN 0 WHEN 17 THEN 1 ELSE 2 END';
      expect(bits).toBe(r.file.db.prepare(`SELECT count(*) FROM (SELECT DISTINCT nat_ip, nat_port, ${cls}, t / ${HOUR_MS} FROM nat WHERE nat_port >= 0)`).pluck().get());
      // …and nothing else: as many entries as distinct (ip, port, hour, second) of the rows
      const distinct = r.file.db.prepare('SELECT count(*) FROM (SELECT DISTINCT nat_ip, nat_port, t / 1000 FROM nat WHERE nat_port >= 0)').pluck().get();
      expect(r.file.db.prepare('SELECT sum(length(times)) / 3 FROM port_time').pluck().get()).toBe(distinct);
    } finally {
      r.close();
    }
  });

  it.each(['as written', ...Object.keys(VARIANTS)])('answers exactly like reading every row, for random ports, times, windows and protocols (%s)', (variant) => {
    matchesOracle(variant === 'as written' ? coldDir() : join(dir, variant), () => D0 + Math.floor(rnd() * 3 * DAY_MS), 100);
  });
});

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
      expect(a.candidates.map(key).sort(), `${natIp}:${port} at ${new Date(t).toISOString()} ±${windowSec}s ${proto}`).toEqual(want);
      if (want.length) found++;
    }
    expect(found).toBeGreaterThan(nonEmpty);
  } finally {
    pool.close();
  }
}

describe('port walk of a day still being written', () => {
  it('keeps every row of the written pieces of hours not sealed in their port_time rows', () => {
    const r = new DayReader(join(dir, 'live', '2026-04-12.db'), '2026-04-12');
    try {
      const sealed = Number(r.file.meta('port_hours'));
      const pieces = Number(r.file.meta('port_pieces'));
      // 14:30 is the last record: hours up to 13 sealed, pieces up to ~14:25 written
      expect(sealed).toBe(2 ** 14 - 1);
      expect(pieces).toBeGreaterThanOrEqual(14 * 12 + 4);
      const rows = r.file.db.prepare('SELECT nat_ip, nat_port, t FROM nat WHERE nat_port >= 0 AND t >= ? AND t < ?').all(14 * HOUR_MS, pieces * 5 * 60_000) as { nat_ip: number; nat_port: number; t: number }[];
      expect(rows.length).toBeGreaterThan(10);
      for (const row of rows) expect(r.pieceSeconds(row.nat_ip, row.nat_port, 14)!.seconds, `${row.nat_ip}:${row.nat_port} at ${row.t}`).toContain(Math.floor((row.t % HOUR_MS) / 1000));
      // the pieces of sealed hours are gone
      expect(r.file.db.prepare('SELECT count(*) FROM port_time WHERE hour >= 24 AND tpart < 14 * 12').pluck().get()).toBe(0);
      expect(r.file.db.prepare('SELECT count(*) FROM port_time WHERE hour >= 24').pluck().get()).toBeGreaterThan(0);
    } finally {
      r.close();
    }
  });

  it('answers exactly like reading every row, around the hours being written', () => {
    matchesOracle(join(dir, 'live'), () => (rnd() < 0.8 ? LIVE_DENSE_FROM + Math.floor(rnd() * (LIVE_END - LIVE_DENSE_FROM + HOUR_MS)) : D0 + Math.floor(rnd() * 3 * DAY_MS)), 150);
  });
});

describe('pieces of the hour being written', () => {
  const rec = (port: number, t: number): NatRecord => ({ vendor: 'mikrotik', event: 'session_create', proto: 'tcp', src_ip: '100.64.0.1', src_port: 1, nat_ip: '203.0.113.9', nat_port: port, nat_port_start: null, nat_port_end: null, dst_ip: null, dst_port: null, time: t, host: 'b' });
  const line = (end: number, r: NatRecord): DayLine => ({ end, payload: Buffer.from(`l${end}`), device: '192.0.2.1', time: r.time!, status: 'records', vendor: 'mikrotik', reason: null, records: [r] });
  const open = (d: string) => new SqliteStore({ cold_storage_dir: d, db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });

  it('stop at the wall clock: a line stamped minutes ahead does not cut the piece still running', () => {
    const d = mkdtempSync(join(tmpdir(), 'megalog-pieces-'));
    const now = Date.now();
    const day = dayOf(now);
    if (now - dayStart(day) < 20 * 60_000) return; // the first minutes of a UTC day have no piece to cut
    const store = open(d);
    try {
      store.commitDay(day, [line(1, rec(1000, now - 10 * 60_000)), line(2, rec(1001, now + 4 * 60_000))], 2);
      const f = new DayReader(join(d, `${day}.db`), day);
      const pieces = Number(f.file.meta('port_pieces'));
      f.close();
      expect(pieces * 5 * 60_000).toBeLessThanOrEqual(now - dayStart(day) - 60_000);
      expect(pieces).toBeGreaterThan(0);
    } finally {
      store.close();
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('are written again when a writer that does not keep them committed last (a downgrade, then this version)', () => {
    const d = mkdtempSync(join(tmpdir(), 'megalog-pieces-'));
    const day = '2026-04-10';
    const t0 = Date.parse(`${day}T10:00:00Z`);
    let store = open(d);
    try {
      store.commitDay(day, [line(1, rec(1000, t0)), line(2, rec(1001, t0 + 20 * 60_000))], 2);
      store.close();
      // an older writer: a row into the first written piece, spool_pos moved, pieces untouched
      const db = new Database(join(d, `${day}.db`));
      expect(Number(db.prepare("SELECT value FROM meta WHERE key = 'port_pieces'").pluck().get())).toBeGreaterThan(120);
      db.prepare('INSERT INTO nat (nat_ip, nat_port, t, id, code, device, src_ip, src_port) VALUES (?, 2000, ?, 999, 6, 1, ?, 1)').run(ipToDb('203.0.113.9'), 10 * HOUR_MS + 60_000, ipToDb('100.64.0.2'));
      db.prepare("UPDATE meta SET value = 3 WHERE key = 'spool_pos'").run();
      db.close();
      store = open(d);
      store.commitDay(day, [line(4, rec(1002, t0 + 21 * 60_000))], 4);
      store.close();
      const r = new DayReader(join(d, `${day}.db`), day);
      try {
        expect(r.pieceSeconds(ipToDb('203.0.113.9')!, 2000, 10)!.seconds).toEqual([60]);
        const a = forensicLookup({ natIp: '203.0.113.9', natPort: 2000, at: t0 + 60_000 }, { cold_storage_dir: d, timezone: 'UTC' });
        expect(a.candidates.map((c) => c.src_ip)).toEqual(['100.64.0.2']);
      } finally {
        r.close();
      }
    } finally {
      store.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('whole-day port summary (port_day)', () => {
  it('is written once the day is over, and takes the lines that arrive after it', () => {
    const store = new SqliteStore({ cold_storage_dir: join(dir, 'port-day'), db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });
    let pos = 0;
    const commit = (t: number, natPort: number, proto: string) => {
      const r: NatRecord = { vendor: 'mikrotik', event: 'session_create', proto, src_ip: '100.64.0.9', src_port: 5000, nat_ip: '203.0.113.9', nat_port: natPort, nat_port_start: null, nat_port_end: null, dst_ip: null, dst_port: null, time: t, host: 'b' };
      pos++;
      store.commitDay(dayOf(t), [{ end: pos, payload: Buffer.from(`line ${pos}`), device: '192.0.2.1', time: t, status: 'records', vendor: 'mikrotik', reason: null, records: [r] }], pos);
    };
    commit(D0 + 1 * HOUR_MS, 1024, 'tcp');
    // 200 ports of one 256-port part: stored dense (768 bytes), not as a list
    for (let p = 2048; p < 2248; p++) commit(D0 + 2 * HOUR_MS + p, p, 'tcp');
    commit(D0 + DAY_MS + 60_000, 1024, 'tcp'); // the next day: the first day is over, sealed and summarized
    const hoursOf = (port: number) => {
      const r = DayReader.open(join(dir, 'port-day'), '2026-04-10')!;
      try {
        expect(Number(r.file.meta('port_day_pos'))).toBe(Number(r.file.meta('spool_pos')));
        const ph = r.portHours(ipToDb('203.0.113.9')!, port, 1);
        return ph.cls.map((m) => Array.from({ length: 24 }, (_, h) => h).filter((h) => m & (1 << h)));
      } finally {
        r.close();
      }
    };
    expect(hoursOf(1024)).toEqual([[1], [], []]);
    expect(hoursOf(2100)).toEqual([[2], [], []]);
    const dense = new Database(join(dir, 'port-day', '2026-04-10.db'), { readonly: true });
    expect(dense.prepare('SELECT length(hours) FROM port_day WHERE part = 8 AND cls = 0').pluck().get()).toBe(768);
    dense.close();
    // late lines: a new hour of the same port, another port of the same part, another class
    commit(D0 + 7 * HOUR_MS, 1024, 'tcp');
    commit(D0 + 5 * HOUR_MS, 1030, 'udp');
    commit(D0 + 23 * HOUR_MS, 1024, 'icmp');
    commit(D0 + 9 * HOUR_MS, 2100, 'tcp'); // into the dense row
    store.close();
    expect(hoursOf(2100)).toEqual([[2, 9], [], []]);
    expect(hoursOf(2247)).toEqual([[2], [], []]);
    expect(hoursOf(2248)).toEqual([[], [], []]);
    expect(hoursOf(1024)).toEqual([[1, 7], [], [23]]);
    expect(hoursOf(1030)).toEqual([[], [5], []]);
    expect(hoursOf(1031)).toEqual([[], [], []]);
  });

  it('that fails (a full disk) leaves the hours sealed, is not tried again at every commit, and is not read', () => {
    const path = join(dir, 'port-day-fails.db');
    const f = new DayFile(path, '2026-04-10', { journalMode: 'WAL', synchronous: 'NORMAL', cacheSizeMiB: 16, maxPageCount: 0 });
    const r: NatRecord = { vendor: 'mikrotik', event: 'session_create', proto: 'tcp', src_ip: '100.64.0.9', src_port: 5000, nat_ip: '203.0.113.9', nat_port: 1024, nat_port_start: null, nat_port_end: null, dst_ip: null, dst_port: null, time: D0 + HOUR_MS, host: 'b' };
    f.commit([{ end: 1, payload: Buffer.from('line'), device: '192.0.2.1', time: D0 + HOUR_MS, status: 'records', vendor: 'mikrotik', reason: null, records: [r] }], 1);
    // every write to port_day now fails
    f.db.exec("CREATE TRIGGER no_room BEFORE INSERT ON port_day BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END");
    expect(() => f.closeAllHours()).toThrow(/disk is full/);
    expect(Number(f.meta('port_hours'))).toBe(2 ** 24 - 1);
    expect(() => f.closeAllHours()).not.toThrow(); // tried again minutes later, not now
    expect(f.meta('port_day_pos')).toBeUndefined();
    f.close();
    const reader = new DayReader(path, '2026-04-10');
    try {
      expect(reader.portHours(ipToDb('203.0.113.9')!, 1024, 1).cls[0]).toBe(1 << 1); // from port_seen
    } finally {
      reader.close();
    }
  });
});

describe('port summary encoding', () => {
  it('stores few ports as a sorted list and many as a bitmap, both answering membership', async () => {
    const d = mkdtempSync(join(tmpdir(), 'megalog-ports-'));
    try {
      const store = new SqliteStore({ cold_storage_dir: d, db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });
      const t0 = Date.parse('2026-04-10T05:00:00Z');
      const rec = (port: number, t: number): NatRecord => ({ vendor: 'mikrotik', event: 'session_create', proto: 'tcp', src_ip: '100.64.0.1', src_port: 1, nat_ip: '203.0.113.9', nat_port: port, nat_port_start: null, nat_port_end: null, dst_ip: null, dst_port: null, time: t, host: 'b' });
      // part 0 (ports 0–4095): 3 ports; part 1 (4096–8191): 1000 ports
      const ports = [7, 100, 4095, ...Array.from({ length: 1000 }, (_, i) => 4096 + i * 4)];
      const lines: DayLine[] = ports.map((p, i) => ({ end: i + 1, payload: Buffer.from(String(p)), device: 'x', time: t0, status: 'records', vendor: 'mikrotik', reason: null, records: [rec(p, t0)] }));
      // a line an hour later plus the grace seals hour 5
      lines.push({ end: lines.length + 1, payload: Buffer.from('later'), device: 'x', time: t0, status: 'records', vendor: 'mikrotik', reason: null, records: [rec(9, t0 + HOUR_MS + CLOSE_GRACE_MS)] });
      store.commitDay('2026-04-10', lines, lines.length);
      store.close();
      const db = new Database(join(d, '2026-04-10.db'), { readonly: true });
      const parts = db.prepare('SELECT part, length(ports) AS n, ports FROM port_seen WHERE hour = 5 ORDER BY part').all() as { part: number; n: number; ports: Buffer }[];
      db.close();
      expect(parts.map((p) => [p.part, p.n])).toEqual([[0, 6], [1, 512]]);
      for (const p of [7, 100, 4095]) expect(hasPort(parts[0]!.ports, p & 4095)).toBe(true);
      for (const p of [0, 8, 99, 101, 4094]) expect(hasPort(parts[0]!.ports, p)).toBe(false);
      expect(hasPort(parts[1]!.ports, 4)).toBe(true);
      expect(hasPort(parts[1]!.ports, 5)).toBe(false);
      // …and a reader's portHours, which tests bitmaps inside SQLite, agrees on every port of both parts
      const r = new DayReader(join(d, '2026-04-10.db'), '2026-04-10');
      try {
        const nat = ipToDb('203.0.113.9')!;
        const logged = new Set(ports);
        for (let port = 0; port < 8192; port++) expect((r.portHours(nat, port, 1).cls[0] >> 5) & 1, `port ${port}`).toBe(logged.has(port) ? 1 : 0);
      } finally {
        r.close();
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
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
