// The answer chain's subscriber step: RADIUS session events written through SqliteStore.commitDay
// into real day files (radius_event), then "which session held inside address A at T" asked of them,
// alone and at the end of a forensic answer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTRIBUTE as A, encodeRequest, sessionEventOf, type SessionEvent } from '../../src/parse/radius.js';
import { dayOf } from '../../src/store/codes.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { DayReader } from '../../src/store/sqlite/read.js';
import type { DayLine } from '../../src/store/store.js';
import { attachRadiusSubscribers, MAX_SUBSCRIBER_LOOKUPS, radiusSessionAt } from '../../src/query/subscriber-radius.js';
import { forensicLookup } from '../../src/query/engine.js';
import { parseRules } from '../../src/rules/parse.js';
import { RulesDb } from '../../src/rules/store.js';

const Z = (s: string) => Date.parse(`${s}Z`);
const STATUS = { start: 1, stop: 2, interim: 3, on: 7, off: 8 } as const;
const NAS = '192.0.2.1';
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

interface E {
  status: keyof typeof STATUS;
  sid: string;
  ip?: string;
  at: string;
  login?: string;
  mac?: string;
  sessionTime?: number;
  dev?: string;
  /** The sender, when not the NAS itself (a RADIUS server replicating). */
  sender?: string;
  /** Framed-IPv6-Prefix value: reserved, length, prefix bytes. */
  prefix6?: Buffer;
}

function packet(e: E, id = 1): Buffer {
  const attrs: { type: number; value: Buffer }[] = [
    { type: A.STATUS_TYPE, value: u32(STATUS[e.status]) },
    { type: A.EVENT_TIMESTAMP, value: u32(Z(e.at) / 1000) },
    { type: A.NAS_IDENTIFIER, value: Buffer.from(`bng-${e.dev ?? NAS}`) },
  ];
  if (e.sid) attrs.push({ type: A.SESSION_ID, value: Buffer.from(e.sid) });
  if (e.ip) attrs.push({ type: A.FRAMED_IP, value: Buffer.from(e.ip.split('.').map(Number)) });
  if (e.login) attrs.push({ type: A.USER_NAME, value: Buffer.from(e.login) });
  if (e.mac) attrs.push({ type: A.CALLING_STATION, value: Buffer.from(e.mac) });
  if (e.sessionTime != null) attrs.push({ type: A.SESSION_TIME, value: u32(e.sessionTime) });
  if (e.prefix6) attrs.push({ type: A.FRAMED_IPV6_PREFIX, value: e.prefix6 });
  return encodeRequest(id, attrs, Buffer.from('x'));
}

let pos = 0;
function commit(store: SqliteStore, events: E[], id = 1): { sessions: number; duplicates: number } {
  const byDay = new Map<string, DayLine[]>();
  for (const e of events) {
    const payload = packet(e, id);
    const session = sessionEventOf(payload, Z(e.at)) as SessionEvent;
    expect(session).not.toHaveProperty('malformed');
    const day = dayOf(session.time);
    if (!byDay.has(day)) byDay.set(day, []);
    byDay.get(day)!.push({ end: ++pos, payload, device: e.sender ?? e.dev ?? NAS, time: session.time, status: 'session', vendor: null, reason: null, records: [], session });
  }
  let sessions = 0;
  let duplicates = 0;
  for (const [day, lines] of byDay) {
    const r = store.commitDay(day, lines, pos);
    sessions += r.sessions;
    duplicates += r.duplicateSessions;
  }
  return { sessions, duplicates };
}

let dir: string;
let cold: string;
const readers = new Map<string, DayReader | null>();
const get = (day: string) => {
  if (!readers.has(day)) readers.set(day, DayReader.open(cold, day));
  return readers.get(day)!;
};
const at = (ip: string, t: string, lookback = 7) => radiusSessionAt(get, ip, Z(t), lookback, 'UTC', Z('2026-03-10T00:00:00'));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'megalog-radius-'));
  cold = join(dir, 'cold');
  const store = new SqliteStore({ cold_storage_dir: cold, db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });
  const mac = 'AA-BB-CC-00-11-22';
  commit(store, [
    // 100.64.0.10: ana from the 3rd, interims every 6 h, stop on the 5th at 08:00; then bia.
    { status: 'start', sid: 'a1', ip: '100.64.0.10', at: '2026-03-03T10:00:00', login: 'ana', mac },
    ...['2026-03-04T04:00:00', '2026-03-04T10:00:00', '2026-03-04T16:00:00', '2026-03-04T22:00:00'].map((t) => ({ status: 'interim' as const, sid: 'a1', ip: '100.64.0.10', at: t, login: 'ana', mac, sessionTime: (Z(t) - Z('2026-03-03T10:00:00')) / 1000 })),
    { status: 'stop', sid: 'a1', ip: '100.64.0.10', at: '2026-03-05T08:00:00', login: 'ana', mac, sessionTime: (Z('2026-03-05T08:00:00') - Z('2026-03-03T10:00:00')) / 1000 },
    { status: 'start', sid: 'b1', ip: '100.64.0.10', at: '2026-03-05T09:00:00', login: 'bia' },
    // 100.64.0.20: started on the 1st, never an interim.
    { status: 'start', sid: 'c1', ip: '100.64.0.20', at: '2026-03-01T00:00:00', login: 'caio' },
    // 100.64.0.30: a short session.
    { status: 'start', sid: 's30', ip: '100.64.0.30', at: '2026-03-05T06:00:00', login: 'duda' },
    { status: 'stop', sid: 's30', ip: '100.64.0.30', at: '2026-03-05T07:00:00', login: 'duda', sessionTime: 3600 },
    // 100.64.0.40: d1's stop was lost, d2 starts, then d1 still sends an interim: both claim it.
    { status: 'start', sid: 'd1', ip: '100.64.0.40', at: '2026-03-05T01:00:00', login: 'edu' },
    { status: 'start', sid: 'd2', ip: '100.64.0.40', at: '2026-03-05T02:00:00', login: 'fabi' },
    { status: 'interim', sid: 'd1', ip: '100.64.0.40', at: '2026-03-05T03:00:00', login: 'edu', sessionTime: 7200 },
    // 100.64.0.50 on another NAS, which restarts (accounting-on) at 05:00.
    { status: 'start', sid: 'e1', ip: '100.64.0.50', at: '2026-03-05T01:00:00', login: 'gil', dev: '192.0.2.9' },
    { status: 'on', sid: '', at: '2026-03-05T05:00:00', dev: '192.0.2.9' },
    // 100.64.0.70: 5-minute interim updates, 60 of them after T, then the stop
    { status: 'start', sid: 'long', ip: '100.64.0.70', at: '2026-03-05T00:00:00', login: 'iris' },
    ...Array.from({ length: 60 }, (_, i) => ({ status: 'interim' as const, sid: 'long', ip: '100.64.0.70', at: new Date(Z('2026-03-05T00:05:00') + i * 300_000).toISOString().slice(0, 19), login: 'iris', sessionTime: (i + 1) * 300 })),
    { status: 'stop', sid: 'long', ip: '100.64.0.70', at: '2026-03-05T05:10:00', login: 'iris', sessionTime: 18600 },
    // dual stack: a /56 delegated to the subscriber (a DS-Lite B4 inside it is the inside address)
    { status: 'start', sid: 'v6', ip: '100.64.0.60', at: '2026-03-05T01:00:00', login: 'hugo', prefix6: Buffer.from([0, 56, 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x00, 0x34]) },
  ]);
  // A NAT record: 203.0.113.7:40000 held by 100.64.0.10:5000 on the 4th.
  store.commitDay('2026-03-04', [{ end: ++pos, payload: Buffer.from('nat line'), device: '198.51.100.1', time: Z('2026-03-04T12:00:00'), status: 'records', vendor: 'mikrotik', reason: null, records: [{ vendor: 'mikrotik', event: 'session_create', proto: 'tcp', src_ip: '100.64.0.10', src_port: 5000, nat_ip: '203.0.113.7', nat_port: 40000, nat_port_start: null, nat_port_end: null, dst_ip: null, dst_port: null, time: Z('2026-03-04T12:00:00'), host: null, login: 'ana-pppoe' } as never] }], pos);
  store.close();
});
afterAll(() => {
  for (const r of readers.values()) r?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('subscriber step: which RADIUS session held inside address A at T', () => {
  it('finds a session that started days before T through its interim updates, with its start and stop', () => {
    const { subscriber, step } = at('100.64.0.10', '2026-03-05T07:59:00');
    expect(step).toMatchObject({ verdict: 'unique', reason: 'session_held', lookback_days: 7 });
    expect(subscriber).toEqual({ login: 'ana', mac: 'aa:bb:cc:00:11:22', nas: 'bng-192.0.2.1', session_start: '2026-03-03T10:00:00+00:00', session_end: '2026-03-05T08:00:00+00:00', source: 'radius' });
    // its start (found by its key, two days back), the last event before T, its stop
    expect(step.evidence.map((e) => [e.event, e.time])).toEqual([
      ['start', '2026-03-03T10:00:00+00:00'],
      ['interim', '2026-03-04T22:00:00+00:00'],
      ['stop', '2026-03-05T08:00:00+00:00'],
    ]);
    expect(step.evidence[0]!.packet).toMatch(/^04/); // the Accounting-Request as received
  });

  it('names the next session after a stop, and no session between them', () => {
    expect(at('100.64.0.10', '2026-03-05T09:30:00').subscriber).toMatchObject({ login: 'bia', session_start: '2026-03-05T09:00:00+00:00', session_end: null });
    expect(at('100.64.0.10', '2026-03-05T08:30:00').step).toMatchObject({ verdict: 'no_match', reason: 'session_stopped' });
  });

  it('finds the stop of a session however many interim updates come after T', () => {
    expect(at('100.64.0.70', '2026-03-05T00:02:00').subscriber).toMatchObject({ login: 'iris', session_start: '2026-03-05T00:00:00+00:00', session_end: '2026-03-05T05:10:00+00:00' });
  });

  it('bounds how far back it looks, and says so', () => {
    expect(at('100.64.0.20', '2026-03-05T12:00:00').subscriber).toMatchObject({ login: 'caio', session_start: '2026-03-01T00:00:00+00:00' });
    const { subscriber, step } = at('100.64.0.20', '2026-03-05T12:00:00', 2);
    expect(subscriber).toBeNull();
    expect(step).toMatchObject({ verdict: 'no_data', reason: 'no_event_in_lookback', searched_from: '2026-03-03T12:00:00+00:00', lookback_days: 2 });
  });

  it('answers ambiguous when two sessions claim the address at T, naming both', () => {
    const { step } = at('100.64.0.40', '2026-03-05T02:30:00');
    expect(step.verdict).toBe('ambiguous');
    expect(new Set(step.evidence.map((e) => e.session_id))).toEqual(new Set(['d1', 'd2']));
  });

  it('ends every session of a NAS that sent accounting-on', () => {
    expect(at('100.64.0.50', '2026-03-05T04:00:00').step.verdict).toBe('unique');
    expect(at('100.64.0.50', '2026-03-05T06:00:00').step).toMatchObject({ verdict: 'no_match', reason: 'nas_reset' });
  });

  it('finds an IPv6 inside address inside the session\'s IPv6 prefix', () => {
    expect(at('2001:db8:1200:3456::1', '2026-03-05T04:00:00').subscriber).toMatchObject({ login: 'hugo', session_start: '2026-03-05T01:00:00+00:00' });
    expect(at('2001:db8:1200:3556::1', '2026-03-05T04:00:00').step.verdict).toBe('no_data'); // outside the /56
    expect(at('100.64.0.60', '2026-03-05T04:00:00').subscriber).toMatchObject({ login: 'hugo' });
  });

  it('says no_data for an address accounting never named', () => {
    expect(at('100.64.9.9', '2026-03-05T06:00:00').step).toMatchObject({ verdict: 'no_data', reason: 'no_event_in_lookback' });
  });

  it('follows at most MAX_SUBSCRIBER_LOOKUPS inside addresses of one answer, and says so for the rest', () => {
    const cands = Array.from({ length: MAX_SUBSCRIBER_LOOKUPS + 2 }, (_, i) => ({ src_ip: i === MAX_SUBSCRIBER_LOOKUPS + 1 ? '100.64.0.10' : `100.65.${i >> 8}.${i & 255}`, subscriber: null }));
    attachRadiusSubscribers(cands, Z('2026-03-05T07:59:00'), get, 7, 'UTC');
    expect(cands[0]!).toMatchObject({ subscriber: null, subscriber_step: { verdict: 'no_data', reason: 'no_event_in_lookback' } });
    expect(cands.at(-1)!).toMatchObject({ subscriber: null, subscriber_step: { verdict: 'no_data', reason: 'too_many_candidates' } });
  });

  it('carries the chain to the end of a forensic answer: public ip:port@T → inside → subscriber', () => {
    const a = forensicLookup({ natIp: '203.0.113.7', natPort: 40000, at: Z('2026-03-04T12:00:30') }, { cold_storage_dir: cold, timezone: 'UTC' });
    expect(a.verdict).toBe('unique');
    // the login the NAT line named is kept; the accounting session adds MAC, NAS and its times
    expect(a.candidates[0]!.subscriber).toEqual({ login: 'ana-pppoe', mac: 'aa:bb:cc:00:11:22', nas: 'bng-192.0.2.1', source: 'radius', session_start: '2026-03-03T10:00:00+00:00', session_end: '2026-03-05T08:00:00+00:00' });
    expect(a.candidates[0]!.subscriber_step).toMatchObject({ verdict: 'unique', inside_ip: '100.64.0.10' });
  });
});

describe('the chain through deterministic NAT rules', () => {
  it('follows the inside address a rule set names to its RADIUS session', () => {
    const text = '100.64.0.10 198.51.100.9 1024-2047 tcp\n';
    const db = RulesDb.open(cold);
    db.add({ imported_at: 0, imported_by: 'test', case_ref: 'CHG-16', format: 'table', file_name: 'rules.txt', valid_from: Z('2026-03-01T00:00:00'), valid_to: null }, Buffer.from(text), parseRules(text, 'table').rows);
    db.close();
    const a = forensicLookup({ natIp: '198.51.100.9', natPort: 1500, at: Z('2026-03-05T07:59:00') }, { cold_storage_dir: cold, timezone: 'UTC' });
    expect(a.rules).toMatchObject({ basis: 'rules' });
    expect(a.candidates).toMatchObject([{ kind: 'rules', src_ip: '100.64.0.10', subscriber: { login: 'ana', source: 'radius' }, subscriber_step: { verdict: 'unique' } }]);
  });
});

describe('radius_event in the day file', () => {
  it('keeps a retransmitted event once, and a replayed spool position not at all', () => {
    const d2 = mkdtempSync(join(tmpdir(), 'megalog-radius-dup-'));
    try {
      const store = new SqliteStore({ cold_storage_dir: d2, db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });
      const e: E = { status: 'interim', sid: 'r1', ip: '100.64.1.1', at: '2026-03-05T10:00:00', sessionTime: 60 };
      expect(commit(store, [e], 1)).toEqual({ sessions: 1, duplicates: 0 });
      // the NAS sent it again (new Identifier, so new bytes), and it was spooled again
      expect(commit(store, [e], 2)).toEqual({ sessions: 0, duplicates: 1 });
      // the same event replicated by a RADIUS server (another sender, the same NAS in the packet)
      expect(commit(store, [{ ...e, sender: '10.0.0.53' }], 4)).toEqual({ sessions: 0, duplicates: 1 });
      // a replay of an already committed spool position writes nothing
      const payload = packet(e, 3);
      const session = sessionEventOf(payload, Z(e.at)) as SessionEvent;
      const r = store.commitDay('2026-03-05', [{ end: pos, payload, device: NAS, time: session.time, status: 'session', vendor: null, reason: null, records: [], session }], pos);
      expect(r).toMatchObject({ sessions: 0, skipped: 1 });
      store.close();
      const rd = DayReader.open(d2, '2026-03-05')!;
      expect(rd.sessions.eventsOf(0x64400101, Z('2026-03-06T00:00:00'), 'before', 10)).toHaveLength(1);
      rd.close();
    } finally {
      rmSync(d2, { recursive: true, force: true });
    }
  });
});
