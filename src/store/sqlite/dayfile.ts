// One day file: open with the configured pragmas, write a day's share of a batch in one transaction,
// and read it back (records, original lines, counters).
import Database from 'better-sqlite3';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { NatRecord } from '../../parse/types.js';
import { eventCode, eventName, ipFromDb, ipToDb, protoCode, protoName } from '../codes.js';
import { fault } from '../../fault.js';
import { DDL, MAX_RECORDS_PER_LINE, RAW_BLOCK, SCHEMA_VERSION } from './schema.js';

export interface DayOptions {
  journalMode: string;
  synchronous: string;
  cacheSizeMiB: number;
  maxPageCount: number;
  readonly?: boolean;
}

/** One spooled message destined for this day. */
export interface DayLine {
  /** Spool end position of the message (for exactly-once). */
  end: number;
  payload: Buffer;
  device: string;
  /** ms since epoch used to file unparsed/ignored lines. */
  time: number;
  status: 'records' | 'unparsed' | 'ignored';
  vendor: string | null;
  reason: string | null;
  /** Records of this day from this message. */
  records: NatRecord[];
}

export interface DayCommitResult {
  records: number;
  lines: number;
  unparsed: number;
  ignored: number;
  skipped: number;
}

export class DayFile {
  readonly db: Database.Database;
  private readonly dayStartMs: number;
  private readonly devices = new Map<string, number>();
  private readonly vocab = new Map<string, number>();
  private spoolPos: number;
  private readonly st: ReturnType<DayFile['prepare']>;

  constructor(readonly path: string, readonly day: string, opts: DayOptions) {
    this.db = new Database(path, { readonly: !!opts.readonly, fileMustExist: !!opts.readonly, timeout: 5000 });
    this.dayStartMs = Date.parse(`${day}T00:00:00Z`);
    if (!opts.readonly) {
      this.db.pragma(`journal_mode = ${opts.journalMode}`);
      this.db.pragma(`synchronous = ${opts.synchronous}`);
      this.db.pragma(`cache_size = ${-opts.cacheSizeMiB * 1024}`);
      this.db.pragma('temp_store = MEMORY');
      if (opts.maxPageCount > 0) this.db.pragma(`max_page_count = ${opts.maxPageCount}`);
      this.db.exec(DDL);
      this.db.prepare(`INSERT OR IGNORE INTO meta VALUES ('schema_version', ?), ('day', ?), ('spool_pos', 0), ('records', 0), ('unparsed', 0), ('ignored', 0), ('lines', 0)`).run(SCHEMA_VERSION, day);
    }
    this.spoolPos = Number(this.meta('spool_pos') ?? 0);
    this.st = this.prepare();
    if (!opts.readonly) {
      for (const r of this.db.prepare('SELECT id, address FROM device').all() as { id: number; address: string }[]) this.devices.set(r.address, r.id);
      for (const r of this.db.prepare('SELECT kind, name, id FROM vocab').all() as { kind: string; name: string; id: number }[]) this.vocab.set(`${r.kind}\0${r.name}`, r.id);
    }
  }

  private prepare() {
    const ro = this.db.readonly;
    return {
      meta: this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
      setMeta: ro ? null : this.db.prepare('UPDATE meta SET value = ? WHERE key = ?'),
      addMeta: ro ? null : this.db.prepare('UPDATE meta SET value = value + ? WHERE key = ?'),
      nextRaw: this.db.prepare('SELECT coalesce(max(id), 0) + 1 FROM raw').pluck(),
      insRaw: ro ? null : this.db.prepare('INSERT INTO raw (id, n, data) VALUES (?, ?, ?)'),
      insNat: ro ? null : this.db.prepare('INSERT INTO nat VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      insLine: ro ? null : this.db.prepare('INSERT INTO line (id, t, device, status, reason) VALUES (?, ?, ?, ?, ?)'),
      insDevice: ro ? null : this.db.prepare('INSERT INTO device (address) VALUES (?)'),
      insVocab: ro ? null : this.db.prepare('INSERT INTO vocab (kind, name, id) VALUES (?, ?, (SELECT coalesce(max(id), 0) + 1 FROM vocab WHERE kind = ?)) RETURNING id').pluck(),
      raw: this.db.prepare('SELECT data FROM raw WHERE id = ?').pluck(),
    };
  }

  meta(key: string): unknown {
    return this.st ? this.st.meta.get(key) : this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key);
  }

  /** Spool position committed into this file. */
  get committedPos(): number {
    return this.spoolPos;
  }

  /**
   * Write this day's share of a batch in ONE transaction, skipping messages at or below the
   * committed spool position, and move the position to `batchEnd`.
   */
  commit(lines: DayLine[], batchEnd: number): DayCommitResult {
    const res: DayCommitResult = { records: 0, lines: 0, unparsed: 0, ignored: 0, skipped: 0 };
    const todo = lines.filter((l) => l.end > this.spoolPos);
    res.skipped = lines.length - todo.length;
    if (batchEnd <= this.spoolPos) return res;
    const st = this.st;
    const tx = this.db.transaction(() => {
      let blockId = Number(st.nextRaw.get());
      for (let b = 0; b < todo.length; b += RAW_BLOCK) {
        const chunk = todo.slice(b, b + RAW_BLOCK);
        st.insRaw!.run(blockId, chunk.length, deflateRawSync(packLines(chunk), { level: 6 }));
        const rows: unknown[][] = [];
        chunk.forEach((l, i) => {
          const rawRef = blockId * RAW_BLOCK + i;
          const device = this.deviceId(l.device);
          res.lines++;
          if (l.status === 'records') {
            const vendor = this.vocabId('vendor', l.vendor ?? 'unknown');
            l.records.slice(0, MAX_RECORDS_PER_LINE).forEach((r, k) => {
              const natIp = ipToDb(r.nat_ip);
              if (natIp == null) return;
              const block = r.nat_port_start != null;
              rows.push([
                natIp,
                block ? r.nat_port_start : r.nat_port ?? -1,
                (r.time ?? l.time) - this.dayStartMs,
                rawRef * MAX_RECORDS_PER_LINE + k,
                block ? r.nat_port_end : null,
                ipToDb(r.src_ip),
                r.src_port,
                ipToDb(r.dst_ip),
                r.dst_port,
                vendor * 65536 + eventCode(r.event) * 1024 + protoCode(r.proto),
                device,
              ]);
            });
          } else {
            const reason = l.reason ? this.vocabId('reason', l.reason) : null;
            st.insLine!.run(rawRef, l.time - this.dayStartMs, device, l.status === 'unparsed' ? 1 : 2, reason);
            if (l.status === 'unparsed') res.unparsed++;
            else res.ignored++;
          }
        });
        // Insert in index order: neighbouring keys share pages, so the B-tree is touched less.
        rows.sort(compareNatRows);
        for (const r of rows) st.insNat!.run(r);
        res.records += rows.length;
        blockId++;
      }
      st.addMeta!.run(res.records, 'records');
      st.addMeta!.run(res.unparsed, 'unparsed');
      st.addMeta!.run(res.ignored, 'ignored');
      st.addMeta!.run(res.lines, 'lines');
      st.setMeta!.run(batchEnd, 'spool_pos');
      fault('commit'); // tests: die with the transaction written but not committed
    });
    try {
      tx();
    } catch (err) {
      // The cached ids may name rows the rollback removed.
      this.devices.clear();
      this.vocab.clear();
      for (const r of this.db.prepare('SELECT id, address FROM device').all() as { id: number; address: string }[]) this.devices.set(r.address, r.id);
      for (const r of this.db.prepare('SELECT kind, name, id FROM vocab').all() as { kind: string; name: string; id: number }[]) this.vocab.set(`${r.kind}\0${r.name}`, r.id);
      throw err;
    }
    this.spoolPos = batchEnd;
    return res;
  }

  private deviceId(address: string): number {
    let id = this.devices.get(address);
    if (id === undefined) {
      id = Number(this.st.insDevice!.run(address).lastInsertRowid);
      this.devices.set(address, id);
    }
    return id;
  }

  private vocabId(kind: string, name: string): number {
    const key = `${kind}\0${name}`;
    let id = this.vocab.get(key);
    if (id === undefined) {
      id = Number(this.st.insVocab!.get(kind, name, kind));
      this.vocab.set(key, id);
    }
    return id;
  }

  /** The exact bytes of the message behind a raw ref, or null. */
  rawLine(rawRef: number): Buffer | null {
    const block = Math.floor(rawRef / RAW_BLOCK);
    const data = this.st.raw.get(block) as Buffer | undefined;
    if (!data) return null;
    return unpackLines(inflateRawSync(data))[rawRef % RAW_BLOCK] ?? null;
  }

  /** Every original message of this day in commit order (tests, export, re-parse). */
  *allRawLines(): Generator<Buffer> {
    for (const data of this.db.prepare('SELECT data FROM raw ORDER BY id').pluck().iterate() as Iterable<Buffer>) {
      yield* unpackLines(inflateRawSync(data));
    }
  }

  counters(): { records: number; unparsed: number; ignored: number; lines: number } {
    return {
      records: Number(this.meta('records') ?? 0),
      unparsed: Number(this.meta('unparsed') ?? 0),
      ignored: Number(this.meta('ignored') ?? 0),
      lines: Number(this.meta('lines') ?? 0),
    };
  }

  /** Decode nat rows back to records (query layer and tests). */
  decode(row: NatRow): StoredRecord {
    const vendorId = Math.floor(row.code / 65536);
    const rawRef = Math.floor(row.id / MAX_RECORDS_PER_LINE);
    return {
      vendor: this.vocabName('vendor', vendorId),
      event: eventName(Math.floor((row.code % 65536) / 1024)),
      proto: protoName(row.code % 1024),
      src_ip: ipFromDb(row.src_ip),
      src_port: row.src_port,
      nat_ip: ipFromDb(row.nat_ip),
      nat_port: row.port_end == null ? (row.nat_port < 0 ? null : row.nat_port) : null,
      nat_port_start: row.port_end == null ? null : row.nat_port,
      nat_port_end: row.port_end,
      dst_ip: ipFromDb(row.dst_ip),
      dst_port: row.dst_port,
      time: this.dayStartMs + row.t,
      device: this.deviceAddress(row.device),
      raw_ref: rawRef,
    };
  }

  private vocabName(kind: string, id: number): string {
    return (this.db.prepare('SELECT name FROM vocab WHERE kind = ? AND id = ?').pluck().get(kind, id) as string | undefined) ?? 'unknown';
  }

  private deviceAddress(id: number): string {
    return (this.db.prepare('SELECT address FROM device WHERE id = ?').pluck().get(id) as string | undefined) ?? 'unknown';
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

export interface NatRow {
  nat_ip: number | Buffer;
  nat_port: number;
  t: number;
  id: number;
  port_end: number | null;
  src_ip: number | Buffer | null;
  src_port: number | null;
  dst_ip: number | Buffer | null;
  dst_port: number | null;
  code: number;
  device: number;
}

export interface StoredRecord extends Omit<NatRecord, 'host' | 'time'> {
  time: number;
  device: string;
  raw_ref: number;
}

function compareNatRows(a: unknown[], b: unknown[]): number {
  const ai = a[0];
  const bi = b[0];
  if (typeof ai === 'number' && typeof bi === 'number') {
    if (ai !== bi) return ai - bi;
  } else if (typeof ai !== typeof bi) {
    return typeof ai === 'number' ? -1 : 1;
  } else {
    const c = Buffer.compare(ai as Buffer, bi as Buffer);
    if (c) return c;
  }
  return (a[1] as number) - (b[1] as number) || (a[2] as number) - (b[2] as number);
}

function packLines(lines: DayLine[]): Buffer {
  let size = 0;
  for (const l of lines) size += l.payload.length + 5;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const l of lines) {
    let n = l.payload.length;
    while (n >= 0x80) {
      out[at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    out[at++] = n;
    at += l.payload.copy(out, at);
  }
  return out.subarray(0, at);
}

export function unpackLines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    let n = 0;
    let shift = 0;
    let b: number;
    do {
      b = buf[at++]!;
      n += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80 && at < buf.length);
    out.push(buf.subarray(at, at + n));
    at += n;
  }
  return out;
}
