// The daily view's counts kept at commit (src/store/sqlite/stats.ts) against the same day summarized
// from its rows: a mixed day (devices, protocols, IPv4 and IPv6 public addresses, port blocks, kept
// lines, a rolled-back commit) must give the same summary both ways; a file that had rows before the
// counts existed is summarized from its rows.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { NatRecord } from '../../src/parse/types.js';
import { dayStart, ipToDb } from '../../src/store/codes.js';
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

describe('daily view counts kept at commit', () => {
  it('give the summary the rows give, rolled-back commits excluded', () => {
    const d = dir();
    const path = join(d, `${DAY}.db`);
    const f = new DayFile(path, DAY, OPTS);
    for (let b = 0; b < 6; b++) f.commit(lines(500, b), pos);
    // A commit that fails inside its transaction leaves no count behind.
    const bad = lines(50, 99);
    bad[10]!.records[0]!.nat_ip = '203.0.113.1';
    f.db.exec("CREATE TRIGGER fail AFTER INSERT ON nat WHEN NEW.src_port = -7 BEGIN SELECT RAISE(ABORT, 'injected'); END");
    bad[20]!.records[0]!.src_port = -7;
    expect(() => f.commit(bad, pos)).toThrow(/injected/);
    f.db.exec('DROP TRIGGER fail');
    f.commit(lines(300, 7), pos);
    f.db.pragma('wal_checkpoint(TRUNCATE)');
    f.close();

    const counted = dailySummary(d, DAY)!;
    expect(counted.partial).toBe(false);
    expect(counted.records).toBe(Number(new Database(path, { readonly: true }).prepare('SELECT count(*) FROM nat').pluck().get()));
    expect(counted.unparsed + counted.ignored).toBeGreaterThan(0);
    expect(new Database(path, { readonly: true }).prepare("SELECT count(*) FROM day_stat WHERE kind = 2 AND typeof(key) = 'blob'").pluck().get()).toBe(5);
    // the other-row counts (kind 4) are what READ_SQL.ipOthers finds, per public address
    const ro = new Database(path, { readonly: true });
    const others = ro.prepare('SELECT hex(nat_ip) AS k, count(*) AS n FROM nat WHERE src_ip IS NOT NULL AND (port_end IS NOT NULL OR (code % 65536) / 1024 NOT IN (0, 4)) GROUP BY nat_ip ORDER BY k').all();
    expect(ro.prepare('SELECT hex(key) AS k, n FROM day_stat WHERE kind = 4 ORDER BY k').all()).toEqual(others);
    expect(others.length).toBeGreaterThan(3);
    ro.close();

    // The same file read the old way (counts marked as not covering it).
    const d2 = dir();
    copyFileSync(path, join(d2, `${DAY}.db`));
    const db = new Database(join(d2, `${DAY}.db`));
    db.prepare("UPDATE meta SET value = 0 WHERE key = 'day_stat'").run();
    db.close();
    const scanned = dailySummary(d2, DAY)!;
    const sortTop = (s: typeof counted) => [...s.top_public].sort((a, b) => b.records - a.records || a.ip.localeCompare(b.ip));
    const sortProto = (s: typeof counted) => [...s.protocols].sort((a, b) => b.records - a.records || a.proto.localeCompare(b.proto));
    expect({ ...counted, top_public: sortTop(counted), protocols: sortProto(counted) }).toEqual({ ...scanned, top_public: sortTop(scanned), protocols: sortProto(scanned) });
  });

  it('other-row counts are not trusted once an older writer committed (a downgrade, then this version)', () => {
    const d = dir();
    const path = join(d, `${DAY}.db`);
    const nat = ipToDb('198.18.7.7')!; // an address with session opens only, so far
    const open = (n: number, i: number): DayLine => ({ end: ++pos, payload: Buffer.from(`o${i}`), device: '10.0.0.1', time: T0 + n, status: 'records', vendor: 'mikrotik', reason: null, records: [{ vendor: 'mikrotik', event: 'session_create', proto: 'tcp', src_ip: '100.64.0.9', src_port: 5000 + i, nat_ip: '198.18.7.7', nat_port: 3000 + i, nat_port_start: null, nat_port_end: null, dst_ip: null, dst_port: null, time: T0 + n, host: 'r' }] });
    let f = new DayFile(path, DAY, OPTS);
    f.commit([open(1000, 1), open(2000, 2)], pos);
    f.close();
    const others = () => {
      const r = new DayReader(path, DAY);
      try {
        return r.ipOthers(nat, T0).length;
      } finally {
        r.close();
      }
    };
    expect(others()).toBe(0);
    // an older writer commits a block for that address: no count, spool_pos moves, summary_pos does not
    const db = new Database(path);
    db.prepare('INSERT INTO nat (nat_ip, nat_port, t, id, port_end, src_ip, code, device) VALUES (?, 4096, 3000, 77, 4159, ?, 2048, 1)').run(nat, ipToDb('100.64.0.9'));
    db.prepare("UPDATE meta SET value = ? WHERE key = 'spool_pos'").run(++pos);
    db.close();
    expect(others()).toBe(1);
    f = new DayFile(path, DAY, OPTS); // this version again
    f.commit([open(4000, 3)], pos);
    f.close();
    expect(Number(new Database(path, { readonly: true }).prepare("SELECT value FROM meta WHERE key = 'summary_pos'").pluck().get())).toBe(pos); // committed
    expect(others()).toBe(1);
  });

  it('a file that had rows before the counts existed is summarized from its rows', () => {
    const d = dir();
    const path = join(d, `${DAY}.db`);
    let f = new DayFile(path, DAY, OPTS);
    f.commit(lines(400, 1), pos);
    f.db.exec("DROP TABLE day_stat; DELETE FROM meta WHERE key = 'day_stat'");
    f.close();
    f = new DayFile(path, DAY, OPTS); // a writer of this version reopens an older file
    f.commit(lines(100, 2), pos);
    f.close();
    const s = dailySummary(d, DAY)!;
    expect(s.records).toBe(Number(new Database(path, { readonly: true }).prepare('SELECT count(*) FROM nat').pluck().get()));
    expect(s.hours.reduce((a, h) => a + h.records, 0)).toBe(s.records);
  });
});
