// Per-day counts kept by the writer, so the daily view reads a few hundred rows instead of the
// day's records (a 50 M-record day took seconds, and its scan stopped at 5 M rows as `partial`).
//
//   day_stat(kind, hour, key, n)   kind 0 records by (hour, device id)
//                                  kind 1 records by (hour, protocol: IANA number, 511 none, 510 other)
//                                  kind 2 records by public address (hour -1: the whole day)
//                                  kind 3 kept lines without a record by (hour, device id·4 + status)
//                                  kind 4 "other" records by public address (hour -1): with an inside
//                                         address, and a port block or not a session open (what an
//                                         IP-only answer reads apart, DayReader.ipOthers)
//
//   active(device, minute, first, last)   per device and minute of the day, the first and last time
//                                  (ms since the day's start) it sent a record or a kept line:
//                                  whether a device was talking around T (no_match vs no_data)
//
// Each commit adds its batch's counts in the same transaction, so they match the rows exactly,
// rollbacks included.
import type Database from 'better-sqlite3';
import { hourOf } from './schema.js';

export const STAT_RECORDS = 0;
export const STAT_PROTO = 1;
export const STAT_ADDRESS = 2;
export const STAT_LINES = 3;
export const STAT_OTHERS = 4;
const MINUTE_MS = 60_000;

export const DAY_STAT_DDL = `CREATE TABLE IF NOT EXISTS day_stat (kind INTEGER NOT NULL, hour INTEGER NOT NULL, key ANY NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (kind, hour, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS active (device INTEGER NOT NULL, minute INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, PRIMARY KEY (device, minute)) WITHOUT ROWID`;

const minuteOf = (t: number) => Math.min(1439, Math.max(0, Math.floor(t / MINUTE_MS)));

/** One transaction's counts (numeric keys: hour·2^16 + device, hour·2^10 + proto, IPv4 address). */
export class DayStats {
  private readonly records = new Map<number, number>();
  private readonly protos = new Map<number, number>();
  private readonly v4 = new Map<number, number>();
  private readonly v6 = new Map<string, number>();
  private readonly lines = new Map<number, number>();
  private readonly others = new Map<number, number>();
  private readonly others6 = new Map<string, number>();
  /** minute·65536 + device → [first, last]. */
  private readonly active = new Map<number, [number, number]>();
  private readonly upActive: Database.Statement;
  private readonly up: Database.Statement;

  constructor(db: Database.Database) {
    this.up = db.prepare('INSERT INTO day_stat VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n');
    this.upActive = db.prepare('INSERT INTO active VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET first = min(first, excluded.first), last = max(last, excluded.last)');
  }

  record(t: number, device: number, proto: number, natIp: number | Buffer, other: boolean): void {
    const h = hourOf(t);
    bump(this.records, h * 65536 + device);
    this.seen(t, device);
    bump(this.protos, h * 1024 + proto);
    if (typeof natIp === 'number') {
      bump(this.v4, natIp);
      if (other) bump(this.others, natIp);
    } else {
      const k = natIp.toString('hex');
      bump(this.v6, k);
      if (other) bump(this.others6, k);
    }
  }

  line(t: number, device: number, status: 1 | 2): void {
    bump(this.lines, hourOf(t) * 65536 + device * 4 + status);
    this.seen(t, device);
  }

  private seen(t: number, device: number): void {
    const k = minuteOf(t) * 65536 + device;
    const a = this.active.get(k);
    if (!a) this.active.set(k, [t, t]);
    else if (t < a[0]) a[0] = t;
    else if (t > a[1]) a[1] = t;
  }

  /** Add the counts to day_stat (inside the commit's transaction) and start over. */
  flush(): void {
    for (const [k, n] of this.records) this.up.run(STAT_RECORDS, Math.floor(k / 65536), k % 65536, n);
    for (const [k, n] of this.protos) this.up.run(STAT_PROTO, Math.floor(k / 1024), k % 1024, n);
    for (const [k, n] of this.v4) this.up.run(STAT_ADDRESS, -1, k, n);
    for (const [k, n] of this.v6) this.up.run(STAT_ADDRESS, -1, Buffer.from(k, 'hex'), n);
    for (const [k, n] of this.lines) this.up.run(STAT_LINES, Math.floor(k / 65536), k % 65536, n);
    for (const [k, n] of this.others) this.up.run(STAT_OTHERS, -1, k, n);
    for (const [k, n] of this.others6) this.up.run(STAT_OTHERS, -1, Buffer.from(k, 'hex'), n);
    for (const [k, [first, last]] of this.active) this.upActive.run(k % 65536, Math.floor(k / 65536), first, last);
    this.clear();
  }

  clear(): void {
    this.records.clear();
    this.protos.clear();
    this.v4.clear();
    this.v6.clear();
    this.lines.clear();
    this.others.clear();
    this.others6.clear();
    this.active.clear();
  }
}

function bump<K>(m: Map<K, number>, k: K): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}
