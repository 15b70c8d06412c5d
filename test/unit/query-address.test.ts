// IP-only answers (src/query/address.ts: create-only keys folded on plain arrays, the rest through
// Timelines) and subscriber lookups (day readers focused on the subscriber's ports) give exactly the
// answer of feeding the interval rules every row: random days mixing create-only keys, keys with
// closes, port blocks, portless records, IPv6 inside addresses, rows without an inside address and
// late lines into sealed hours, checked against oracles that read every row.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventKind, NatRecord } from '../../src/parse/types.js';
import { fillRaw, forensicLookup, LOOKBACK_MS, rawText, ReaderCache, ReaderPool, subscriberLookup, type Candidate } from '../../src/query/engine.js';
import { Timelines, toEvent, type Interval } from '../../src/query/intervals.js';
import { protoMatches } from '../../src/query/walk.js';
import { DAY_MS, dayOf, dayStart, ipToDb, protoCode, protoName } from '../../src/store/codes.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { commitWithLateLines } from '../helpers/late.js';
import type { NatRow } from '../../src/store/store.js';
import { DayReader } from '../../src/store/sqlite/read.js';
import { HOUR_MS } from '../../src/store/sqlite/schema.js';

const D0 = Date.parse('2026-04-10T00:00:00Z');
const NATS = ['203.0.113.1', '203.0.113.2'];
const SRCS = ['100.64.0.1', '100.64.0.2', '100.64.0.3', '100.64.0.4', '100.64.0.5', '2001:db8::7'];
let dir: string;
let cold: string;
let seed = Number(process.env.ADDRESS_SEED ?? 11);
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed / 2147483648);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

/** Mostly create-only sessions on many ports (MikroTik), some keys that also log closes, some blocks. */
function record(t: number): NatRecord {
  const nat = pick(NATS);
  const src = rnd() < 0.02 ? null : pick(SRCS);
  const u = rnd();
  if (u < 0.06) {
    // a block event that names no port at all (F5 LSN_PB_* without a range) is stored at port −1
    const start = rnd() < 0.15 ? null : pick([1024, 1088, 2000]);
    return { vendor: 'juniper-srx', event: rnd() < 0.3 ? 'block_release' : 'block_alloc', proto: pick(['tcp', null] as const), src_ip: src, src_port: null, nat_ip: nat, nat_port: null, nat_port_start: start, nat_port_end: start == null ? null : start + pick([0, 63]), dst_ip: null, dst_port: null, time: t, host: 'b' };
  }
  // ports 2000–2007 also see closes; 1024–1123 only creates; a few records have no port (ICMP without id)
  const closing = u < 0.3;
  const event: EventKind = closing && rnd() < 0.4 ? pick(['session_close', 'mapping_delete'] as const) : pick(['session_create', 'session_create', 'mapping_create'] as const);
  const port = rnd() < 0.02 ? null : closing ? 2000 + Math.floor(rnd() * 8) : 1024 + Math.floor(rnd() * 100);
  return { vendor: 'mikrotik', event, proto: port == null ? 'icmp' : pick(['tcp', 'tcp', 'udp', 'icmp'] as const), src_ip: src, src_port: rnd() < 0.05 ? null : 1000 + Math.floor(rnd() * 3), nat_ip: nat, nat_port: port, nat_port_start: null, nat_port_end: null, dst_ip: '198.18.0.1', dst_port: pick([443, 53]), time: t, host: 'b' };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'megalog-address-'));
  cold = join(dir, 'cold');
  const store = new SqliteStore({ cold_storage_dir: cold, db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });
  const recs: NatRecord[] = [];
  for (let t = D0 + 30_000; t < D0 + 3 * DAY_MS; t += Math.floor(rnd() * (rnd() < 0.03 ? 4 * HOUR_MS : 6 * 60_000))) recs.push(record(t));
  commitWithLateLines(store, recs, { rnd, lateShare: 0.08, lateMinMs: HOUR_MS, lateSpreadMs: 3 * HOUR_MS, payload: (r, pos) => `line ${pos} ${JSON.stringify(r)}` });
  store.close();
});
afterAll(() => { if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true }); else console.log('KEPT', cold); });

/** Every interval of natIp's rows (those covering `port` when given) over the days [first, last]. */
function everyRow(natIp: string, first: number, last: number, want: number | null, port: number | null = null): { ivs: Interval[]; readers: DayReader[] } {
  const tl = new Timelines();
  const readers: DayReader[] = [];
  for (let d = dayStart(dayOf(first)); d <= last; d += DAY_MS) {
    const r = DayReader.open(cold, dayOf(d));
    if (!r) continue;
    readers.push(r);
    const nat = ipToDb(natIp)!;
    const mine = [...r.file.allRows()].filter((x) => (typeof nat === 'number' ? x.nat_ip === nat : Buffer.isBuffer(x.nat_ip) && nat.equals(x.nat_ip)));
    for (const row of mine.sort((a, b) => a.t - b.t || a.nat_port - b.nat_port || a.id - b.id)) {
      if (port != null && !(row.port_end != null ? row.nat_port <= port && row.port_end >= port : row.nat_port === port)) continue;
      if (!protoMatches(want, row.code)) continue;
      const ev = toEvent(row, r);
      if (ev) tl.push(ev);
    }
  }
  return { ivs: tl.finish(), readers };
}

/** The IP-only answer as the rules give it: intervals overlapping the window, grouped by inside address. */
function ipOracle(natIp: string, at: number, windowSec: number, proto: string | null): string[] {
  const lo = at - windowSec * 1000;
  const hi = at + windowSec * 1000;
  const { ivs, readers } = everyRow(natIp, lo - LOOKBACK_MS, dayStart(dayOf(hi)), proto == null ? null : protoCode(proto));
  const by = new Map<string, Interval[]>();
  for (const iv of ivs.filter((i) => i.start <= hi && i.end >= lo)) {
    const k = iv.holder.split('|')[0]!;
    by.set(k, [...(by.get(k) ?? []), iv]);
  }
  const out: string[] = [];
  for (const [src, list] of by) {
    // the representative: first by start, end, first record (time, port, protocol, id)
    const rep = [...list].sort((a, b) => a.start - b.start || a.end - b.end || a.first.t - b.first.t || a.first.row.nat_port - b.first.row.nat_port || (a.first.row.code % 1024) - (b.first.row.code % 1024) || a.first.row.id - b.first.row.id || a.first.reader.start - b.first.reader.start)[0]!;
    const ports = list.filter((iv) => iv.first.row.nat_port >= 0);
    const srcPorts = new Set(list.map((iv) => (iv.kind === 'block' ? null : iv.first.row.src_port)));
    const protos = new Set(list.map((iv) => iv.first.row.code % 1024));
    const reasons = new Set(list.map((iv) => iv.end_reason));
    out.push(line({
      src_ip: src,
      src_port: srcPorts.size === 1 ? [...srcPorts][0]! : null,
      nat_port_start: ports.length ? Math.min(...ports.map((iv) => iv.first.row.nat_port)) : null,
      nat_port_end: ports.length ? Math.max(...ports.map((iv) => (iv.kind === 'block' ? (iv.first.row.port_end ?? iv.first.row.nat_port) : iv.first.row.nat_port))) : null,
      proto: protos.size === 1 ? protoName([...protos][0]!) : null,
      start_ms: Math.min(...list.map((iv) => iv.start)),
      end_ms: Math.max(...list.map((iv) => iv.end)),
      count: list.reduce((n, iv) => n + iv.count, 0),
      mappings: list.length,
      start_exact: list.every((iv) => iv.start_exact),
      end_reason: reasons.size === 1 ? [...reasons][0]! : 'mixed',
      day: rep.first.reader.day,
      raw: rawText(rep.first.reader.rawOf(rep.first.row)),
    }));
  }
  for (const r of readers) r.close();
  return out.sort();
}

const line = (c: Pick<Candidate, 'src_ip' | 'src_port' | 'nat_port_start' | 'nat_port_end' | 'proto' | 'start_ms' | 'end_ms' | 'count' | 'mappings' | 'start_exact' | 'end_reason' | 'day' | 'raw'>) =>
  `${c.src_ip} sp=${c.src_port} ports=${c.nat_port_start}-${c.nat_port_end} ${c.proto} ${c.start_ms}-${c.end_ms} n=${c.count} m=${c.mappings} exact=${c.start_exact} ${c.end_reason} ${c.day} ${c.raw}`;

/** What srcIp held over [from, to] as the rules give it: every key it used, each from every row of its address. */
function subscriberOracle(srcIp: string, from: number, to: number): string[] {
  const keys = new Set<string>();
  for (let d = dayStart(dayOf(from - LOOKBACK_MS)); d <= to; d += DAY_MS) {
    const r = DayReader.open(cold, dayOf(d));
    if (!r) continue;
    const src = ipToDb(srcIp)!;
    const rows = [...r.file.allRows()].filter((x) => x.src_ip != null && (typeof src === 'number' ? x.src_ip === src : Buffer.isBuffer(x.src_ip) && src.equals(x.src_ip)));
    // Portless records (ICMP without id, nat_port −1) included.
    for (const row of rows) if (r.start + row.t >= from - LOOKBACK_MS && r.start + row.t <= to) keys.add(`${row.nat_ip}|${row.nat_port}`);
    r.close();
  }
  const out: string[] = [];
  for (const k of keys) {
    const [nat, port] = k.split('|').map(Number) as [number, number];
    const natIp = `${nat >>> 24}.${(nat >>> 16) & 255}.${(nat >>> 8) & 255}.${nat & 255}`;
    // through the day after `to` (where a port walk may look for an interval's end)
    const { ivs, readers } = everyRow(natIp, from - LOOKBACK_MS, dayStart(dayOf(to)) + DAY_MS, null, port);
    for (const iv of ivs) {
      if (iv.holder.split('|')[0] !== srcIp || iv.start > to || iv.end < from) continue;
      const row = iv.first.row;
      out.push(`${natIp}:${row.nat_port}${iv.kind === 'block' ? `-${row.port_end ?? row.nat_port}` : ''} ${iv.kind} ${iv.holder} ${iv.start}-${iv.end} ${iv.end_reason} n=${iv.count} exact=${iv.start_exact} ${rawText(iv.first.reader.rawOf(row))}`);
    }
    for (const r of readers) r.close();
  }
  return [...new Set(out)].sort();
}

const mapping = (c: Candidate) => `${c.nat_ip}:${c.nat_port_start ?? -1}${c.kind === 'block' ? `-${c.nat_port_end ?? c.nat_port_start ?? -1}` : ''} ${c.kind} ${c.kind === 'block' ? c.src_ip : `${c.src_ip}|${c.src_port ?? ''}`} ${c.start_ms}-${c.end_ms} ${c.end_reason} n=${c.count} exact=${c.start_exact} ${c.raw}`;

describe('IP-only answers', () => {
  it('group exactly the intervals of every row, for random times, windows and protocols', () => {
    const pool = new ReaderPool(cold);
    try {
      let many = 0;
      for (let i = 0; i < 150; i++) {
        const natIp = pick(NATS);
        const at = D0 + Math.floor(rnd() * 3 * DAY_MS);
        const windowSec = pick([1, 60, 600, 7200]);
        const proto = pick(['tcp', 'udp', 'icmp', null, null] as const);
        const a = forensicLookup({ natIp, at, windowSec, proto }, { cold_storage_dir: cold, timezone: 'UTC' }, pool);
        const want = ipOracle(natIp, at, windowSec, proto);
        expect(a.candidates.map(line).sort(), `${natIp} at ${new Date(at).toISOString()} ±${windowSec}s ${proto}`).toEqual(want);
        if (want.length > 2) many++;
      }
      expect(many).toBeGreaterThan(50);
    } finally {
      pool.close();
    }
  });

  it('read original lines later when asked to (raw: false, then fillRaw), the same lines', () => {
    const readers = new ReaderCache(cold);
    const cfg = { cold_storage_dir: cold, timezone: 'UTC', readers };
    try {
      const q = { natIp: NATS[0]!, at: D0 + DAY_MS + 5 * HOUR_MS, windowSec: 600 };
      const now = forensicLookup(q, cfg);
      const later = forensicLookup({ ...q, raw: false }, cfg);
      expect(later.candidates.length).toBeGreaterThan(1);
      expect(later.candidates.every((c) => c.raw === '')).toBe(true);
      fillRaw(later.candidates, cfg);
      expect(later.candidates).toEqual(now.candidates);
    } finally {
      readers.close();
    }
  });
});

/** A store of `recs` under dir/name, committed in time order (no late lines); its cold directory. */
function storeOf(name: string, recs: NatRecord[]): string {
  const at = join(dir, name);
  const store = new SqliteStore({ cold_storage_dir: at, db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });
  commitWithLateLines(store, recs, { rnd: () => 0.5, lateShare: 0, lateMinMs: 0, lateSpreadMs: 0, payload: (r, pos) => `${name} ${pos} ${JSON.stringify(r)}` });
  store.close();
  return at;
}

/** Runs `fn` with the oracles (which read `cold`) and kept readers on the store at `at`. */
function onStore(at: string, fn: (readers: ReaderCache) => void): void {
  const saved = cold;
  cold = at;
  const readers = new ReaderCache(at);
  try {
    fn(readers);
  } finally {
    readers.close();
    cold = saved;
  }
}

describe('IP-only answers at the fast path\'s edges', () => {
  // Hand-built create-only keys (MikroTik) around the rules' boundaries, checked against the oracle
  // at windows ending or starting exactly on interval bounds.
  const M = LOOKBACK_MS;
  const NAT = '198.51.100.9';
  const T0 = D0 + 6 * HOUR_MS;
  let edgeCold: string;
  const s = (t: number, port: number | null, src: string | null, srcPort: number | null, event: EventKind = 'session_create', proto: 'tcp' | 'udp' = 'tcp', vendor: 'mikrotik' | 'juniper-srx' = 'mikrotik'): NatRecord => ({ vendor, event, proto, src_ip: src, src_port: srcPort, nat_ip: NAT, nat_port: event.startsWith('block') ? null : port, nat_port_start: event.startsWith('block') ? port : null, nat_port_end: event.startsWith('block') ? port! + 63 : null, dst_ip: '198.18.0.1', dst_port: 443, time: t, host: 'e' });
  const recs = [
    // one holder, refreshed exactly at the max age (one interval), then again just past it (a second)
    s(T0, 3000, '100.64.1.1', 5000), s(T0 + 10_000, 3000, '100.64.1.1', 5000), s(T0 + 10_000 + M, 3000, '100.64.1.1', 5000), s(T0 + 10_001 + 2 * M, 3000, '100.64.1.1', 5000),
    // three holders of one key in one millisecond (same inside address, two ports; then another address)
    s(T0 + 5_000, 3001, '100.64.1.2', 5000), s(T0 + 5_000, 3001, '100.64.1.2', 5001), s(T0 + 5_000, 3001, '100.64.1.3', 5000), s(T0 + 9_000, 3001, '100.64.1.3', 5000),
    // the same holder back after another one, and IPv6 inside addresses with and without a port
    s(T0 + 1_000, 3002, '100.64.1.4', 7000, 'session_create', 'udp'), s(T0 + 2_000, 3002, '2001:db8::9', null, 'session_create', 'udp'), s(T0 + 3_000, 3002, '100.64.1.4', 7000, 'session_create', 'udp'),
    s(T0 + 4_000, 3003, '2001:db8::9', 40000, 'mapping_create'), s(T0 + 4_500, 3003, '2001:db8::9', 40000, 'session_create'),
    // a block and a session of the same inside address with the same first port, protocol and time
    s(T0 + 20_000, 3100, '100.64.1.5', null, 'block_alloc', 'tcp', 'juniper-srx'), s(T0 + 20_000, 3100, '100.64.1.5', 6000),
    // a key with two rows on the day before the window's day and one after midnight
    s(D0 + DAY_MS - 1_000, 3004, '100.64.1.6', 5000), s(D0 + DAY_MS + 1_000, 3004, '100.64.1.6', 5000),
  ].sort((a, b) => a.time! - b.time!);
  beforeAll(() => {
    edgeCold = storeOf('edge', recs);
  });

  it('give the oracle\'s answer at windows on every record and interval bound', () => {
    onStore(edgeCold, (readers) => {
      const times = new Set<number>();
      for (const r of recs) for (const d of [0, M]) for (const e of [-1, 0, 1]) times.add(r.time! + d + e);
      let checked = 0;
      for (const at of times) {
        for (const windowSec of [0, 1]) {
          const want = ipOracle(NAT, at, windowSec, null);
          const a = forensicLookup({ natIp: NAT, at, windowSec }, { cold_storage_dir: edgeCold, timezone: 'UTC', readers });
          expect(a.candidates.map(line).sort(), `${new Date(at).toISOString()} ±${windowSec}s`).toEqual(want);
          if (want.length) checked++;
        }
      }
      expect(checked).toBeGreaterThan(50);
    });
  });
});

describe('IP-only answers on a dense address', () => {
  // Thousands of opens of one address in one file: ipOpens' arrays grow several times during the scan,
  // and IPv6 holders are numbered across two files.
  const NAT = '198.51.100.77';
  const HOLDERS = ['100.64.2.1', '100.64.2.2', '100.64.2.3', '2001:db8::1', '2001:db8::2'];
  let denseCold: string;
  beforeAll(() => {
    let t = D0 + DAY_MS - 20 * 60_000;
    const recs: NatRecord[] = [];
    for (let i = 0; i < 5000; i++, t += 1 + Math.floor(rnd() * 700)) {
      recs.push({ vendor: 'mikrotik', event: 'session_create', proto: pick(['tcp', 'udp'] as const), src_ip: pick(HOLDERS), src_port: rnd() < 0.1 ? null : 1000 + Math.floor(rnd() * 2), nat_ip: NAT, nat_port: 4000 + Math.floor(rnd() * 300), nat_port_start: null, nat_port_end: null, dst_ip: '198.18.0.1', dst_port: 443, time: t, host: 'd' });
    }
    denseCold = storeOf('dense', recs);
  });

  it('give the oracle\'s answer', () => {
    onStore(denseCold, (readers) => {
      for (let i = 0; i < 12; i++) {
        const at = D0 + DAY_MS - 10 * 60_000 + Math.floor(rnd() * 50 * 60_000);
        const windowSec = pick([1, 60, 600]);
        const want = ipOracle(NAT, at, windowSec, null);
        const a = forensicLookup({ natIp: NAT, at, windowSec }, { cold_storage_dir: denseCold, timezone: 'UTC', readers });
        expect(a.candidates.map(line).sort(), `${new Date(at).toISOString()} ±${windowSec}s`).toEqual(want);
        expect(want.length).toBeGreaterThan(3);
      }
    });
  });
});

describe('subscriber lookups', () => {
  it('list exactly the intervals of every row of each key the subscriber used', () => {
    const readers = new ReaderCache(cold);
    try {
      let total = 0;
      for (let i = 0; i < 12; i++) {
        const srcIp = pick(SRCS);
        const from = D0 + Math.floor(rnd() * 2 * DAY_MS);
        const to = from + pick([HOUR_MS, 6 * HOUR_MS, DAY_MS]);
        const a = subscriberLookup({ srcIp, from, to }, { cold_storage_dir: cold, timezone: 'UTC', readers });
        const want = subscriberOracle(srcIp, from, to);
        expect(a.mappings.map(mapping).sort(), `${srcIp} ${new Date(from).toISOString()} → ${new Date(to).toISOString()}`).toEqual(want);
        total += want.length;
      }
      expect(total).toBeGreaterThan(100);
    } finally {
      readers.close();
    }
  });
});
