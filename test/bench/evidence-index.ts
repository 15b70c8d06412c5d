// The record columns an index needs anyway, in a simple columnar encoding (for the evidence bench,
// evidence.ts): blocks of 1,024 records sorted by (nat_ip, t, nat_port), one varint stream per
// column (delta + zigzag for the sorted key and the line pointer, the value + 1 for the others so
// that a missing port or address is 0), the streams concatenated and deflated per block.
//
// Two layouts:
//   sealed   the day's records sorted as a whole, then cut in blocks (what a compaction at day's end,
//            or an LSM merge, would leave): a block holds one public address or a few.
//   arrival  each block of 1,024 records in arrival order sorted on its own (what a commit could write
//            without merging): a block spans every public address.
// Counted per block: the deflated streams and a directory entry (first nat_ip, first t, offset:
// DIR_BYTES), the way to find the blocks of an address and time without reading the others.
import { deflateRawSync } from 'node:zlib';
import { eventCode, ipToDb, protoCode } from '../../src/store/codes.js';
import type { DayLine } from '../../src/store/sqlite/dayfile.js';

/** A growable byte buffer with LEB128 varints (values up to 2^53). */
class Bytes {
  buf = Buffer.allocUnsafe(1 << 16);
  len = 0;

  varint(v: number): void {
    if (this.len + 8 > this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    while (v >= 128) {
      this.buf[this.len++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  /** A copy of the bytes written. */
  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

export const INDEX_BLOCK = 1024;
/** Directory entry of a block: first nat_ip (4), first t (4), file offset (8). */
export const DIR_BYTES = 16;
/** Deflate level of the column blocks (small blocks: the level costs little time). */
export const INDEX_LEVEL = 6;

export interface IndexRow {
  natIp: number;
  t: number;
  natPort: number;
  portEnd: number;
  srcIp: number;
  srcPort: number;
  dstIp: number;
  dstPort: number;
  /** vendor·65536 + event·1024 + proto, as the nat table's code. */
  code: number;
  device: number;
  /** Line number of the day (the raw ref): the pointer from a record to its evidence. */
  line: number;
}

interface Column {
  name: string;
  get: (r: IndexRow) => number;
  delta: boolean;
  /** One of the columns the issue names (time, nat_port, src_ip, src_port, dst_ip, dst_port, proto), or the key. */
  core: boolean;
}

/**
 * Deltas for the sort key and the line pointer (small steps); plain values elsewhere: within a block
 * the same destination or port recurs, and deflate matches a recurring value but not a recurring
 * difference. In a trial (sealed layout, 64 K lines): dst_ip plain 3.7 B/record vs 4.5 as deltas
 * (MikroTik), 3.0 vs 4.5 (FortiGate); dst_port 0.5 vs 0.6; src_ip within 0.1 B either way.
 */
export const COLUMNS: Column[] = [
  { name: 'nat_ip', get: (r) => r.natIp, delta: true, core: true },
  { name: 't', get: (r) => r.t, delta: true, core: true },
  { name: 'nat_port', get: (r) => r.natPort, delta: false, core: true },
  { name: 'port_end', get: (r) => r.portEnd, delta: false, core: false },
  { name: 'src_ip', get: (r) => r.srcIp, delta: false, core: true },
  { name: 'src_port', get: (r) => r.srcPort, delta: false, core: true },
  { name: 'dst_ip', get: (r) => r.dstIp, delta: false, core: true },
  { name: 'dst_port', get: (r) => r.dstPort, delta: false, core: true },
  { name: 'code', get: (r) => r.code, delta: false, core: true },
  { name: 'device', get: (r) => r.device, delta: false, core: false },
  { name: 'line', get: (r) => r.line, delta: true, core: false },
];

/** Index rows of `lines` (line numbers from `first`), times in ms since `dayStart`. IPv4 only. */
export function indexRows(lines: DayLine[], first: number, dayStart: number): IndexRow[] {
  const devices = new Map<string, number>();
  const vendors = new Map<string, number>();
  const id = (m: Map<string, number>, k: string) => {
    let v = m.get(k);
    if (v === undefined) m.set(k, (v = m.size + 1));
    return v;
  };
  const ip = (s: string | null) => {
    const v = ipToDb(s);
    if (v != null && typeof v !== 'number') throw new Error('evidence index: IPv6 is not in this encoding');
    return v ?? -1;
  };
  const rows: IndexRow[] = [];
  lines.forEach((l, i) => {
    for (const r of l.records) {
      const block = r.nat_port_start != null;
      rows.push({
        natIp: ip(r.nat_ip),
        t: (r.time ?? l.time) - dayStart,
        natPort: (block ? r.nat_port_start : r.nat_port) ?? -1,
        portEnd: block ? r.nat_port_end ?? -1 : -1,
        srcIp: ip(r.src_ip),
        srcPort: r.src_port ?? -1,
        dstIp: ip(r.dst_ip),
        dstPort: r.dst_port ?? -1,
        code: id(vendors, l.vendor ?? '') * 65536 + eventCode(r.event) * 1024 + protoCode(r.proto),
        device: id(devices, l.device),
        line: first + i,
      });
    }
  });
  return rows;
}

function byKey(a: IndexRow, b: IndexRow): number {
  return a.natIp - b.natIp || a.t - b.t || a.natPort - b.natPort;
}

/** Each column of a block as its varint stream (`allDelta`: every column as deltas). */
function columnStreams(rows: IndexRow[], allDelta = false): Buffer[] {
  return COLUMNS.map((c) => {
    const b = new Bytes();
    let prev = 0;
    for (const r of rows) {
      const v = c.get(r);
      if (c.delta || allDelta) {
        b.varint(zigzag(v - prev));
        prev = v;
      } else b.varint(v + 1);
    }
    return b.take();
  });
}

export interface IndexCost {
  layout: 'sealed' | 'arrival';
  records: number;
  /** All columns, directory included, bytes per record. */
  perRecord: number;
  /** The columns and the key only. */
  corePerRecord: number;
  /** All columns, every one as delta + zigzag (the suggestion as it stands). */
  allDeltaPerRecord: number;
  /** Each column deflated alone, bytes per record (a breakdown: deflated together they cost perRecord). */
  byColumn: Record<string, number>;
  encodeRecordsPerSec: number;
}

/** Bytes per record of the rows in one layout. */
export function indexCost(rows: IndexRow[], layout: 'sealed' | 'arrival'): IndexCost {
  const t0 = process.cpuUsage();
  const blocks: IndexRow[][] = [];
  if (layout === 'sealed') {
    const all = [...rows].sort(byKey);
    for (let i = 0; i < all.length; i += INDEX_BLOCK) blocks.push(all.slice(i, i + INDEX_BLOCK));
  } else {
    for (let i = 0; i < rows.length; i += INDEX_BLOCK) blocks.push(rows.slice(i, i + INDEX_BLOCK).sort(byKey));
  }
  let total = 0;
  let core = 0;
  let allDelta = 0;
  const by: Record<string, number> = {};
  for (const c of COLUMNS) by[c.name] = 0;
  for (const block of blocks) {
    const streams = columnStreams(block);
    const head = new Bytes();
    for (const s of streams) head.varint(s.length);
    total += deflateRawSync(Buffer.concat([head.take(), ...streams]), { level: INDEX_LEVEL }).length + DIR_BYTES;
    core += deflateRawSync(Buffer.concat(streams.filter((_, k) => COLUMNS[k]!.core)), { level: INDEX_LEVEL }).length + DIR_BYTES;
  }
  const u = process.cpuUsage(t0);
  const ms = (u.user + u.system) / 1000;
  // The breakdown (not timed): each column's streams deflated alone; every column as deltas.
  for (const block of blocks) {
    allDelta += deflateRawSync(Buffer.concat(columnStreams(block, true)), { level: INDEX_LEVEL }).length + DIR_BYTES;
    columnStreams(block).forEach((s, k) => (by[COLUMNS[k]!.name]! += deflateRawSync(s, { level: INDEX_LEVEL }).length));
  }
  for (const k of Object.keys(by)) by[k]! /= rows.length;
  return { layout, records: rows.length, perRecord: total / rows.length, corePerRecord: core / rows.length, allDeltaPerRecord: allDelta / rows.length, byColumn: by, encodeRecordsPerSec: (rows.length * 1000) / ms };
}
