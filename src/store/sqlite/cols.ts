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

  /** The rows in `order` (a permutation of 0…n−1), as a new set sharing `blobs`. */
  permuted(order: Uint32Array): Cols {
    const n = this.n;
    const out = new Cols(0);
    out.c = this.c.map((a) => {
      const b = new Float64Array(n);
      for (let i = 0; i < n; i++) b[i] = a[order[i]!]!;
      return b;
    });
    out.n = n;
    out.blobs = this.blobs;
    return out;
  }
}

/**
 * The order of the rows by (nat_port, t, id): a merge sort of indices that takes the sorted runs as
 * they come, so the pieces of a merge (each sorted) cost a few linear passes, not a sort.
 */
export function sortedOrder(cols: Cols): Uint32Array {
  const n = cols.n;
  const port = cols.c[C_PORT]!;
  const t = cols.c[C_T]!;
  const id = cols.c[C_ID]!;
  let a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  if (n < 2) return a;
  const before = (x: number, y: number): boolean => (port[x] !== port[y] ? port[x]! < port[y]! : t[x] !== t[y] ? t[x]! < t[y]! : id[x]! < id[y]!);
  let runs: number[] = [0];
  for (let i = 1; i < n; i++) if (before(i, i - 1)) runs.push(i);
  runs.push(n);
  let b = new Uint32Array(n);
  while (runs.length > 2) {
    const next = [0];
    for (let k = 0; k + 1 < runs.length; k += 2) {
      const lo = runs[k]!;
      const mid = runs[k + 1]!;
      const hi = k + 2 < runs.length ? runs[k + 2]! : mid;
      let i = lo;
      let j = mid;
      let o = lo;
      while (i < mid && j < hi) b[o++] = before(a[j]!, a[i]!) ? a[j++]! : a[i++]!;
      while (i < mid) b[o++] = a[i++]!;
      while (j < hi) b[o++] = a[j++]!;
      next.push(hi);
    }
    runs = next;
    [a, b] = [b, a];
  }
  return a;
}
