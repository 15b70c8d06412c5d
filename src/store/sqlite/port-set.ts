// The exact set of ports one public address used in one closed hour, split in PSET_SEGS segments of
// PSET_SPAN ports: one `pset` row per (address, segment, hour). A lookup of ip:port reads the rows of
// its port's segment, at most 24 (one a closed hour), and learns which hours hold the port without
// reading any record: a port used once a day is found in one hour, not looked for in 48.
//
// A segment's offsets (port − segment start, ascending) are stored as unsigned LEB128 gaps (the first
// offset, then each one less the previous minus one) while that is shorter than PSET_BITMAP bytes,
// else as a bitmap of PSET_SPAN bits. The length tells them apart: gaps are always shorter.
import { Bytes, rdEnd, readVarint } from '../line-codec/bytes.js';

export const PSET_SPAN = 4096;
export const PSET_SEGS = 65536 / PSET_SPAN;
const PSET_BITMAP = PSET_SPAN / 8;

/** Segment of a port (≥ 0). */
export const psetSeg = (port: number): number => Math.floor(port / PSET_SPAN);

/** Encode ascending distinct offsets in [0, PSET_SPAN): offs[from … to). */
export function encodeSegment(offs: ArrayLike<number>, from = 0, to = offs.length): Buffer {
  const out = new Bytes(PSET_BITMAP + 8);
  let prev = -1;
  for (let i = from; i < to; i++) {
    const o = offs[i]!;
    out.varint(o - prev - 1);
    prev = o;
    if (out.len >= PSET_BITMAP) break;
  }
  if (out.len < PSET_BITMAP) return out.take();
  const bits = Buffer.alloc(PSET_BITMAP);
  for (let i = from; i < to; i++) bits[offs[i]! >> 3]! |= 1 << (offs[i]! & 7);
  return bits;
}

/** Visit the offsets of an encoded segment in ascending order until `visit` returns false. */
function eachOffset(buf: Uint8Array, visit: (off: number) => boolean): void {
  if (buf.length === PSET_BITMAP) {
    for (let o = 0; o < PSET_SPAN; o++) if (buf[o >> 3]! & (1 << (o & 7)) && !visit(o)) return;
    return;
  }
  let prev = -1;
  for (let i = 0; i < buf.length; i = rdEnd) {
    prev += readVarint(buf, i) + 1;
    if (!visit(prev)) return;
  }
}

/** The offsets of an encoded segment, ascending. */
export function decodeSegment(buf: Uint8Array): number[] {
  const offs: number[] = [];
  eachOffset(buf, (o) => offs.push(o) > 0);
  return offs;
}

/** Whether an encoded segment holds the offset. */
export function segmentHas(buf: Uint8Array, off: number): boolean {
  if (buf.length === PSET_BITMAP) return (buf[off >> 3]! & (1 << (off & 7))) !== 0;
  let prev = -1;
  for (let i = 0; i < buf.length && prev < off; i = rdEnd) prev += readVarint(buf, i) + 1;
  return prev === off;
}

/** OR `bit` into masks[o] for each offset o of an encoded segment. */
export function segmentMark(buf: Uint8Array, masks: Uint32Array, bit: number): void {
  if (buf.length === PSET_BITMAP) {
    for (let o = 0; o < PSET_SPAN; o++) if (buf[o >> 3]! & (1 << (o & 7))) masks[o]! |= bit;
    return;
  }
  let prev = -1;
  for (let i = 0; i < buf.length; i = rdEnd) {
    prev += readVarint(buf, i) + 1;
    masks[prev]! |= bit;
  }
}

/** Scratch for portSegments: the ports sorted, then each segment's distinct offsets. */
let sortedPorts = new Float64Array(4096);
const segOffs = new Float64Array(PSET_SPAN);

/** The PSET_SEGS encoded segments of a set of ports (any order, repeats and ports < 0 ignored). */
export function portSegments(ports: ArrayLike<number>): Buffer[] {
  const n = ports.length;
  if (sortedPorts.length < n) sortedPorts = new Float64Array(Math.max(n, sortedPorts.length * 2));
  const sorted = sortedPorts.subarray(0, n);
  sorted.set(ports);
  sorted.sort();
  const segs: Buffer[] = [];
  let i = 0;
  while (i < n && !(sorted[i]! >= 0)) i++;
  for (let seg = 0; seg < PSET_SEGS; seg++) {
    const end = (seg + 1) * PSET_SPAN;
    let k = 0;
    for (; i < n && sorted[i]! < end; i++) {
      const o = sorted[i]! - seg * PSET_SPAN;
      if (k === 0 || segOffs[k - 1] !== o) segOffs[k++] = o;
    }
    segs.push(encodeSegment(segOffs, 0, k));
  }
  return segs;
}
