// The stores' conformance suite: the query engine's forensic cases (verdicts, intervals, port blocks
// across midnight, IP-only, subscriber, bulk) against the ground-truth world of
// test/fixtures/query/world.ts, written through a store's own commitDay. Run once per store:
// test/unit/store-conformance.test.ts (SQLite), test/scenario/clickhouse-store.test.ts (ClickHouse).
import { describe, expect, it } from 'vitest';
import { bulkLookup } from '../../src/query/bulk.js';
import { fillRaw, forensicLookup, loginLookup, subscriberLookup, type QueryConfig } from '../../src/query/engine.js';
import { answerBulk, type BulkItem } from '../../src/web/bulk/answer.js';
import { JsonChunks } from '../../src/web/routes/json-chunks.js';
import { LINES_PER_CHUNK, PackedRows, ROWS_PER_CHUNK, type BulkLine } from '../../src/web/routes/search-store.js';
import type { Candidate } from '../../src/query/engine.js';
import { DEV_A, DEV_B, DEV_C, Z } from '../fixtures/query/world.js';

/** `cfg()` gives the query config of a store holding writeWorld()'s scenario (called inside tests). */
export function forensicSuite(store: string, cfg: () => QueryConfig): void {
  const look = (natIp: string, natPort: number | null, at: string, extra: { windowSec?: number; proto?: string } = {}) => forensicLookup({ natIp, natPort, at: Z(at), ...extra }, cfg());

  describe(`conformance (${store}): public ip + port + time`, () => {
    it('answers unique with the interval, device and original line', () => {
      const a = look('203.0.113.7', 40312, '2026-03-05T13:11:12');
      expect(a.verdict).toBe('unique');
      expect(a.candidates).toHaveLength(1);
      expect(a.candidates[0]).toMatchObject({ src_ip: '100.64.0.10', src_port: 51000, nat_ip: '203.0.113.7', nat_port_start: 40312, nat_port_end: 40312, proto: 'tcp', device: DEV_A, kind: 'session', end_reason: 'reuse', count: 1 });
      expect(a.candidates[0]!.start).toBe('2026-03-05T10:11:00-03:00');
      expect(a.candidates[0]!.end).toBe('2026-03-05T12:00:00-03:00');
      expect(a.candidates[0]!.raw).toBe('<134>bng session_create tcp 100.64.0.10:51000 -> 203.0.113.7:40312 at 2026-03-05T13:11:00');
      expect(a.days_used.map((d) => d.day)).toEqual(['2026-03-04', '2026-03-05']);
    });

    it('answers ambiguous when two subscribers held the port inside the window, with counts', () => {
      const a = look('203.0.113.7', 40000, '2026-03-05T12:00:20');
      expect(a.verdict).toBe('ambiguous');
      expect(a.candidates.map((c) => [c.src_ip, c.count, c.end_reason])).toEqual([
        ['100.64.0.20', 2, 'reuse'],
        ['100.64.0.21', 1, 'max_age'],
      ]);
      expect(a.candidates[0]!.raw).toBe('=HYPERLINK("http://evil.example/")');
      expect(look('203.0.113.7', 40000, '2026-03-05T12:00:05', { windowSec: 10 }).verdict).toBe('unique');
    });

    it('ends a session at its close, and filters by protocol', () => {
      expect(look('203.0.113.7', 41000, '2026-03-05T09:03:00').candidates[0]).toMatchObject({ src_ip: '100.64.0.30', proto: 'udp', end_reason: 'close', count: 2 });
      expect(look('203.0.113.7', 41000, '2026-03-05T09:10:00')).toMatchObject({ verdict: 'no_match', reason: 'owners_active', owners: [DEV_A] });
      expect(look('203.0.113.7', 41000, '2026-03-05T09:03:00', { proto: 'tcp' }).verdict).toBe('no_match');
      expect(look('203.0.113.7', 41000, '2026-03-05T09:03:00', { proto: 'UDP' }).verdict).toBe('unique');
    });

    it('finds a port block allocated the day before and still open at midnight, until its release', () => {
      const a = look('198.51.100.1', 1300, '2026-03-05T01:00:00');
      expect(a.verdict).toBe('unique');
      expect(a.candidates[0]).toMatchObject({ src_ip: '100.64.1.1', src_port: null, nat_port_start: 1024, nat_port_end: 1535, kind: 'block', end_reason: 'release', day: '2026-03-04', device: DEV_B });
      expect(a.candidates[0]!.start_ms).toBe(Z('2026-03-04T22:00:00'));
      expect(a.candidates[0]!.end_ms).toBe(Z('2026-03-05T02:00:00'));
      expect(look('198.51.100.1', 1024, '2026-03-05T01:00:00').verdict).toBe('unique');
      expect(look('198.51.100.1', 1535, '2026-03-05T01:00:00').verdict).toBe('unique');
      expect(look('198.51.100.1', 1536, '2026-03-05T01:00:00').verdict).not.toBe('unique');
      expect(look('198.51.100.1', 1300, '2026-03-05T03:00:00')).toMatchObject({ verdict: 'no_match', owners: [DEV_B] });
    });

    it('keeps a block through an interim refresh, and separates TCP and UDP holders of one block', () => {
      expect(look('198.51.100.1', 2100, '2026-03-05T12:00:00').candidates[0]).toMatchObject({ src_ip: '100.64.1.3', count: 2, end_reason: 'max_age' });
      expect(look('198.51.100.1', 4100, '2026-03-05T07:00:00', { proto: 'tcp' }).candidates.map((c) => c.src_ip)).toEqual(['100.64.1.4']);
      expect(look('198.51.100.1', 4100, '2026-03-05T07:00:00', { proto: 'udp' }).candidates.map((c) => c.src_ip)).toEqual(['100.64.1.5']);
      expect(look('198.51.100.1', 4100, '2026-03-05T07:00:00').verdict).toBe('ambiguous');
    });

    it('says no_data when the owner went silent, no_match while it was talking (records or kept lines)', () => {
      expect(look('198.51.100.50', 6000, '2026-03-05T12:00:00')).toMatchObject({ verdict: 'no_data', reason: 'owners_silent', owners: [DEV_C], candidates: [] });
      expect(look('198.51.100.50', 6000, '2026-03-05T07:59:00')).toMatchObject({ verdict: 'no_match', owners: [DEV_C] });
      expect(look('198.51.100.50', 6000, '2026-03-05T10:00:30').verdict).toBe('no_match');
      expect(look('198.51.100.50', 6000, '2026-03-05T10:01:30').verdict).toBe('no_data');
      expect(look('198.51.100.50', 5000, '2026-03-05T12:00:00')).toMatchObject({ verdict: 'unique', candidates: [{ src_ip: '100.64.2.1', end_reason: 'max_age' }] });
    });

    it('says no_data for an address no device logged, and for days the store does not hold', () => {
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

    it('answers a close without its create with an inexact start, and DS-Lite with the IPv6 inside address', () => {
      expect(look('203.0.113.7', 42000, '2026-03-05T16:59:00').candidates[0]).toMatchObject({ src_ip: '100.64.0.40', start_exact: false, end_reason: 'close' });
      expect(look('203.0.113.10', 7000, '2026-03-05T16:00:30')).toMatchObject({ verdict: 'unique', candidates: [{ src_ip: '2001:db8::1', src_port: 6000 }] });
    });

    it('reads original lines later when asked to (the console: raw: false, then fillRaw)', () => {
      const a = forensicLookup({ natIp: '203.0.113.7', natPort: 40312, at: Z('2026-03-05T13:11:12'), raw: false }, cfg());
      expect(a.candidates[0]!.raw).toBe('');
      fillRaw(a.candidates, cfg());
      expect(a.candidates[0]!.raw).toBe('<134>bng session_create tcp 100.64.0.10:51000 -> 203.0.113.7:40312 at 2026-03-05T13:11:00');
    });
  });

  describe(`conformance (${store}): public ip without port`, () => {
    it('lists every inside address in the window with its counts', () => {
      const a = look('203.0.113.9', null, '2026-03-05T14:00:15');
      expect(a.verdict).toBe('ambiguous');
      expect(a.candidates.map((c) => [c.src_ip, c.count, c.mappings])).toEqual([
        ['100.64.4.1', 3, 3],
        ['100.64.4.2', 1, 1],
      ]);
      expect(a.candidates[0]).toMatchObject({ nat_port_start: 10001, nat_port_end: 10003, proto: null, kind: 'address' });
      expect(forensicLookup({ natIp: '203.0.113.9', natPort: null, at: Z('2026-03-05T14:00:15'), intervals: true }, cfg()).intervals).toHaveLength(4);
      expect(look('203.0.113.9', null, '2026-03-05T14:00:15', { proto: 'udp' }).candidates.map((c) => c.src_ip)).toEqual(['100.64.4.1']);
    });

    it('covers long windows', () => {
      const srcs = look('203.0.113.7', null, '2026-03-05T12:00:00', { windowSec: 3 * 3600 }).candidates.map((c) => c.src_ip);
      expect(srcs).toEqual(expect.arrayContaining(['100.64.0.20', '100.64.0.30', '100.64.0.10']));
    });
  });

  describe(`conformance (${store}): subscriber`, () => {
    it('lists each mapping with its interval, over two days', () => {
      const a = subscriberLookup({ srcIp: '100.64.0.10', from: Z('2026-03-04T12:00:00'), to: Z('2026-03-05T23:00:00') }, cfg());
      expect(a.mappings.map((m) => [m.nat_ip, m.nat_port_start, m.start_ms, m.end_ms, m.end_reason])).toEqual([
        ['203.0.113.7', 30000, Z('2026-03-04T20:00:00'), Z('2026-03-04T20:10:00'), 'close'],
        ['203.0.113.7', 40312, Z('2026-03-05T13:11:00'), Z('2026-03-05T15:00:00'), 'reuse'],
      ]);
      expect(subscriberLookup({ srcIp: '100.64.0.10', from: Z('2026-03-05T00:00:00'), to: Z('2026-03-05T12:00:00') }, cfg()).mappings).toHaveLength(0);
    });

    it('finds port blocks and IPv6 subscribers', () => {
      expect(subscriberLookup({ srcIp: '100.64.1.1', from: Z('2026-03-05T00:00:00'), to: Z('2026-03-05T01:00:00') }, cfg()).mappings).toMatchObject([{ nat_port_start: 1024, nat_port_end: 1535, end_reason: 'release' }]);
      expect(subscriberLookup({ srcIp: '2001:DB8:0::1', from: Z('2026-03-05T15:00:00'), to: Z('2026-03-05T17:00:00') }, cfg()).mappings).toMatchObject([{ nat_ip: '203.0.113.10', nat_port_start: 7000 }]);
    });
  });

  describe(`conformance (${store}): subscriber identity and destination`, () => {
    it('names the login the line gave, with the destination', () => {
      const a = look('203.0.113.20', 41001, '2026-03-05T14:00:30');
      expect(a.candidates[0]).toMatchObject({ src_ip: '100.64.0.30', dst_ip: '198.51.100.82', dst_port: 80, subscriber: { login: 'cliente30', source: 'log' } });
      expect(look('203.0.113.7', 40312, '2026-03-05T13:11:30').candidates[0]!.subscriber).toBeNull();
    });

    it('narrows an EDM answer by the destination', () => {
      expect(look('203.0.113.20', 41000, '2026-03-05T12:00:10').verdict).toBe('ambiguous');
      const a = forensicLookup({ natIp: '203.0.113.20', natPort: 41000, at: Z('2026-03-05T12:00:10'), dstIp: '198.51.100.80', dstPort: '443' }, cfg());
      expect(a.candidates.map((c) => [c.src_ip, c.subscriber?.login])).toEqual([['100.64.0.30', 'cliente30']]);
    });

    it('answers what a login held over a range', () => {
      const a = loginLookup({ login: 'cliente30', from: Z('2026-03-05T11:00:00'), to: Z('2026-03-05T23:00:00') }, cfg());
      expect(a.inside).toEqual(['100.64.0.30']);
      expect(a.mappings.map((c) => [c.nat_ip, c.nat_port_start, c.subscriber?.login])).toEqual([
        ['203.0.113.20', 41000, 'cliente30'],
        ['203.0.113.20', 41001, 'cliente30'],
      ]);
      expect(loginLookup({ login: 'nobody', from: Z('2026-03-05T11:00:00'), to: Z('2026-03-05T23:00:00') }, cfg()).mappings).toEqual([]);
    });
  });

  describe(`conformance (${store}): bulk`, () => {
    it('answers one line per request, errors per line', () => {
      const text = ['203.0.113.7:40312 2026-03-05T10:11:12-03:00', '"203.0.113.7";"40000";"2026-03-05T12:00:20Z"', '203.0.113.9 2026-03-05T14:00:15Z', '[203.0.113.10]:7000\t2026-03-05T16:00:30Z', '203.0.113.7:70000 2026-03-05T10:11:12Z'].join('\n');
      const b = bulkLookup(text, cfg());
      expect(b.results.map((r) => r.answer?.verdict ?? r.error?.code)).toEqual(['unique', 'ambiguous', 'ambiguous', 'unique', 'MEGALOG_ERR_QUERY_BAD_PORT']);
      expect(b.results[0]!.answer!.candidates[0]!.src_ip).toBe('100.64.0.10');
      expect(b.results[3]!.answer!.candidates[0]!.src_ip).toBe('2001:db8::1');
    });

    it("answers the console's bulk (worker packing), original lines read later by row id", () => {
      const items: BulkItem[] = [
        { line: 1, input: 'a', ip: '203.0.113.7', port: '40312', time: '2026-03-05T13:11:12Z', proto: '' },
        { line: 2, input: 'b', ip: '198.51.100.1', port: '1300', time: '2026-03-05T01:00:00Z', proto: '' },
        { line: 3, input: 'c', ip: '198.51.100.50', port: '6000', time: '2026-03-05T12:00:00Z', proto: '' },
      ];
      const a = answerBulk({ items, windowSec: 60, proto: null }, cfg(), { cancelled: () => false, progress: () => {} })!;
      const lines = new JsonChunks<BulkLine>(a.lineChunks, a.lineCount, LINES_PER_CHUNK).slice(0, a.lineCount);
      expect(lines.map((l) => l.answer?.verdict)).toEqual(['unique', 'unique', 'no_data']);
      const rows = new PackedRows(new JsonChunks<Candidate>(a.rowChunks, a.rawKeys.length / 3, ROWS_PER_CHUNK), a.rawKeys);
      const c = rows.at(1)!;
      expect(c).toMatchObject({ src_ip: '100.64.1.1', kind: 'block', raw: '' });
      fillRaw([c], cfg());
      expect(c.raw).toBe('<134>bng block_alloc - 100.64.1.1:- -> 198.51.100.1:1024-1535 at 2026-03-04T22:00:00');
    });
  });
}
