// One day at a glance, read from its day file: records per hour (and kept lines without a record),
// protocols, the busiest public addresses, and the devices that sent them. Read-only, parameterized.
// Summarized from the counts each commit adds to day_stat (day-stat.ts): a few hundred rows, whatever
// the day's size. The top list has DAILY_TOP entries. The file is opened read-only and never created.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ipFromDb, protoName } from '../codes.js';
import { STAT_ADDRESS, STAT_LINES, STAT_PROTO, STAT_RECORDS } from './day-stat.js';

export const DAILY_TOP = 15;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

export interface DailySummary {
  day: string;
  records: number;
  /** 24 entries, UTC hours of the day file. */
  hours: { hour: number; records: number; lines: number }[];
  protocols: { proto: string; records: number }[];
  top_public: { ip: string; records: number }[];
  devices: { address: string; records: number; lines: number }[];
  unparsed: number;
  ignored: number;
  /** Distinct subscriber logins the day's lines named (PPP interfaces, firewall users). */
  logins: number;
  /** Always false: the counts cover the whole file (kept for the JSON contract). */
  partial: boolean;
}

/** Days with a file in `dir`, newest first. */
export function listDays(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => /^\d{4}-\d{2}-\d{2}\.db$/.test(n))
      .map((n) => n.slice(0, 10))
      .sort()
      .reverse();
  } catch {
    return [];
  }
}

/** The summary of `day` (YYYY-MM-DD, a UTC day file), or null when there is no file for it. */
export function dailySummary(dir: string, day: string): DailySummary | null {
  if (!DAY_RE.test(day)) return null;
  const path = join(dir, `${day}.db`);
  if (!existsSync(path)) return null;
  const db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    const devices = new Map<number, { address: string; records: number; lines: number }>();
    for (const r of db.prepare('SELECT id, address FROM device').all() as { id: number; address: string }[]) devices.set(r.id, { address: r.address, records: 0, lines: 0 });
    const hours = Array.from({ length: 24 }, (_, hour) => ({ hour, records: 0, lines: 0 }));
    const protos = new Map<string, number>();
    let records = 0;
    let unparsed = 0;
    let ignored = 0;
    for (const r of db.prepare('SELECT kind, hour, key, n FROM day_stat WHERE kind IN (?, ?, ?)').all(STAT_RECORDS, STAT_PROTO, STAT_LINES) as { kind: number; hour: number; key: number; n: number }[]) {
      const h = hours[Math.min(23, Math.max(0, r.hour))]!;
      if (r.kind === STAT_RECORDS) {
        records += r.n;
        h.records += r.n;
        const dev = devices.get(r.key);
        if (dev) dev.records += r.n;
      } else if (r.kind === STAT_PROTO) {
        const name = protoName(r.key) ?? 'none';
        protos.set(name, (protos.get(name) ?? 0) + r.n);
      } else {
        h.lines += r.n;
        const dev = devices.get(r.key >> 2);
        if (dev) dev.lines += r.n;
        if ((r.key & 3) === 1) unparsed += r.n;
        else ignored += r.n;
      }
    }
    const top = db.prepare('SELECT key AS ip, n FROM day_stat WHERE kind = ? AND hour = -1 ORDER BY n DESC, key LIMIT ?').all(STAT_ADDRESS, DAILY_TOP) as { ip: unknown; n: number }[];
    // ids of `login` are given in order and never deleted: the largest is the count, read from the key
    const logins = Number(db.prepare('SELECT coalesce(max(id), 0) FROM login').pluck().get());
    return { ...summaryOf(day, records, hours, protos, top, devices, unparsed, ignored, false), logins };
  } finally {
    db.close();
  }
}

function summaryOf(
  day: string,
  records: number,
  hours: DailySummary['hours'],
  protos: Map<string, number>,
  top: { ip: unknown; n: number }[],
  devices: Map<number, { address: string; records: number; lines: number }>,
  unparsed: number,
  ignored: number,
  partial: boolean,
): Omit<DailySummary, 'logins'> {
  return {
    day,
    records,
    hours,
    protocols: [...protos].map(([proto, n]) => ({ proto, records: n })).sort((a, b) => b.records - a.records),
    top_public: top.map((r) => ({ ip: ipFromDb(r.ip) ?? '?', records: r.n })),
    devices: [...devices.values()].sort((a, b) => b.records + b.lines - (a.records + a.lines)),
    unparsed,
    ignored,
    partial,
  };
}
