// Packed record sets: the session records of one public address in one hour (or a piece of one),
// sorted by (nat_port, t, id), stored as one SQLite value (the `rec` table, schema.ts).
//
// Columns, in this order: nat_port, t, id, src_ip, src_port, dst_ip, dst_port, code, device, login
// (the day file's id of the subscriber login, schema.ts; null when the line named none). Each is
// stored on its own, at a fixed width, so that the port column can be binary-searched and any row
// read without decoding the others:
//
//   part      u8 FORMAT, varint n, 10 × column
//   column    u8 kind, then
//     kind 0  every value null; nothing follows
//     kind 1  frame of reference: f64 LE base, u8 scale exponent e (values are multiples of 10^e),
//             u8 width w in bits (0–45), ⌈n·w/8⌉ bytes: the n stored values bit-packed, least
//             significant bit first; value = base + stored·10^e
//     kind 2  as kind 1 with nulls: stored 0 is null, else value = base + (stored − 1)·10^e
//     kind 3  dictionary: varint k, k entries (u8 tag: 0 null, 1 f64 LE number, 2 varint length +
//             bytes), then the entry index of each row as a kind 1 column
//     kind 4  dictionary of whole numbers ≥ 0: u8 has-null, varint k, the k numbers ascending as
//             varint deltas (the first as its value); then the index of each row as a kind 1
//             column (with has-null, index 0 is null and the numbers start at 1)
//     kind 5  (login only) a function of the IPv4 inside address: varint k, then k pairs (src_ip
//             ascending as varint deltas, the first as its value; varint login, 0 null); nothing a
//             row. A row's login is its address's; a row without an IPv4 address has none. Used
//             when every row of an address names the same login (a PPP session holds its address)
//             and it is smaller: a login then costs a few bytes an address, not bits a row.
//
// A column holding a blob (IPv6 addresses) is a dictionary; a column of numbers is whichever of a
// frame of reference and a dictionary takes fewer bits: the inside addresses behind one public
// address, protocols and devices come out as dictionaries, ports, times and ids as frames. Times of
// lines with whole seconds take 12 bits in an hour.
import type { NatRow } from '../store.js';
import { Bytes } from '../line-codec/bytes.js';
import { C_CODE, C_DEV, C_DPORT, C_DST, C_ID, C_LOGIN, C_PORT, C_SPORT, C_SRC, C_T, Cols, NCOL } from './cols.js';

const FORMAT = 3;
/** Widest bit-packed value (a sum of ≤ 7 + 45 bits stays an exact double). */
const MAX_BITS = 45;
const POW2 = Array.from({ length: 54 }, (_, i) => 2 ** i);
const POW10 = [1, 10, 100, 1000];

/** Sort order of a part: (nat_port, t, id). */
export function compareRows(a: NatRow, b: NatRow): number {
  return a.nat_port - b.nat_port || a.t - b.t || a.id - b.id;
}

// ---------------------------------------------------------------------------------------------------
// Writing (from columns, cols.ts: null is NaN)

/** The line codec's growable bytes, with what a part also writes: bytes, doubles, bit-packed values. */
class Out extends Bytes {
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.len);
    this.len += 8;
  }

  blob(b: Uint8Array): void {
    this.bytes(b, 0, b.length);
  }

  /** n unsigned integers of `w` bits each, packed least significant bit first. */
  bits(vals: ArrayLike<number>, n: number, w: number): void {
    if (w === 0) return;
    const bytes = Math.ceil((n * w) / 8);
    this.ensure(bytes + 8);
    const buf = this.buf;
    let at = this.len;
    if (w <= 24) {
      // small widths (all but ids and wide frames): a 32-bit accumulator
      let acc = 0;
      let nacc = 0;
      for (let i = 0; i < n; i++) {
        acc |= vals[i]! << nacc;
        nacc += w;
        while (nacc >= 8) {
          buf[at++] = acc & 255;
          acc >>>= 8;
          nacc -= 8;
        }
      }
      if (nacc > 0) buf[at++] = acc;
      this.len = at;
      return;
    }
    let acc = 0;
    let nacc = 0;
    for (let i = 0; i < n; i++) {
      acc += vals[i]! * POW2[nacc]!;
      nacc += w;
      while (nacc >= 8) {
        const b = acc % 256;
        buf[at++] = b;
        acc = (acc - b) / 256;
        nacc -= 8;
      }
    }
    if (nacc > 0) buf[at++] = acc;
    this.len = at;
  }
}

function widthOf(max: number): number {
  let w = 0;
  while (w < 53 && POW2[w]! <= max) w++;
  if (w > MAX_BITS) throw new Error(`record part: a value needs ${w} bits`);
  return w;
}

/** Scratch for the values a frame of reference stores. */
let stored = new Float64Array(4096);

/** Kind 1, or 2 when `nullable` (NaN is null). */
function writeFor(out: Out, vals: Float64Array, nullable: boolean): void {
  const n = vals.length;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = vals[i]!;
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
      const v = vals[i]!;
      if (v === v && (v - min) % p !== 0) ok = false;
    }
    if (ok) break;
  }
  const p = POW10[e]!;
  if (stored.length < n) stored = new Float64Array(Math.max(n, stored.length * 2));
  const add = nullable ? 1 : 0;
  let top = 0;
  for (let i = 0; i < n; i++) {
    const v = vals[i]!;
    const s = v !== v ? 0 : (v - min) / p + add;
    stored[i] = s;
    if (s > top) top = s;
  }
  const w = widthOf(top);
  out.u8(nullable ? 2 : 1);
  out.f64(min);
  out.u8(e);
  out.u8(w);
  out.bits(stored, n, w);
}

/**
 * A set of numbers (no NaN) with a number for each, kept in typed arrays and reused: the distinct
 * values of a column are counted, and a dictionary's indexes found, without a `Set` or `Map`, whose
 * entries (and the boxed numbers above 2^30 they hold: ids, addresses) were ~40 % of what a commit
 * allocated.
 */
class NumMap {
  private keys = new Float64Array(0);
  private vals = new Float64Array(0);
  private stamp = new Uint32Array(0);
  private gen = 0;
  private mask = 0;
  /** Keys in the order they came. */
  order = new Float64Array(0);
  size = 0;

  /** Empty, with room for `cap` keys. */
  reset(cap: number): void {
    let len = 64;
    while (len < cap * 2) len *= 2;
    if (len > this.keys.length) {
      this.keys = new Float64Array(len);
      this.vals = new Float64Array(len);
      this.stamp = new Uint32Array(len);
      this.order = new Float64Array(len >> 1);
      this.gen = 0;
    }
    this.mask = len - 1;
    this.size = 0;
    if (++this.gen === 0xffffffff) {
      this.stamp.fill(0);
      this.gen = 1;
    }
  }

  /** The slot of `k`: where it is, or where it would go. */
  private slot(k: number): number {
    const h = Math.imul((k | 0) ^ ((k / 4294967296) | 0), 0x9e3779b1);
    let i = (h ^ (h >>> 15)) & this.mask;
    while (this.stamp[i] === this.gen && this.keys[i] !== k) i = (i + 1) & this.mask;
    return i;
  }

  /** Add `k` (value 0) unless there. */
  add(k: number): void {
    const i = this.slot(k);
    if (this.stamp[i] === this.gen) return;
    this.stamp[i] = this.gen;
    this.keys[i] = k;
    this.vals[i] = 0;
    this.order[this.size++] = k;
  }

  /** The value of `k`, or NaN when it is not there. */
  get(k: number): number {
    const i = this.slot(k);
    return this.stamp[i] === this.gen ? this.vals[i]! : NaN;
  }

  set(k: number, v: number): void {
    const i = this.slot(k);
    if (this.stamp[i] !== this.gen) {
      this.stamp[i] = this.gen;
      this.keys[i] = k;
      this.order[this.size++] = k;
    }
    this.vals[i] = v;
  }
}

/** The distinct numbers of the column being written (writeColumn, writeNumberDict). */
const distinct = new NumMap();
/** The login of each inside address (writeLoginColumn). */
const byAddress = new NumMap();

/**
 * A column of numbers (NaN null; with `blobs`, an ip column whose negative values name IPv6
 * addresses, cols.ts): the cheaper of a frame of reference and a dictionary, a dictionary of entries
 * when it holds addresses of 16 bytes.
 */
function writeColumn(out: Out, vals: Float64Array, blobs: Buffer[] | null): void {
  const n = vals.length;
  let hasBlobs = false;
  let nulls = false;
  let min = Infinity;
  let max = -Infinity;
  const limit = Math.max(1, n >> 1);
  distinct.reset(limit + 1);
  for (let i = 0; i < n; i++) {
    const v = vals[i]!;
    if (v !== v) nulls = true;
    else if (blobs && v < 0) hasBlobs = true;
    else {
      if (v < min) min = v;
      if (v > max) max = v;
      if (distinct.size <= limit) distinct.add(v);
    }
  }
  if (!hasBlobs) {
    // The cheaper of a frame of reference and a dictionary (~3 bytes an entry, then an index a row).
    const k = distinct.size + (nulls ? 1 : 0);
    const forBits = n * (min === Infinity ? 0 : widthOf(max - min + (nulls ? 1 : 0)));
    const dictBits = distinct.size > limit ? Infinity : distinct.size * 24 + n * widthOf(k - 1);
    if (forBits <= dictBits) writeFor(out, vals, nulls);
    else writeNumberDict(out, vals, nulls);
    return;
  }
  out.u8(3);
  const entries: (number | Buffer | null)[] = [];
  const index = new Map<number | string, number>();
  const idx = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = vals[i]!;
    const v = x !== x ? null : x < 0 ? blobs![-1 - x]! : x;
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
      out.blob(v);
    }
  }
  writeFor(out, idx, false);
}

/** Scratch for a dictionary's numbers and its rows' indexes. */
let dictNums = new Float64Array(256);
let dictIdx = new Float64Array(4096);

/** Kind 4: the distinct numbers (in `distinct`) ascending, as varint deltas, and each row's index. */
function writeNumberDict(out: Out, vals: Float64Array, nulls: boolean): void {
  const k = distinct.size;
  if (dictNums.length < k) dictNums = new Float64Array(Math.max(k, dictNums.length * 2));
  const sorted = dictNums.subarray(0, k);
  sorted.set(distinct.order.subarray(0, k));
  sorted.sort();
  for (let j = 0; j < k; j++) {
    const v = sorted[j]!;
    if (v < 0 || !Number.isInteger(v)) {
      writeFor(out, vals, nulls);
      return;
    }
  }
  out.u8(4);
  out.u8(nulls ? 1 : 0);
  out.varint(k);
  let prev = 0;
  for (let j = 0; j < k; j++) {
    const v = sorted[j]!;
    out.varint(v - prev);
    prev = v;
    distinct.set(v, j + (nulls ? 1 : 0));
  }
  const n = vals.length;
  if (dictIdx.length < n) dictIdx = new Float64Array(Math.max(n, dictIdx.length * 2));
  const idx = dictIdx.subarray(0, n);
  for (let i = 0; i < n; i++) {
    const v = vals[i]!;
    idx[i] = v !== v ? 0 : distinct.get(v);
  }
  writeFor(out, idx, false);
}

/** One output buffer for every part (grown when needed): the part is copied out once. */
const shared = new Out();
/** Scratch for the login column's two encodings (the smaller is copied into the part). */
const scratch = new Out();

/**
 * The login column: kind 5 (a function of the inside address, see the header) when every row agrees
 * with it and it is smaller than the column written as any other.
 */
function writeLoginColumn(out: Out, src: Float64Array, col: Float64Array): void {
  const n = col.length;
  let agrees = true;
  let any = false;
  byAddress.reset(n);
  for (let i = 0; i < n; i++) {
    const s = src[i]!;
    const login = col[i]!;
    if (login === login) {
      any = true;
      if (!Number.isInteger(login) || login < 1) {
        agrees = false;
        break;
      }
    }
    if (!(s >= 0)) {
      // no IPv4 inside address (null or IPv6): then no login either
      if (login === login) {
        agrees = false;
        break;
      }
      continue;
    }
    const v = login === login ? login : 0;
    const had = byAddress.get(s);
    if (had !== had) byAddress.set(s, v);
    else if (had !== v) {
      agrees = false;
      break;
    }
  }
  if (!agrees || !any) {
    writeColumn(out, col, null);
    return;
  }
  const nKeys = byAddress.size;
  if (dictNums.length < nKeys) dictNums = new Float64Array(Math.max(nKeys, dictNums.length * 2));
  const keys = dictNums.subarray(0, nKeys);
  keys.set(byAddress.order.subarray(0, nKeys));
  keys.sort();
  const at = out.len;
  out.u8(5);
  out.varint(nKeys);
  let prev = 0;
  for (let j = 0; j < nKeys; j++) {
    const k = keys[j]!;
    out.varint(k - prev);
    prev = k;
    out.varint(byAddress.get(k));
  }
  const mine = out.len - at;
  // The column written as any other, when smaller (writeColumn reuses dictNums: the keys are written).
  scratch.len = 0;
  writeColumn(scratch, col, null);
  if (mine > scratch.len) {
    out.len = at;
    out.bytes(scratch.buf, 0, scratch.len);
  }
}

/** Pack rows [from, to) of `cols`, already sorted by (nat_port, t, id) (cols.ts sortedOrder), into one part. */
export function encodeCols(cols: Cols, from = 0, to = cols.n): Buffer {
  const out = shared;
  out.len = 0;
  out.u8(FORMAT);
  out.varint(to - from);
  const col = (c: number) => cols.c[c]!.subarray(from, to);
  writeFor(out, col(C_PORT), false);
  writeFor(out, col(C_T), false);
  writeFor(out, col(C_ID), false);
  writeColumn(out, col(C_SRC), cols.blobs);
  writeColumn(out, col(C_SPORT), null);
  writeColumn(out, col(C_DST), cols.blobs);
  writeColumn(out, col(C_DPORT), null);
  writeColumn(out, col(C_CODE), null);
  writeColumn(out, col(C_DEV), null);
  writeLoginColumn(out, col(C_SRC), col(C_LOGIN));
  return Buffer.from(out.buf.subarray(0, out.len));
}

/** Pack rows (already sorted with compareRows) into one part. */
export function encodePart(rows: readonly NatRow[]): Buffer {
  return encodeCols(Cols.fromRows(rows));
}

// ---------------------------------------------------------------------------------------------------
// Reading

/**
 * One column of a part as read. A class, every field always set: one hidden class for every kind, so
 * that appendTo's loop over columns stays monomorphic (object literals of five shapes made it box
 * ~80 bytes a row).
 */
class ColView {
  constructor(
    /** 0 null, 1 FOR, 2 FOR with nulls, 3 dictionary, 4 dictionary of numbers, 5 a function of the inside address. */
    readonly kind: number,
    readonly base: number,
    readonly mul: number,
    readonly w: number,
    /** Offset of the fixed-width values. */
    readonly at: number,
    readonly dict: (number | Buffer | null)[] | null = null,
    /** Kind 4: the dictionary's numbers (NaN: null). */
    readonly nums: Float64Array | null = null,
    /** Kind 5: the inside addresses, ascending, and the value of each (0: null). */
    readonly keys: Float64Array | null = null,
    readonly vals: Float64Array | null = null,
  ) {}

  /** This column's layout (an index column's) with another kind and its tables. */
  as(kind: number, dict: (number | Buffer | null)[] | null, nums: Float64Array | null): ColView {
    return new ColView(kind, this.base, this.mul, this.w, this.at, dict, nums);
  }
}

/** Index of `v` in ascending `sorted` from `from` on (binary search), or −1. */
function indexIn(sorted: Float64Array, v: number, from = 0): number {
  let lo = from;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo] === v ? lo : -1;
}

/** A kind 5 column's value for IPv4 inside address `src` (0 when it has none). */
function addressValue(col: ColView, src: number): number {
  const at = indexIn(col.keys!, src);
  return at < 0 ? 0 : col.vals![at]!;
}

/** Whether two addresses as the store keeps them (IPv4 integer, IPv6 bytes) are the same. */
function sameAddress(a: number | Buffer, b: number | Buffer): boolean {
  return typeof a === 'number' || typeof b === 'number' ? a === b : a.equals(b);
}

/** A part read in place: any row, any column, without decoding the rest. */
export class Part {
  readonly n: number;
  private readonly cols: ColView[] = [];

  /** `columnBytes`: filled with the bytes each column takes in `data`, its kind byte included (the storage bench's breakdown). */
  constructor(readonly data: Buffer, columnBytes?: number[]) {
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
      if (kind === 0) return new ColView(1, 0, 1, 0, at);
      const base = data.readDoubleLE(at);
      const e = data[at + 8]!;
      const w = data[at + 9]!;
      const col = new ColView(kind, base, POW10[e]!, w, at + 10);
      at += 10 + Math.ceil((w * this.n) / 8);
      return col;
    };
    for (let c = 0; c < NCOL; c++) {
      const from = at;
      const kind = data[at++]!;
      if (kind === 0) this.cols.push(new ColView(kind, 0, 1, 0, at));
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
        this.cols.push(idx.as(3, dict, null));
      } else if (kind === 4) {
        // One typed array, not an array of numbers: addresses above 2^31 would each be an object,
        // and a reader caches hundreds of parts (the collector copies what they hold).
        const hasNull = data[at++] === 1;
        const k = varint();
        const nums = new Float64Array(k + (hasNull ? 1 : 0));
        let j = 0;
        if (hasNull) nums[j++] = NaN;
        let v = 0;
        for (let e = 0; e < k; e++) nums[j++] = v += varint();
        const idx = readFor(data[at++]!);
        this.cols.push(idx.as(4, null, nums));
      } else if (kind === 5) {
        const k = varint();
        const keys = new Float64Array(k);
        const vals = new Float64Array(k);
        let v = 0;
        for (let j = 0; j < k; j++) {
          keys[j] = v += varint();
          vals[j] = varint();
        }
        this.cols.push(new ColView(kind, 0, 1, 0, at, null, null, keys, vals));
      } else throw new Error(`record part: unknown column kind ${kind}`);
      columnBytes?.push(at - from);
    }
  }

  private raw(c: ColView, i: number): number {
    const w = c.w;
    if (w === 0) return 0;
    const d = this.data;
    const bit = i * w;
    const at = c.at + (bit >>> 3);
    const shift = bit & 7;
    if (shift + w <= 24) {
      const v = d[at]! | ((d[at + 1] ?? 0) << 8) | ((d[at + 2] ?? 0) << 16);
      return (v >>> shift) & ((1 << w) - 1);
    }
    const need = (shift + w + 7) >>> 3;
    let v = 0;
    for (let k = 0, mul = 1; k < need; k++, mul *= 256) v += d[at + k]! * mul;
    return Math.floor(v / POW2[shift]!) % POW2[w]!;
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
      case 4: {
        const v = col.nums![col.base + this.raw(col, i) * col.mul];
        return v === undefined || v !== v ? null : v;
      }
      case 5:
        return this.byAddress(col, i);
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

  login(i: number): number | null {
    return this.get(C_LOGIN, i) as number | null;
  }

  /** A kind 5 value: the one of row i's inside address (binary search), null without one. */
  private byAddress(col: ColView, i: number): number | null {
    const src = this.get(C_SRC, i);
    return typeof src === 'number' ? addressValue(col, src) || null : null;
  }

  /**
   * The rows whose inside address is `src`, ascending. A dictionary column is searched once for it and
   * its codes compared, row by row, without reading an address back.
   */
  rowsOfSrc(src: number | Buffer): number[] {
    const col = this.cols[C_SRC]!;
    const out: number[] = [];
    let at = -1;
    if (col.kind === 4 && typeof src === 'number') {
      const nums = col.nums!;
      at = indexIn(nums, src, nums.length && Number.isNaN(nums[0]!) ? 1 : 0); // NaN (null) first, when present
      if (at < 0) return out;
    } else if (col.kind === 3) {
      at = col.dict!.findIndex((v) => v != null && sameAddress(v, src));
      if (at < 0) return out;
    } else {
      for (let i = 0; i < this.n; i++) {
        const v = this.get(C_SRC, i);
        if (v != null && sameAddress(v as number | Buffer, src)) out.push(i);
      }
      return out;
    }
    const code = (at - col.base) / col.mul;
    if (!Number.isInteger(code)) return out;
    for (let i = 0; i < this.n; i++) if (this.raw(col, i) === code) out.push(i);
    return out;
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
      login: this.login(i),
    };
  }

  /** Append every row to `out` (the writer's merges and packing: a pass a column, no object a row). */
  appendTo(out: Cols): void {
    const n = this.n;
    const at = out.n;
    out.reserve(at + n);
    for (let c = 0; c < NCOL; c++) {
      const col = this.cols[c]!;
      const dst = out.c[c]!;
      switch (col.kind) {
        case 0:
          dst.fill(NaN, at, at + n);
          break;
        case 1:
          for (let i = 0; i < n; i++) dst[at + i] = col.base + this.raw(col, i) * col.mul;
          break;
        case 2:
          for (let i = 0; i < n; i++) {
            const s = this.raw(col, i);
            dst[at + i] = s === 0 ? NaN : col.base + (s - 1) * col.mul;
          }
          break;
        case 5: {
          // after the inside addresses (C_SRC < C_LOGIN)
          const src = out.c[C_SRC]!;
          for (let i = 0; i < n; i++) {
            const s = src[at + i]!;
            dst[at + i] = (s >= 0 && addressValue(col, s)) || NaN;
          }
          break;
        }
        case 4: {
          const nums = col.nums!;
          for (let i = 0; i < n; i++) dst[at + i] = nums[col.base + this.raw(col, i) * col.mul] ?? NaN;
          break;
        }
        default: {
          const vals = col.dict!.map((v) => (v == null ? NaN : typeof v === 'number' ? v : out.ip(v)));
          for (let i = 0; i < n; i++) dst[at + i] = vals[col.base + this.raw(col, i) * col.mul] ?? NaN;
        }
      }
    }
    out.n = at + n;
  }

  /** Every row, in the part's order. */
  rows(natIp: number | Buffer): NatRow[] {
    const out: NatRow[] = new Array(this.n);
    for (let i = 0; i < this.n; i++) out[i] = this.row(natIp, i);
    return out;
  }
}
