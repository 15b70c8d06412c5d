// The daily view's counts kept at commit (src/store/sqlite/day-stat.ts) against the same day
// summarized from its records: a mixed day (devices, protocols, IPv4 and IPv6 public addresses, port
// blocks, kept lines, a rolled-back commit) must give the same summary both ways.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { NatRecord } from '../../src/parse/types.js';
import { dayStart, ipFromDb, ipToDb, protoName } from '../../src/store/codes.js';
import { dailySummary } from '../../src/store/sqlite/daily.js';
import { DayFile, type DayLine } from '../../src/store/sqlite/dayfile.js';
import { DayReader } from '../../src/store/sqlite/read.js';

const DAY = '2026-03-05';
const T0 = dayStart(DAY);
const OPTS = { journalMode: 'WAL', synchronous: 'NORMAL', cacheSizeMiB: 8, maxPageCount: 0 };
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'megalog-daily-'));
  dirs.push(d);
  return d;
}

let pos = 0;
function lines(n: number, seed: number): DayLine[] {
  const out: DayLine[] = [];
  for (let i = 0; i < n; i++) {
    const k = seed * 7919 + i * 104729;
    const t = T0 + (k % 86_400) * 1000;
    const device = `10.0.0.${(k % 3) + 1}`;
    const payload = Buffer.from(`line ${seed} ${i}`);
    if (k % 11 === 0) {
      out.push({ end: ++pos, payload, device, time: t, status: k % 2 ? 'unparsed' : 'ignored', vendor: null, reason: k % 2 ? null : 'noise', records: [] });
      continue;
    }
    const block = k % 13 === 0;
    const rec: NatRecord = {
      vendor: 'mikrotik',
      event: block ? 'block_alloc' : 'session_create',
      proto: block ? null : (['tcp', 'udp', 'icmp'] as const)[k % 3]!,
      src_ip: `100.64.${k % 200}.${k % 250}`,
      src_port: 1024 + (k % 60000),
      nat_ip: k % 17 === 0 ? `2001:db8::${k % 5}` : `203.0.113.${k % 40}`,
      nat_port: block ? null : 1024 + (k % 64000),
      nat_port_start: block ? 2048 : null,
      nat_port_end: block ? 2559 : null,
      dst_ip: '198.51.100.1',
      dst_port: 443,
      time: t,
      host: 'r',
    };
    out.push({ end: ++pos, payload, device, time: t, status: 'records', vendor: 'mikrotik', reason: null, records: [rec] });
  }
  return out;
}

/** The daily summary computed from the file's records and kept lines themselves. */
function fromRows(path: string): { records: number; hours: number[]; protocols: Record<string, number>; top: Map<string, number>; lines: number; others: Map<string, number> } {
  const f = new DayFile(path, DAY, { ...OPTS, readonly: true });
  try {
    const hours = new Array(24).fill(0);
    const protocols: Record<string, number> = {};
    const top = new Map<string, number>();
    const others = new Map<string, number>();
    let records = 0;
    for (const r of f.allRows()) {
      records++;
      hours[Math.floor(r.t / 3_600_000)]++;
      const p = protoName(r.code % 1024) ?? 'none';
      protocols[p] = (protocols[p] ?? 0) + 1;
      const ip = ipFromDb(r.nat_ip)!;
      top.set(ip, (top.get(ip) ?? 0) + 1);
      const e = Math.floor((r.code % 65536) / 1024);
      if (r.src_ip != null && (r.port_end != null || (e !== 0 && e !== 4))) others.set(ip, (others.get(ip) ?? 0) + 1);
    }
    const lines = Number(f.db.prepare('SELECT count(*) FROM line').pluck().get());
    return { records, hours, protocols, top, lines, others };
  } finally {
    f.close();
  }
}

describe('daily view counts kept at commit', () => {
  it('give the summary the rows give, rolled-back commits excluded', () => {
    const d = dir();
    const path = join(d, `${DAY}.db`);
    const f = new DayFile(path, DAY, OPTS);
    for (let b = 0; b < 6; b++) f.commit(lines(500, b), pos);
    // A commit that fails inside its transaction leaves no count behind.
    f.db.exec("CREATE TRIGGER fail AFTER INSERT ON rec BEGIN SELECT RAISE(ABORT, 'injected'); END");
    expect(() => f.commit(lines(50, 99), pos)).toThrow(/injected/);
    f.db.exec('DROP TRIGGER fail');
    f.commit(lines(300, 7), pos);
    f.close();

    const counted = dailySummary(d, DAY)!;
    const rows = fromRows(path);
    expect(counted.partial).toBe(false);
    expect(counted.records).toBe(rows.records);
    expect(counted.hours.map((h) => h.records)).toEqual(rows.hours);
    expect(Object.fromEntries(counted.protocols.map((p) => [p.proto, p.records]))).toEqual(rows.protocols);
    for (const t of counted.top_public) expect(t.records, t.ip).toBe(rows.top.get(t.ip));
    expect(counted.unparsed + counted.ignored).toBe(rows.lines);
    expect(counted.unparsed + counted.ignored).toBeGreaterThan(0);
    expect(new Database(path, { readonly: true }).prepare("SELECT count(*) FROM day_stat WHERE kind = 2 AND typeof(key) = 'blob'").pluck().get()).toBe(5);
    // the other-row counts (kind 4) are what DayReader.ipOthers reads, per public address
    const ro = new Database(path, { readonly: true });
    const kept = new Map((ro.prepare('SELECT key, n FROM day_stat WHERE kind = 4').all() as { key: unknown; n: number }[]).map((r) => [ipFromDb(r.key)!, r.n]));
    ro.close();
    expect(kept).toEqual(rows.others);
    expect(rows.others.size).toBeGreaterThan(3);
    const r = new DayReader(path, DAY);
    try {
      for (const [ip, n] of rows.others) expect(r.ipOthers(ipToDb(ip)!, T0).length, ip).toBe(n);
    } finally {
      r.close();
    }
  });
});
