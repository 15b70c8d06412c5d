// The ClickHouse layout: one table, `rec`, partitioned by UTC day, holding every record, every
// kept line and the commit marks, so that one INSERT writes a day's share of a batch, its original
// lines and its spool position together (one part, all or nothing). docs/clickhouse.md explains it.
//
//   rec: one row per
//     record     kind 0: the NAT record; `raw` its original line, exact bytes
//     line       kind 1 unparsed / 2 ignored: the line (nat_ip zero)
//     mark       kind 3: `pos` = the batch's spool end: the position this site has committed
//     session    kind 4: a RADIUS accounting packet, kept (not read by the subscriber step yet)
//   day Date · site UInt16 · pos UInt64 (the line's spool end) · kind UInt8
//   id UInt64 = ((seq·64 + k)·1024 + site): seq counts the site's lines in the day, k a line's record
//   t UInt32 (ms since the day's 00:00 UTC)
//   nat_ip, src_ip, dst_ip FixedString(16): IPv6 bytes; IPv4 as 12 zero bytes and its 4 bytes
//   nat_port, port_end, src_port, dst_port Int32 (−1: none) · nulls UInt8 (bit 0: no src_ip, 1: no dst_ip)
//   code UInt32 (event·1024 + protocol, store/codes.ts) · device, vendor, reason String
//   login String: the subscriber login the line named ('' for none)
//   raw String (CODEC(ZSTD(3)) where the server has codecs; LZ4 otherwise)
//   PARTITION BY day  ORDER BY (nat_ip, nat_port, t, id)
//
// With `clickhouse_cluster`, each processor writes its own server's `rec` (one part, atomic: a
// Distributed insert would split a batch across shards) and readers read `rec_all`, a Distributed
// table over the cluster's `rec` tables.
import type { NatRow } from '../store.js';
import type { Features } from './client.js';

export const SCHEMA_VERSION = 1;
export const KIND_RECORD = 0;
export const KIND_UNPARSED = 1;
export const KIND_IGNORED = 2;
export const KIND_MARK = 3;
/** A RADIUS accounting packet, kept whole (raw) with its time and sender. */
export const KIND_SESSION = 4;
/** id = (seq·RECORDS_PER_LINE + k)·SITES + site. */
export const SITES = 1024;
export const RECORDS_PER_LINE = 64;

export const COLUMNS = ['day', 'site', 'pos', 'kind', 'id', 't', 'nat_ip', 'nat_port', 'port_end', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'code', 'nulls', 'device', 'vendor', 'reason', 'login', 'raw'] as const;

export function tableDdl(db: string, f: Features): string {
  const z = f.codecs ? ' CODEC(ZSTD(3))' : '';
  return `CREATE TABLE IF NOT EXISTS ${db}.rec (
  day Date, site UInt16, pos UInt64, kind UInt8, id UInt64, t UInt32,
  nat_ip FixedString(16), nat_port Int32, port_end Int32,
  src_ip FixedString(16), src_port Int32, dst_ip FixedString(16), dst_port Int32,
  code UInt32, nulls UInt8, device String, vendor String, reason String, login String,
  raw String${z}
) ENGINE = MergeTree PARTITION BY day ORDER BY (nat_ip, nat_port, t, id)`;
}

export function distributedDdl(db: string, cluster: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.rec_all AS ${db}.rec ENGINE = Distributed(${cluster}, ${db}, rec, rand())`;
}

/** An address as the table keeps it (16 bytes). */
export function addr16(ip: number | Buffer): Buffer {
  if (typeof ip !== 'number') return ip;
  const b = Buffer.alloc(16);
  b.writeUInt32BE(ip >>> 0, 12);
  return b;
}

/** unhex('…') of an address: a literal made of hex digits only. */
export function addrSql(ip: number | Buffer): string {
  return `unhex('${addr16(ip).toString('hex')}')`;
}

/** Back from 16 bytes: a number for IPv4 (12 zero bytes first), else the bytes. */
export function addrOf(b: Buffer): number | Buffer {
  for (let i = 0; i < 12; i++) if (b[i] !== 0) return Buffer.from(b);
  return b.readUInt32BE(12);
}


/** Days since 1970-01-01 of a `YYYY-MM-DD` (a Date column's RowBinary value). */
export function dayNumber(day: string): number {
  return Math.round(Date.parse(`${day}T00:00:00Z`) / 86_400_000);
}

/** The literal of a day for SQL: checked against YYYY-MM-DD, never spliced as given. */
export function daySql(day: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new TypeError(`not a day: ${day}`);
  return `toDate('${day}')`;
}

/** Grows one RowBinary buffer (little-endian; String = LEB128 length + bytes). */
export class RowWriter {
  buf = Buffer.allocUnsafe(1 << 16);
  n = 0;
  rows = 0;

  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + k));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.n++] = v;
  }
  u16(v: number): void {
    this.room(2);
    this.n = this.buf.writeUInt16LE(v, this.n);
  }
  u32(v: number): void {
    this.room(4);
    this.n = this.buf.writeUInt32LE(v >>> 0, this.n);
  }
  i32(v: number): void {
    this.room(4);
    this.n = this.buf.writeInt32LE(v, this.n);
  }
  u64(v: number): void {
    this.room(8);
    this.buf.writeUInt32LE(v % 4294967296, this.n);
    this.buf.writeUInt32LE(Math.floor(v / 4294967296), this.n + 4);
    this.n += 8;
  }
  /** An address as 16 bytes (addr16) without a Buffer for IPv4. */
  addr(ip: number | Buffer | null): void {
    this.room(16);
    if (ip == null || typeof ip === 'number') {
      this.buf.fill(0, this.n, this.n + 12);
      this.buf.writeUInt32BE(ip == null ? 0 : ip >>> 0, this.n + 12);
      this.n += 16;
    } else this.fixed16(ip);
  }
  fixed16(b: Buffer): void {
    this.room(16);
    this.buf.set(b.subarray(0, 16), this.n);
    this.n += 16;
  }
  bytes(b: Buffer): void {
    let len = b.length;
    this.room(len + 10);
    do {
      let byte = len & 0x7f;
      len = Math.floor(len / 128);
      if (len) byte |= 0x80;
      this.buf[this.n++] = byte;
    } while (len);
    this.buf.set(b, this.n); // TypedArray.set: Buffer.copy costs microseconds a call on short lines
    this.n += b.length;
  }
  private readonly strs = new Map<string, Buffer>();
  /** A short string that repeats (device, vendor, reason): encoded once. */
  str(s: string): void {
    let b = this.strs.get(s);
    if (!b) {
      b = Buffer.from(s, 'utf8');
      if (this.strs.size < 4096) this.strs.set(s, b);
    }
    this.bytes(b);
  }
  done(): Buffer {
    return this.buf.subarray(0, this.n);
  }
}

/** Reads a RowBinary answer. */
export class RowReader {
  o = 0;
  constructor(readonly buf: Buffer) {}
  get more(): boolean {
    return this.o < this.buf.length;
  }
  u8(): number {
    return this.buf[this.o++]!;
  }
  u32(): number {
    const v = this.buf.readUInt32LE(this.o);
    this.o += 4;
    return v;
  }
  i32(): number {
    const v = this.buf.readInt32LE(this.o);
    this.o += 4;
    return v;
  }
  u64(): number {
    const v = Number(this.buf.readBigUInt64LE(this.o));
    this.o += 8;
    return v;
  }
  fixed16(): Buffer {
    const b = this.buf.subarray(this.o, this.o + 16);
    this.o += 16;
    return b;
  }
  bytes(): Buffer {
    let len = 0;
    let mul = 1;
    for (;;) {
      const byte = this.buf[this.o++]!;
      len += (byte & 0x7f) * mul;
      if (!(byte & 0x80)) break;
      mul *= 128;
    }
    const b = this.buf.subarray(this.o, this.o + len);
    this.o += len;
    return b;
  }
}

/** The columns a read of rows selects, in the order readRow takes them. */
export const ROW_SELECT = 'nat_ip, nat_port, t, id, port_end, src_ip, src_port, dst_ip, dst_port, code, nulls, device, login';

/** One row of ROW_SELECT; `device` and `login` numbered by the caller's interns. */
export function readRow(r: RowReader, device: (address: string) => number, login: (name: string) => number): NatRow {
  const nat = addrOf(r.fixed16());
  const nat_port = r.i32();
  const t = r.u32();
  const id = r.u64();
  const pe = r.i32();
  const src = r.fixed16();
  const sp = r.i32();
  const dst = r.fixed16();
  const dp = r.i32();
  const code = r.u32();
  const nulls = r.u8();
  const dev = r.bytes().toString('utf8');
  const lg = r.bytes();
  return {
    nat_ip: nat,
    nat_port,
    t,
    id,
    port_end: pe < 0 ? null : pe,
    src_ip: nulls & 1 ? null : addrOf(src),
    src_port: sp < 0 ? null : sp,
    dst_ip: nulls & 2 ? null : addrOf(dst),
    dst_port: dp < 0 ? null : dp,
    code,
    device: device(dev),
    login: lg.length ? login(lg.toString('utf8')) : null,
  };
}
