// The daily view's counts kept at commit (src/store/sqlite/stats.ts) against the same day summarized
// from its rows: a mixed day (devices, protocols, IPv4 and IPv6 public addresses, port blocks, kept
// lines, a rolled-back commit) must give the same summary both ways; a file that had rows before the
// counts existed is summarized from its rows.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { NatRecord } from '../src/parse/types.js';
import { dayStart } from '../src/store/codes.js';
import { dailySummary } from '../src/store/sqlite/daily.js';
import { DayFile, type DayLine } from '../src/store/sqlite/dayfile.js';

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
