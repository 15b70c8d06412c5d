// Bytes of the line codec: LEB128 varints, decimal digits written and read in place, word characters.
import { corrupt } from './types.js';

export const WORD = new Uint8Array(256);
for (let c = 0; c < 256; c++) WORD[c] = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 ? 1 : 0;

/** A growable byte buffer with LEB128 varints (values up to 2^53). */
export class Bytes {
  buf: Buffer;
  len = 0;

  constructor(size = 1 << 14) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }

  varint(v: number): void {
    this.ensure(8);
    const b = this.buf;
    while (v >= 128) {
      b[this.len++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    b[this.len++] = v;
  }

  bytes(src: Uint8Array, s: number, e: number): void {
    this.ensure(e - s);
    const b = this.buf;
    let at = this.len;
    if (e - s > 32) at += Buffer.prototype.copy.call(src, b, at, s, e) as number;
    else for (let i = s; i < e; i++) b[at++] = src[i]!;
    this.len = at;
  }

  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

/** Where the last readVarint ended. */
export let rdEnd = 0;

export function readVarint(buf: Uint8Array, at: number): number {
  let b = buf[at++];
  if (b === undefined) corrupt('truncated');
  if (b < 128) {
    rdEnd = at;
    return b;
  }
  let v = b & 127;
  let mul = 128;
  for (;;) {
    b = buf[at++];
    if (b === undefined || mul > 2 ** 49) corrupt('bad varint');
    v += (b & 127) * mul;
    if (b < 128) break;
    mul *= 128;
  }
  rdEnd = at;
  return v;
}

export function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Decimal digits of a non-negative integer, written at `pos`; the new position. */
export function writeDec(n: number, out: Uint8Array, pos: number): number {
  if (n < 10) {
    out[pos] = 48 + n;
    return pos + 1;
  }
  if (n < 2_147_483_648) {
    // Ports, octets, counters: integer arithmetic.
    const len = n < 100 ? 2 : n < 1000 ? 3 : n < 10_000 ? 4 : n < 100_000 ? 5 : n < 1_000_000 ? 6 : n < 10_000_000 ? 7 : n < 100_000_000 ? 8 : n < 1_000_000_000 ? 9 : 10;
    const end = pos + len;
    for (let i = end - 1; i >= pos; i--) {
      const q = (n / 10) | 0;
      out[i] = 48 + n - q * 10;
      n = q;
    }
    return end;
  }
  let len = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) len++;
  const end = pos + len;
  for (let i = end - 1; i >= pos; i--) {
    out[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}

/** `n` zero-padded to `width` digits at `pos`; the new position. */
export function writeFixed(n: number, width: number, out: Uint8Array, pos: number): number {
  const end = pos + width;
  for (let i = end - 1; i >= pos; i--) {
    out[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}

/** Value of buf[s, e) when it is 1–12 ASCII digits, else −1. */
export function digitsValue(buf: Uint8Array, s: number, e: number): number {
  if (e - s > 12 || e <= s) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

export function sameBytes(a: Uint8Array, as: number, b: Uint8Array, bs: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[as + i] !== b[bs + i]) return false;
  return true;
}
