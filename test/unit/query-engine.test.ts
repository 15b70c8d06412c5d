// Ground truth: day files with known mappings (test/fixtures/query/world.ts) and the answer each
// forensic question must get — verdict, candidates, intervals.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forensicLookup, loginLookup, subscriberLookup, parseAnalystTime, QueryError, type QueryConfig } from '../../src/query/engine.js';
import { DayReader, READ_SQL } from '../../src/store/sqlite/read.js';
import { buildWorld, DEV_A, DEV_B, DEV_C, Z } from '../fixtures/query/world.js';

let dir: string;
let cfg: QueryConfig;
const TZ = 'America/Sao_Paulo';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'megalog-query-'));
  cfg = { cold_storage_dir: buildWorld(dir), timezone: TZ };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const look = (natIp: string, natPort: number | null, at: string, extra: { windowSec?: number; proto?: string } = {}) => forensicLookup({ natIp, natPort, at: Z(at), ...extra }, cfg);

describe('forensicLookup: public ip + port + time', () => {
  it('answers unique with the interval, device and original line, times in the configured zone', () => {
    const a = forensicLookup({ natIp: '203.0.113.7', natPort: 40312, at: parseAnalystTime('2026-03-05 10:11:12', TZ) }, cfg);
    expect(a.verdict).toBe('unique');
    expect(a.candidates).toHaveLength(1);
    const c = a.candidates[0]!;
    expect(c).toMatchObject({ src_ip: '100.64.0.10', src_port: 51000, nat_ip: '203.0.113.7', nat_port_start: 40312, nat_port_end: 40312, proto: 'tcp', device: DEV_A, kind: 'session', end_reason: 'reuse', count: 1 });
    expect(c.start).toBe('2026-03-05T10:11:00-03:00');
    expect(c.end).toBe('2026-03-05T12:00:00-03:00'); // reused by 100.64.0.99 at 15:00Z
    expect(c.raw).toBe('<134>bng session_create tcp 100.64.0.10:51000 -> 203.0.113.7:40312 at 2026-03-05T13:11:00');
    expect(a.query.at).toBe('2026-03-05T10:11:12-03:00');
    expect(a.days_used.map((d) => d.day)).toEqual(['2026-03-04', '2026-03-05']);
  });

  it('answers ambiguous when two subscribers held the port inside the window, with counts', () => {
    const a = look('203.0.113.7', 40000, '2026-03-05T12:00:20');
    expect(a.verdict).toBe('ambiguous');
    expect(a.candidates.map((c) => [c.src_ip, c.count, c.end_reason])).toEqual([
      ['100.64.0.20', 2, 'reuse'],
      ['100.64.0.21', 1, 'max_age'],
    ]);
    expect(a.candidates[0]!.end_ms).toBe(Z('2026-03-05T12:00:30'));
    // a window that ends before the reuse sees one subscriber
    expect(look('203.0.113.7', 40000, '2026-03-05T12:00:05', { windowSec: 10 }).verdict).toBe('unique');
  });

  it('ends a session at its close: inside → unique, after (device alive) → no_match', () => {
    const a = look('203.0.113.7', 41000, '2026-03-05T09:03:00');
    expect(a.verdict).toBe('unique');
    expect(a.candidates[0]).toMatchObject({ src_ip: '100.64.0.30', proto: 'udp', end_reason: 'close', count: 2 });
    const b = look('203.0.113.7', 41000, '2026-03-05T09:10:00');
    expect(b).toMatchObject({ verdict: 'no_match', reason: 'owners_active', owners: [DEV_A] });
  });

  it('filters by protocol', () => {
    expect(look('203.0.113.7', 41000, '2026-03-05T09:03:00', { proto: 'tcp' }).verdict).toBe('no_match');
    expect(look('203.0.113.7', 41000, '2026-03-05T09:03:00', { proto: 'UDP' }).verdict).toBe('unique');
  });

  it('finds a port block allocated the day before and still open at midnight, until its release', () => {
    const a = look('198.51.100.1', 1300, '2026-03-05T01:00:00');
    expect(a.verdict).toBe('unique');
    expect(a.candidates[0]).toMatchObject({ src_ip: '100.64.1.1', src_port: null, nat_port_start: 1024, nat_port_end: 1535, kind: 'block', end_reason: 'release', day: '2026-03-04', device: DEV_B });
    expect(a.candidates[0]!.start_ms).toBe(Z('2026-03-04T22:00:00'));
    expect(a.candidates[0]!.end_ms).toBe(Z('2026-03-05T02:00:00'));
    expect(a.days_used.map((d) => d.day)).toEqual(['2026-03-04', '2026-03-05']);
    // first and last ports of the block count, the next port does not
    expect(look('198.51.100.1', 1024, '2026-03-05T01:00:00').verdict).toBe('unique');
    expect(look('198.51.100.1', 1535, '2026-03-05T01:00:00').verdict).toBe('unique');
    expect(look('198.51.100.1', 1536, '2026-03-05T01:00:00').verdict).not.toBe('unique');
    // after the release, with the device allocating other blocks around T: no_match
    expect(look('198.51.100.1', 1300, '2026-03-05T03:00:00')).toMatchObject({ verdict: 'no_match', owners: [DEV_B] });
  });

  it('keeps a block alive through an interim refresh, and drops an unrefreshed one after the max age', () => {
    const a = look('198.51.100.1', 2100, '2026-03-05T12:00:00');
    expect(a.verdict).toBe('unique');
    expect(a.candidates[0]).toMatchObject({ src_ip: '100.64.1.3', count: 2, end_reason: 'max_age' });
    expect(a.candidates[0]!.end_ms).toBe(Z('2026-03-06T05:00:00'));
    const b = look('198.51.100.1', 3100, '2026-03-05T05:59:00');
    expect(b.verdict).toBe('unique');
    expect(b.candidates[0]!.end_ms).toBe(Z('2026-03-05T06:00:00'));
    expect(look('198.51.100.1', 3100, '2026-03-05T06:30:00').candidates).toHaveLength(0);
  });

  it('separates TCP and UDP holders of one block (protocol matters)', () => {
    expect(look('198.51.100.1', 4100, '2026-03-05T07:00:00', { proto: 'tcp' }).candidates.map((c) => c.src_ip)).toEqual(['100.64.1.4']);
    expect(look('198.51.100.1', 4100, '2026-03-05T07:00:00', { proto: 'udp' }).candidates.map((c) => c.src_ip)).toEqual(['100.64.1.5']);
    expect(look('198.51.100.1', 4100, '2026-03-05T07:00:00').verdict).toBe('ambiguous');
  });

  it('says no_data when the owner device went silent, no_match while it was talking (records or kept lines)', () => {
    expect(look('198.51.100.50', 6000, '2026-03-05T12:00:00')).toMatchObject({ verdict: 'no_data', reason: 'owners_silent', owners: [DEV_C], candidates: [] });
    expect(look('198.51.100.50', 6000, '2026-03-05T07:59:00')).toMatchObject({ verdict: 'no_match', owners: [DEV_C] });
    // only an unparsed line at 10:00:00 from device C: still proof it was sending
    expect(look('198.51.100.50', 6000, '2026-03-05T10:00:30').verdict).toBe('no_match');
    expect(look('198.51.100.50', 6000, '2026-03-05T10:01:30').verdict).toBe('no_data');
    // the 07:00 mapping holds (max age) even while the device is silent
    expect(look('198.51.100.50', 5000, '2026-03-05T12:00:00')).toMatchObject({ verdict: 'unique', candidates: [{ src_ip: '100.64.2.1', end_reason: 'max_age' }] });
  });

  it('says no_data for an address no device logged, and for days without files', () => {
    expect(look('192.0.2.200', 80, '2026-03-05T12:00:00')).toMatchObject({ verdict: 'no_data', reason: 'address_not_seen' });
    const a = look('203.0.113.7', 40312, '2025-01-01T12:00:00');
    expect(a).toMatchObject({ verdict: 'no_data', reason: 'no_day_files', days_used: [] });
    expect(a.days_missing).toEqual(['2024-12-31', '2025-01-01']);
  });

  it('finds lines around midnight from either side', () => {
    expect(look('203.0.113.8', 5555, '2026-03-05T00:00:20')).toMatchObject({ verdict: 'unique', candidates: [{ src_ip: '100.64.3.3', day: '2026-03-04' }] });
    expect(look('203.0.113.8', 5556, '2026-03-04T23:59:30')).toMatchObject({ verdict: 'unique', candidates: [{ src_ip: '100.64.3.4', day: '2026-03-05' }] });
    expect(look('203.0.113.8', 5556, '2026-03-04T23:59:30', { windowSec: 10 }).verdict).toBe('no_match');
  });

  it('answers a close without its create with an inexact start', () => {
    const a = look('203.0.113.7', 42000, '2026-03-05T16:59:00');
    expect(a.verdict).toBe('unique');
    expect(a.candidates[0]).toMatchObject({ src_ip: '100.64.0.40', start_exact: false, end_reason: 'close' });
  });

  it('answers DS-Lite mappings with the IPv6 inside address', () => {
    const a = look('203.0.113.10', 7000, '2026-03-05T16:00:30');
    expect(a).toMatchObject({ verdict: 'unique', candidates: [{ src_ip: '2001:db8::1', src_port: 6000 }] });
  });
});

describe('forensicLookup: public ip without port (STJ REsp 2.170.872)', () => {
  it('lists every inside address in the window with its counts', () => {
    const a = look('203.0.113.9', null, '2026-03-05T14:00:15');
    expect(a.verdict).toBe('ambiguous');
    expect(a.candidates.map((c) => [c.src_ip, c.count, c.mappings])).toEqual([
      ['100.64.4.1', 3, 3],
      ['100.64.4.2', 1, 1],
    ]);
    expect(a.candidates[0]).toMatchObject({ nat_port_start: 10001, nat_port_end: 10003, proto: null, kind: 'address' });
    expect(a.intervals).toBeUndefined();
    expect(forensicLookup({ natIp: '203.0.113.9', natPort: null, at: Z('2026-03-05T14:00:15'), intervals: true }, cfg).intervals).toHaveLength(4);
    expect(look('203.0.113.9', null, '2026-03-05T14:00:15', { proto: 'udp' }).candidates.map((c) => c.src_ip)).toEqual(['100.64.4.1']);
  });

  it('covers long windows (an interval of hours)', () => {
    const a = look('203.0.113.7', null, '2026-03-05T12:00:00', { windowSec: 3 * 3600 });
    const srcs = a.candidates.map((c) => c.src_ip);
    expect(srcs).toContain('100.64.0.20');
    expect(srcs).toContain('100.64.0.30');
    expect(srcs).toContain('100.64.0.10');
  });
});

describe('subscriberLookup: an inside address over a range', () => {
  it('lists each mapping with its interval, over two days', () => {
    const a = subscriberLookup({ srcIp: '100.64.0.10', from: Z('2026-03-04T12:00:00'), to: Z('2026-03-05T23:00:00') }, cfg);
    expect(a.mappings.map((m) => [m.nat_ip, m.nat_port_start, m.start_ms, m.end_ms, m.end_reason])).toEqual([
      ['203.0.113.7', 30000, Z('2026-03-04T20:00:00'), Z('2026-03-04T20:10:00'), 'close'],
      ['203.0.113.7', 40312, Z('2026-03-05T13:11:00'), Z('2026-03-05T15:00:00'), 'reuse'],
    ]);
    expect(a.truncated).toBe(false);
    const narrow = subscriberLookup({ srcIp: '100.64.0.10', from: Z('2026-03-05T00:00:00'), to: Z('2026-03-05T12:00:00') }, cfg);
    expect(narrow.mappings).toHaveLength(0);
  });

  it('finds port blocks and IPv6 subscribers (any spelling of the address)', () => {
    expect(subscriberLookup({ srcIp: '100.64.1.1', from: Z('2026-03-05T00:00:00'), to: Z('2026-03-05T01:00:00') }, cfg).mappings).toMatchObject([{ nat_port_start: 1024, nat_port_end: 1535, end_reason: 'release' }]);
    expect(subscriberLookup({ srcIp: '2001:DB8:0::1', from: Z('2026-03-05T15:00:00'), to: Z('2026-03-05T17:00:00') }, cfg).mappings).toMatchObject([{ nat_ip: '203.0.113.10', nat_port_start: 7000 }]);
  });

  it('refuses an end before the start', () => {
    expect(() => subscriberLookup({ srcIp: '100.64.0.10', from: Z('2026-03-05T12:00:00'), to: Z('2026-03-05T11:00:00') }, cfg)).toThrow(expect.objectContaining({ code: 'MEGALOG_ERR_QUERY_BAD_RANGE' }));
  });
});

describe('bad input gets a coded error in both languages', () => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(QueryError);
      const q = e as QueryError;
      expect(q.message_pt).toBeTruthy();
      expect(q.message_en).toBeTruthy();
      return q.code;
    }
    return null;
  };
  it('rejects malformed IPs, port 70000, bad windows and protocols', () => {
    expect(code(() => look('203.0.113.300', 80, '2026-03-05T12:00:00'))).toBe('MEGALOG_ERR_QUERY_BAD_IP');
    expect(code(() => look("1.2.3.4' OR 1=1 --", 80, '2026-03-05T12:00:00'))).toBe('MEGALOG_ERR_QUERY_BAD_IP');
    expect(code(() => look('203.0.113.7', 70000, '2026-03-05T12:00:00'))).toBe('MEGALOG_ERR_QUERY_BAD_PORT');
    expect(code(() => forensicLookup({ natIp: '203.0.113.7', natPort: '-1', at: 0 }, cfg))).toBe('MEGALOG_ERR_QUERY_BAD_PORT');
    expect(code(() => forensicLookup({ natIp: '203.0.113.7', natPort: 1, at: 0, windowSec: 'abc' }, cfg))).toBe('MEGALOG_ERR_QUERY_BAD_WINDOW');
    expect(code(() => forensicLookup({ natIp: '203.0.113.7', natPort: 1, at: 0, windowSec: 10 * 86400 }, cfg))).toBe('MEGALOG_ERR_QUERY_RANGE_TOO_LONG');
    expect(code(() => look('203.0.113.7', 80, '2026-03-05T12:00:00', { proto: 'tcp; DROP TABLE nat' }))).toBe('MEGALOG_ERR_QUERY_BAD_PROTO');
    expect(code(() => forensicLookup({ natIp: '203.0.113.7', natPort: 1, at: NaN }, cfg))).toBe('MEGALOG_ERR_QUERY_BAD_TIME');
  });

  it('parses times with offsets, reads zone-less times in the configured zone (never UTC), refuses garbage', () => {
    expect(parseAnalystTime('2026-03-05T10:11:12-03:00', TZ)).toBe(Z('2026-03-05T13:11:12'));
    expect(parseAnalystTime('2026-03-05 10:11:12', TZ)).toBe(Z('2026-03-05T13:11:12'));
    expect(parseAnalystTime('2026-03-05 10:11:12', 'UTC')).toBe(Z('2026-03-05T10:11:12'));
    expect(parseAnalystTime('05/03/2026 10:11:12 GMT-3', 'UTC')).toBe(Z('2026-03-05T13:11:12'));
    expect(parseAnalystTime('2026-03-05T13:11:12.250Z', TZ)).toBe(Z('2026-03-05T13:11:12.250'));
    expect(parseAnalystTime('2026-03-05T10:11+0530', TZ)).toBe(Z('2026-03-05T04:41:00'));
    for (const bad of ['yesterday', '2026-02-30 10:00:00', '2026-03-05 25:00:00', '2026-03-05T10:11:12 +99:00', '', '2026-03-05', '1710000000']) {
      expect(code(() => parseAnalystTime(bad, TZ))).toBe('MEGALOG_ERR_QUERY_BAD_TIME');
    }
    // São Paulo had DST until 2019: 2018-11-04 00:30 did not exist, 2019-02-16 23:30 happened twice
    expect(code(() => parseAnalystTime('2018-11-04 00:30:00', TZ))).toBe('MEGALOG_ERR_QUERY_AMBIGUOUS_TIME');
    expect(code(() => parseAnalystTime('2019-02-16 23:30:00', TZ))).toBe('MEGALOG_ERR_QUERY_AMBIGUOUS_TIME');
    expect(parseAnalystTime('2019-02-16 23:30:00-02:00', TZ)).toBe(Z('2019-02-17T01:30:00'));
    expect(code(() => parseAnalystTime('2026-03-05 10:00', 'Mars/Olympus'))).toBe('MEGALOG_ERR_QUERY_BAD_ZONE');
  });
});

describe('lookups are index descents, not scans', () => {
  it('reads every table of the day file through its key or an index, never a scan', () => {
    const r = new DayReader(join(cfg.cold_storage_dir, '2026-03-05.db'), '2026-03-05');
    try {
      for (const [q, sql] of Object.entries(READ_SQL)) {
        if (q === 'version' || q === 'snapshot') continue;
        const plan = r.plan(sql).join(' ');
        expect(plan, q).toMatch(/SEARCH/);
        expect(plan, q).not.toMatch(/SCAN|TEMP B-TREE/);
      }
      // one hour of an address: a range of the covering index, never the packed data
      expect(r.plan(READ_SQL.hour).join(' ')).toMatch(/SEARCH rec USING COVERING INDEX rec_key \(nat_ip=\? AND hour=\?\)/);
      expect(r.plan(READ_SQL.pset).join(' ')).toMatch(/SEARCH pset USING PRIMARY KEY \(nat_ip=\? AND seg=\?\)/);
      expect(r.plan(READ_SQL.blocks).join(' ')).toMatch(/SEARCH blk USING PRIMARY KEY \(nat_ip=\? AND nat_port>\? AND nat_port<\?\)/);
    } finally {
      r.close();
    }
  });
});

describe('the same answers whatever the layout of the records', () => {
  const dirs: string[] = [];
  const cfgs: Record<string, QueryConfig> = {};
  beforeAll(() => {
    for (const layout of ['trickle', 'parts'] as const) {
      const d = mkdtempSync(join(tmpdir(), `megalog-query-${layout}-`));
      dirs.push(d);
      cfgs[layout] = { cold_storage_dir: buildWorld(d, undefined, layout), timezone: TZ };
    }
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('answers from one piece an hour, from merged and overlapping pieces, and from packed parts alike, original lines included', () => {
    const levels = (c: QueryConfig) => {
      const r = new DayReader(join(c.cold_storage_dir, '2026-03-05.db'), '2026-03-05');
      try {
        return (r.file.db.prepare('SELECT DISTINCT lvl FROM rec ORDER BY lvl').pluck().all() as number[]).join(',');
      } finally {
        r.close();
      }
    };
    expect(levels(cfg)).toBe('0');
    // hours packed, then written again: parts and pieces in one hour
    expect(levels(cfgs.trickle!)).toMatch(/^-1,0/);
    expect(levels(cfgs.parts!)).toBe('-1');
    for (const [ip, port, at] of [
      ['203.0.113.7', 40312, '2026-03-05T13:11:12'],
      ['203.0.113.7', 40000, '2026-03-05T12:00:20'],
      ['198.51.100.1', 1300, '2026-03-05T01:00:00'],
      ['198.51.100.50', 6000, '2026-03-05T12:00:00'],
      ['203.0.113.7', 20500, '2026-03-05T08:20:40'],
      ['203.0.113.9', null, '2026-03-05T14:00:15'],
      ['203.0.113.7', null, '2026-03-05T09:00:00'],
    ] as const) {
      const a = forensicLookup({ natIp: ip, natPort: port, at: Z(at) }, cfg);
      for (const c of Object.values(cfgs)) {
        const b = forensicLookup({ natIp: ip, natPort: port, at: Z(at) }, c);
        const strip = (x: typeof a) => ({ ...x, days_used: x.days_used.map((d) => d.day) });
        expect(strip(b)).toEqual(strip(a));
      }
    }
    for (const c of Object.values(cfgs)) {
      const s = subscriberLookup({ srcIp: '100.64.0.10', from: Z('2026-03-04T12:00:00'), to: Z('2026-03-05T23:00:00') }, c);
      expect(s.mappings.map((m) => m.nat_port_start)).toEqual([30000, 40312]);
    }
  });
});

describe('subscriber identity and destination (#16)', () => {
  it('names the login the line gave, as the subscriber of the candidate (source log), with the destination', () => {
    const a = look('203.0.113.20', 41001, '2026-03-05T14:00:30');
    expect(a.verdict).toBe('unique');
    expect(a.candidates[0]).toMatchObject({ src_ip: '100.64.0.30', dst_ip: '198.51.100.82', dst_port: 80, subscriber: { login: 'cliente30', mac: null, nas: null, session_start: null, session_end: null, source: 'log' } });
    expect(a.narrowed).toBeNull();
    // a line without a login: no subscriber
    expect(look('203.0.113.7', 40312, '2026-03-05T13:11:30').candidates[0]!.subscriber).toBeNull();
  });

  it('narrows an EDM answer from ambiguous to unique by the destination, and says so', () => {
    const both = look('203.0.113.20', 41000, '2026-03-05T12:00:10');
    expect(both.verdict).toBe('ambiguous');
    const a = forensicLookup({ natIp: '203.0.113.20', natPort: 41000, at: Z('2026-03-05T12:00:10'), dstIp: '198.51.100.80', dstPort: '443' }, cfg);
    expect(a.verdict).toBe('unique');
    expect(a.candidates.map((c) => [c.src_ip, c.subscriber?.login, c.end_reason])).toEqual([['100.64.0.30', 'cliente30', 'max_age']]);
    expect(a.query).toMatchObject({ dst_ip: '198.51.100.80', dst_port: 443 });
    expect(a.narrowed).toEqual({ dst_ip: '198.51.100.80', dst_port: 443, inside_without: 2, candidates_without: 2 });
    const b = forensicLookup({ natIp: '203.0.113.20', natPort: 41000, at: Z('2026-03-05T12:00:10'), dstIp: '198.51.100.81' }, cfg);
    expect(b.candidates.map((c) => c.src_ip)).toEqual(['100.64.0.31']);
    // a port both destinations share narrows nothing; an IP-only query narrows too
    expect(forensicLookup({ natIp: '203.0.113.20', natPort: 41000, at: Z('2026-03-05T12:00:10'), dstPort: 443 }, cfg).verdict).toBe('ambiguous');
    const ipOnly = forensicLookup({ natIp: '203.0.113.20', at: Z('2026-03-05T12:00:10'), dstIp: '198.51.100.81' }, cfg);
    expect(ipOnly.candidates.map((c) => c.src_ip)).toEqual(['100.64.0.31']);
    expect(() => forensicLookup({ natIp: '203.0.113.20', natPort: 41000, at: Z('2026-03-05T12:00:10'), dstIp: 'nope' }, cfg)).toThrow(QueryError);
  });

  it('answers what a login held over a range, and not what its address held under another login', () => {
    const a = loginLookup({ login: 'cliente30', from: Z('2026-03-05T11:00:00'), to: Z('2026-03-05T23:00:00') }, cfg);
    expect(a.inside).toEqual(['100.64.0.30']);
    expect(a.mappings.map((c) => [c.nat_ip, c.nat_port_start, c.subscriber?.login])).toEqual([
      ['203.0.113.20', 41000, 'cliente30'],
      ['203.0.113.20', 41001, 'cliente30'],
    ]);
    const b = loginLookup({ login: 'cliente77', from: Z('2026-03-05T11:00:00'), to: Z('2026-03-05T23:00:00') }, cfg);
    expect(b.mappings.map((c) => c.nat_port_start)).toEqual([41002]);
    expect(loginLookup({ login: 'nobody', from: Z('2026-03-05T11:00:00'), to: Z('2026-03-05T23:00:00') }, cfg).mappings).toEqual([]);
    expect(() => loginLookup({ login: 'a\u0000b', from: 0, to: 1 }, cfg)).toThrow(QueryError);
    expect(() => loginLookup({ login: 'x'.repeat(65), from: 0, to: 1 }, cfg)).toThrow(QueryError);
  });
});
