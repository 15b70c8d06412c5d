// The writer's form of a set of session records: one Float64Array a field, no object a record. A
// commit files its records per (public address, hour) into these, a merge or a packing reads parts
// back into one (Part.appendTo), sorts it once (sortedOrder) and writes it (part.ts encodeCols).
//
// Columns are a part's, in its order (part.ts header). Null is NaN. An IPv6 address (src_ip, dst_ip) is
// stored as −1 − k for the k-th buffer of `blobs`; IPv4 addresses are their integer (< 2^32).
import type { NatRow } from '../store.js';

export const NCOL = 10;
export const C_PORT = 0;
export const C_T = 1;
export const C_ID = 2;
export const C_SRC = 3;
export const C_SPORT = 4;
export const C_DST = 5;
export const C_DPORT = 6;
export const C_CODE = 7;
export const C_DEV = 8;
export const C_LOGIN = 9;

export class Cols {
  n = 0;
  /** One array a column (C_PORT … C_LOGIN), at least n long. */
  c: Float64Array[];
  /** The IPv6 addresses the ip columns name (−1 − k); shared by the sets permuted() makes. */
  blobs: Buffer[] = [];

  constructor(cap = 64) {
    this.c = Array.from({ length: NCOL }, () => new Float64Array(cap));
  }

  /** Room for `n` rows in all. */
  reserve(n: number): void {
    const cap = this.c[0]!.length;
    if (n <= cap) return;
    const size = Math.max(n, cap * 2);
    this.c = this.c.map((a) => {
      const b = new Float64Array(size);
      b.set(a.subarray(0, this.n));
      return b;
    });
  }

  /** An address as stored in an ip column (see the header). */
  ip(v: number | Buffer | null | undefined): number {
    if (v == null) return NaN;
    if (typeof v === 'number') return v;
    this.blobs.push(v);
    return -this.blobs.length;
  }

  /** Append one record (addresses already as ip() returns them; null as NaN). */
  push(port: number, t: number, id: number, src: number, sport: number, dst: number, dport: number, code: number, device: number, login: number): void {
    const i = this.n;
    if (i === this.c[0]!.length) this.reserve(i + 1);
    const c = this.c;
    c[C_PORT]![i] = port;
    c[C_T]![i] = t;
    c[C_ID]![i] = id;
    c[C_SRC]![i] = src;
    c[C_SPORT]![i] = sport;
    c[C_DST]![i] = dst;
    c[C_DPORT]![i] = dport;
    c[C_CODE]![i] = code;
    c[C_DEV]![i] = device;
    c[C_LOGIN]![i] = login;
    this.n = i + 1;
  }

  static fromRows(rows: readonly NatRow[]): Cols {
    const out = new Cols(Math.max(1, rows.length));
    const num = (v: number | null | undefined) => (v == null ? NaN : v);
    for (const r of rows) out.push(r.nat_port, r.t, r.id, out.ip(r.src_ip), num(r.src_port), out.ip(r.dst_ip), num(r.dst_port), r.code, r.device, num(r.login));
    return out;
  }

  /** Drop arrays longer than `maxRows` (a scratch set kept between uses holds at most that much). */
  shrink(maxRows: number): void {
    if (this.c[0]!.length <= maxRows) return;
    this.c = Array.from({ length: NCOL }, () => new Float64Array(64));
    this.n = 0;
    this.blobs = [];
  }

  /** Empty again (its arrays kept), naming no IPv6 address. */
  clear(): void {
    this.n = 0;
    if (this.blobs.length) this.blobs = [];
  }

  /**
   * The rows in `order` (a permutation of 0…n−1) as a set sharing `blobs`: `into` (overwritten; the
   * writer's scratch, so that a merge does not allocate ten arrays a time), else a new one.
   */
  permuted(order: Uint32Array, into?: Cols): Cols {
    const n = this.n;
    const out = into ?? new Cols(0);
    if (into) {
      into.n = 0;
      into.reserve(n);
    }
    for (let c = 0; c < NCOL; c++) {
      const a = this.c[c]!;
      const b = into ? into.c[c]! : (out.c[c] = new Float64Array(n));
      for (let i = 0; i < n; i++) b[i] = a[order[i]!]!;
    }
    out.n = n;
    out.blobs = this.blobs;
    return out;
  }
}

/** sortedOrder's two arrays, reused: what it returns is valid until its next call. */
let orderA = new Uint32Array(4096);
let orderB = new Uint32Array(4096);
/** sortedOrder's run starts (two lists: a pass reads one and writes the other). */
let runA = new Uint32Array(4096);
let runB = new Uint32Array(4096);

/**
 * The order of the rows by (nat_port, t, id): a merge sort of indices that takes the sorted runs as
 * they come, so the pieces of a merge (each sorted) cost a few linear passes, not a sort. The array
 * returned is valid until the next call.
 */
export function sortedOrder(cols: Cols): Uint32Array {
  const n = cols.n;
  const port = cols.c[C_PORT]!;
  const t = cols.c[C_T]!;
  const id = cols.c[C_ID]!;
  if (orderA.length < n) {
    orderA = new Uint32Array(Math.max(n, orderA.length * 2));
    orderB = new Uint32Array(orderA.length);
  }
  let a = orderA.subarray(0, n);
  for (let i = 0; i < n; i++) a[i] = i;
  if (n < 2) return a;
  const before = (x: number, y: number): boolean => (port[x] !== port[y] ? port[x]! < port[y]! : t[x] !== t[y] ? t[x]! < t[y]! : id[x]! < id[y]!);
  if (runA.length < n + 1) {
    runA = new Uint32Array(Math.max(n + 1, runA.length * 2));
    runB = new Uint32Array(runA.length);
  }
  // Starts of the sorted runs, then n.
  let runs = runA;
  let next = runB;
  let nr = 0;
  runs[nr++] = 0;
  for (let i = 1; i < n; i++) if (before(i, i - 1)) runs[nr++] = i;
  runs[nr++] = n;
  let b = orderB.subarray(0, n);
  while (nr > 2) {
    let nn = 0;
    next[nn++] = 0;
    for (let k = 0; k + 1 < nr; k += 2) {
      const lo = runs[k]!;
      const mid = runs[k + 1]!;
      const hi = k + 2 < nr ? runs[k + 2]! : mid;
      let i = lo;
      let j = mid;
      let o = lo;
      while (i < mid && j < hi) b[o++] = before(a[j]!, a[i]!) ? a[j++]! : a[i++]!;
      while (i < mid) b[o++] = a[i++]!;
      while (j < hi) b[o++] = a[j++]!;
      next[nn++] = hi;
    }
    const r = runs;
    runs = next;
    next = r;
    nr = nn;
    const x = a;
    a = b;
    b = x;
  }
  return a;
}
