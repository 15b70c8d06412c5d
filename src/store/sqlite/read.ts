// Read-only access to day files for the query layer: the few statements a forensic answer needs,
// each one B-tree descent (nat primary key or nat_by_src), plus the device activity probes behind
// the no_match / no_data distinction. Opens files read-only; never writes, never creates a file.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import type Database from 'better-sqlite3';
import { dayStart } from '../codes.js';
import { DayFile, unpackLines, type NatRow } from './dayfile.js';
import { MAX_RECORDS_PER_LINE, RAW_BLOCK } from './schema.js';

export type { NatRow } from './dayfile.js';

/** SQL of the lookups, exported so a test can check their plans with EXPLAIN QUERY PLAN. */
export const READ_SQL = {
  /** Rows of one public ip:port from time t on, in time order (one descent, then a forward walk). */
  port: 'SELECT * FROM nat WHERE nat_ip = ? AND nat_port = ? AND t >= ? ORDER BY nat_port, t, id',
  /** Port blocks of one public ip whose first port lies in [lo, port] and whose last port is ≥ port. */
  blocks: 'SELECT * FROM nat WHERE nat_ip = ? AND nat_port BETWEEN ? AND ? AND port_end >= ? ORDER BY nat_port, t, id',
  /** Every row of one public ip, by port then time (IP-only requests). */
  ip: 'SELECT * FROM nat WHERE nat_ip = ? ORDER BY nat_port, t, id',
  /** Rows of one inside address over a time range. */
  src: 'SELECT * FROM nat WHERE src_ip = ? AND t BETWEEN ? AND ? ORDER BY t, id',
  /** Devices that logged a public ip this day. */
  owners: 'SELECT DISTINCT device FROM nat WHERE nat_ip = ?',
  /** Did a device send a record in [lo, hi]? Stops at the first row; a silent device costs a scan. */
  natActive: 'SELECT 1 FROM nat WHERE device = ? AND t BETWEEN ? AND ? LIMIT 1',
  /** …or an unparsed/ignored line? */
  lineActive: 'SELECT 1 FROM line WHERE device = ? AND t BETWEEN ? AND ? LIMIT 1',
  /** One deflate block of original messages. */
  rawBlock: 'SELECT data FROM raw WHERE id = ?',
} as const;

/** One day file opened read-only, with its statements prepared and its device table loaded. */
export class DayReader {
  readonly file: DayFile;
  readonly start: number;
  private readonly st: { [K in keyof typeof READ_SQL]: Database.Statement };
  private readonly rawCache = new Map<number, Buffer[]>();
  private readonly devAddr = new Map<number, string>();
  private readonly devId = new Map<string, number>();

  constructor(readonly path: string, readonly day: string) {
    this.file = new DayFile(path, day, { journalMode: '', synchronous: '', cacheSizeMiB: 16, maxPageCount: 0, readonly: true });
    this.start = dayStart(day);
    const db = this.file.db;
    this.st = Object.fromEntries(Object.entries(READ_SQL).map(([k, sql]) => [k, db.prepare(sql)])) as DayReader['st'];
    (this.st.rawBlock as Database.Statement).pluck();
    for (const r of db.prepare('SELECT id, address FROM device').all() as { id: number; address: string }[]) {
      this.devAddr.set(r.id, r.address);
      this.devId.set(r.address, r.id);
    }
  }

  /** The reader for `<dir>/<day>.db`, or null when there is no such file. */
  static open(dir: string, day: string): DayReader | null {
    const path = join(dir, `${day}.db`);
    if (!existsSync(path)) return null;
    return new DayReader(path, day);
  }

  /** Rows of natIp:port with absolute time ≥ fromMs, in time order (lazy). */
  portRows(natIp: number | Buffer, port: number, fromMs: number): IterableIterator<NatRow> {
    return this.st.port.iterate(natIp, port, Math.max(fromMs - this.start, Number.MIN_SAFE_INTEGER)) as IterableIterator<NatRow>;
  }

  /** Block rows of natIp covering `port`, for blocks of at most `maxPorts` ports. */
  blockRows(natIp: number | Buffer, port: number, maxPorts: number): NatRow[] {
    return this.st.blocks.all(natIp, Math.max(0, port - maxPorts + 1), port, port) as NatRow[];
  }

  ipRows(natIp: number | Buffer): IterableIterator<NatRow> {
    return this.st.ip.iterate(natIp) as IterableIterator<NatRow>;
  }

  srcRows(srcIp: number | Buffer, fromMs: number, toMs: number): IterableIterator<NatRow> {
    return this.st.src.iterate(srcIp, fromMs - this.start, toMs - this.start) as IterableIterator<NatRow>;
  }

  /** Addresses of the devices that logged natIp in this file. */
  owners(natIp: number | Buffer): string[] {
    return (this.st.owners.all(natIp) as { device: number }[]).map((r) => this.deviceAddress(r.device));
  }

  /** Whether the device at `address` sent anything (a record or a kept line) with time in [fromMs, toMs]. */
  deviceActive(address: string, fromMs: number, toMs: number): boolean {
    const id = this.devId.get(address);
    if (id === undefined) return false;
    const lo = fromMs - this.start;
    const hi = toMs - this.start;
    return this.st.natActive.get(id, lo, hi) !== undefined || this.st.lineActive.get(id, lo, hi) !== undefined;
  }

  deviceAddress(id: number): string {
    return this.devAddr.get(id) ?? 'unknown';
  }

  /** The exact bytes the device sent for a nat row. */
  rawOf(row: NatRow): Buffer | null {
    const ref = Math.floor(row.id / MAX_RECORDS_PER_LINE);
    const block = Math.floor(ref / RAW_BLOCK);
    let lines = this.rawCache.get(block);
    if (!lines) {
      const data = this.st.rawBlock.get(block) as Buffer | undefined;
      if (!data) return null;
      lines = unpackLines(inflateRawSync(data));
      // A few inflated blocks are kept: a bulk answer or an IP-only list reads neighbouring lines.
      if (this.rawCache.size >= 8) this.rawCache.delete(this.rawCache.keys().next().value as number);
      this.rawCache.set(block, lines);
    }
    return lines[ref % RAW_BLOCK] ?? null;
  }

  /** EXPLAIN QUERY PLAN details of one of READ_SQL (tests). */
  plan(name: keyof typeof READ_SQL): string[] {
    const n = (READ_SQL[name].match(/\?/g) ?? []).length;
    return (this.file.db.prepare(`EXPLAIN QUERY PLAN ${READ_SQL[name]}`).all(...new Array(n).fill(0)) as { detail: string }[]).map((r) => r.detail);
  }

  close(): void {
    this.file.close();
  }
}
