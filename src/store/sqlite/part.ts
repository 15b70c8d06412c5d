// Packed record sets: the session records of one public address in one hour (or a piece of one),
// sorted by (nat_port, t, id), stored as one SQLite value (the `rec` table, schema.ts).
//
// Columns, in this order: nat_port, t, id, src_ip, src_port, dst_ip, dst_port, code, device. Each is
// stored on its own, at a fixed width, so that the port column can be binary-searched and any row
// read without decoding the others:
//
//   part      u8 FORMAT, varint n, 9 × column
//   column    u8 kind, then
//     kind 0  every value null; nothing follows
//     kind 1  frame of reference: f64 LE base, u8 scale exponent e (values are multiples of 10^e),
//             u8 width w (0–6), n × w bytes LE: value = base + stored·10^e
//     kind 2  as kind 1 with nulls: stored 0 is null, else value = base + (stored − 1)·10^e
//     kind 3  dictionary: varint k, k entries (u8 tag: 0 null, 1 f64 LE number, 2 varint length +
//             bytes), then the entry index of each row as a kind 1 column
//
// A dictionary is chosen when a column holds a blob (IPv6 addresses) or has at most n/4 distinct
// values (inside addresses behind one public address, protocols, devices); else a frame of
// reference (ports, times, ids). Times of lines with whole seconds take 2 bytes an hour, not 3.
import type { NatRow } from '../store.js';

const FORMAT = 1;
export const COLUMNS = ['nat_port', 't', 'id', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'code', 'device'] as const;
type Column = (typeof COLUMNS)[number];
const NCOL = COLUMNS.length;
const C_PORT = 0;
const C_T = 1;
const C_ID = 2;
const C_SRC = 3;
const C_SPORT = 4;
const C_DST = 5;
const C_DPORT = 6;
const C_CODE = 7;
const C_DEV = 8;
const POW10 = [1, 10, 100, 1000];

/** Sort order of a part: (nat_port, t, id). */
export function compareRows(a: NatRow, b: NatRow): number {
  return a.nat_port - b.nat_port || a.t - b.t || a.id - b.id;
}

// ---------------------------------------------------------------------------------------------------
// Writing

class Out {
  buf = Buffer.allocUnsafe(1 << 14);
  len = 0;

  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }

  varint(v: number): void {
    this.ensure(8);
    while (v >= 128) {
      this.buf[this.len++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.len);
    this.len += 8;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** n unsigned integers of `w` bytes, little endian. */
  fixed(vals: Float64Array, n: number, w: number): void {
    this.ensure(n * w);
    const buf = this.buf;
    let at = this.len;
    for (let i = 0; i < n; i++) {
      let v = vals[i]!;
      for (let k = 0; k < w; k++) {
        buf[at++] = v % 256;
        v = Math.floor(v / 256);
      }
    }
    this.len = at;
  }
}

const widthOf = (max: number): number => (max <= 0 ? 0 : max < 256 ? 1 : max < 65536 ? 2 : max < 2 ** 24 ? 3 : max < 2 ** 32 ? 4 : max < 2 ** 40 ? 5 : 6);

function writeFor(out: Out, vals: (number | null)[], n: number, nullable: boolean): void {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = vals[i];
    if (v == null) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === Infinity) {
    out.u8(0);
    return;
  }
  let e = 3;
  for (; e > 0; e--) {
    const p = POW10[e]!;
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      const v = vals[i];
      if (v != null && (v - min) % p !== 0) ok = false;
    }
    if (ok) break;
  }
  const p = POW10[e]!;
  const stored = new Float64Array(n);
  let top = 0;
  for (let i = 0; i < n; i++) {
    const v = vals[i];
    const s = v == null ? 0 : (v - min) / p + (nullable ? 1 : 0);
    stored[i] = s;
    if (s > top) top = s;
  }
  const w = widthOf(top);
  out.u8(nullable ? 2 : 1);
  out.f64(min);
  out.u8(e);
  out.u8(w);
  out.fixed(stored, n, w);
}

function writeColumn(out: Out, vals: (number | Buffer | null)[], n: number): void {
  let blobs = false;
  let nulls = false;
  const distinct = new Map<number | string, number>();
  const limit = Math.max(1, n >> 2);
  for (let i = 0; i < n; i++) {
    const v = vals[i];
    if (v == null) nulls = true;
    else if (typeof v !== 'number') blobs = true;
    if (distinct.size <= limit || blobs) {
      const k = v == null ? 'n' : typeof v === 'number' ? v : v.toString('latin1');
      if (!distinct.has(k)) distinct.set(k, distinct.size);
    }
  }
  if (!blobs && distinct.size > limit) {
    writeFor(out, vals as (number | null)[], n, nulls);
    return;
  }
  if (!blobs && distinct.size === 1 && !nulls) {
    writeFor(out, vals as (number | null)[], n, false);
    return;
  }
  out.u8(3);
  const entries: (number | Buffer | null)[] = [];
  const index = new Map<number | string, number>();
  const idx: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = vals[i] ?? null;
    const k = v == null ? 'n' : typeof v === 'number' ? v : v.toString('latin1');
    let j = index.get(k);
    if (j === undefined) {
      index.set(k, (j = entries.length));
      entries.push(v);
    }
    idx[i] = j;
  }
  out.varint(entries.length);
  for (const v of entries) {
    if (v == null) out.u8(0);
    else if (typeof v === 'number') {
      out.u8(1);
      out.f64(v);
    } else {
      out.u8(2);
      out.varint(v.length);
      out.bytes(v);
    }
  }
  writeFor(out, idx, n, false);
}

/** Pack rows (already sorted with compareRows) into one part. */
export function encodePart(rows: readonly NatRow[]): Buffer {
  const n = rows.length;
  const out = new Out();
  out.u8(FORMAT);
  out.varint(n);
  const col: (number | Buffer | null)[] = new Array(n);
  for (let c = 0; c < NCOL; c++) {
    const name: Column = COLUMNS[c]!;
    for (let i = 0; i < n; i++) col[i] = (rows[i]! as unknown as Record<Column, number | Buffer | null>)[name];
    if (c === C_PORT || c === C_T || c === C_ID) writeFor(out, col as number[], n, false);
    else writeColumn(out, col, n);
  }
  return Buffer.from(out.buf.subarray(0, out.len));
}

// ---------------------------------------------------------------------------------------------------
// Reading

interface ColView {
  /** 0 null, 1 FOR, 2 FOR with nulls, 3 dictionary. */
  kind: number;
  base: number;
  mul: number;
  w: number;
  /** Offset of the fixed-width values. */
  at: number;
  dict: (number | Buffer | null)[] | null;
}

/** A part read in place: any row, any column, without decoding the rest. */
export class Part {
  readonly n: number;
  private readonly cols: ColView[] = [];

  constructor(readonly data: Buffer) {
    if (data[0] !== FORMAT) throw new Error(`record part: unknown format ${data[0]}`);
    let at = 1;
    const varint = (): number => {
      let v = 0;
      let mul = 1;
      let b: number;
      do {
        b = data[at++]!;
        v += (b & 127) * mul;
        mul *= 128;
      } while (b & 128);
      return v;
    };
    this.n = varint();
    const readFor = (kind: number): ColView => {
      const base = data.readDoubleLE(at);
      const e = data[at + 8]!;
      const w = data[at + 9]!;
      const col = { kind, base, mul: POW10[e]!, w, at: at + 10, dict: null };
      at += 10 + w * this.n;
      return col;
    };
    for (let c = 0; c < NCOL; c++) {
      const kind = data[at++]!;
      if (kind === 0) this.cols.push({ kind, base: 0, mul: 1, w: 0, at, dict: null });
      else if (kind === 1 || kind === 2) this.cols.push(readFor(kind));
      else if (kind === 3) {
        const k = varint();
        const dict: (number | Buffer | null)[] = [];
        for (let j = 0; j < k; j++) {
          const tag = data[at++]!;
          if (tag === 0) dict.push(null);
          else if (tag === 1) {
            dict.push(data.readDoubleLE(at));
            at += 8;
          } else {
            const len = varint();
            dict.push(Buffer.from(data.subarray(at, at + len)));
            at += len;
          }
        }
        const idx = readFor(data[at++]!);
        this.cols.push({ ...idx, kind: 3, dict });
      } else throw new Error(`record part: unknown column kind ${kind}`);
    }
  }

  private raw(c: ColView, i: number): number {
    const d = this.data;
    let at = c.at + i * c.w;
    switch (c.w) {
      case 0:
        return 0;
      case 1:
        return d[at]!;
      case 2:
        return d[at]! | (d[at + 1]! << 8);
      default: {
        let v = 0;
        let mul = 1;
        for (let k = 0; k < c.w; k++, mul *= 256) v += d[at++]! * mul;
        return v;
      }
    }
  }

  /** Value of column c at row i. */
  get(c: number, i: number): number | Buffer | null {
    const col = this.cols[c]!;
    switch (col.kind) {
      case 0:
        return null;
      case 1:
        return col.base + this.raw(col, i) * col.mul;
      case 2: {
        const s = this.raw(col, i);
        return s === 0 ? null : col.base + (s - 1) * col.mul;
      }
      default:
        return col.dict![col.base + this.raw(col, i) * col.mul] ?? null;
    }
  }

  /** A number column that is never null at row i (nat_port, t, id, code, device). */
  num(c: number, i: number): number {
    const col = this.cols[c]!;
    if (col.kind === 1) return col.base + this.raw(col, i) * col.mul;
    return this.get(c, i) as number;
  }

  port(i: number): number {
    return this.num(C_PORT, i);
  }

  t(i: number): number {
    return this.num(C_T, i);
  }

  code(i: number): number {
    return this.num(C_CODE, i);
  }

  srcIp(i: number): number | Buffer | null {
    return this.get(C_SRC, i) as number | Buffer | null;
  }

  srcPort(i: number): number | null {
    return this.get(C_SPORT, i) as number | null;
  }

  device(i: number): number {
    return this.num(C_DEV, i);
  }

  /** First row with nat_port ≥ port (n when none). */
  lowerBound(port: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.port(mid) < port) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  row(natIp: number | Buffer, i: number): NatRow {
    return {
      nat_ip: natIp,
      nat_port: this.port(i),
      t: this.t(i),
      id: this.num(C_ID, i),
      port_end: null,
      src_ip: this.get(C_SRC, i) as number | Buffer | null,
      src_port: this.get(C_SPORT, i) as number | null,
      dst_ip: this.get(C_DST, i) as number | Buffer | null,
      dst_port: this.get(C_DPORT, i) as number | null,
      code: this.code(i),
      device: this.device(i),
    };
  }

  /** Every row, in the part's order. */
  rows(natIp: number | Buffer): NatRow[] {
    const out: NatRow[] = new Array(this.n);
    for (let i = 0; i < this.n; i++) out[i] = this.row(natIp, i);
    return out;
  }
}
