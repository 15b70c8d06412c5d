// The original-line format before the line codec, kept for the benches alone as the baseline the codec
// is measured against (test/bench/evidence.ts, line-codec.ts): lines deflated in 256-line chunks with
// a per-day dictionary, behind a table of chunk offsets.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { DayLine } from '../../src/store/store.js';

/**
 * deflate level of raw blocks (1024 lines). On the bench's MikroTik mix: 6 → 34.6 B/line at ~200 k
 * lines/s of one core; 5 → 36.8 B at ~300 k; 9 → 34.2 B at ~150 k; brotli at any quality within
 * 1 B of deflate on blocks this size. Compression was 15 % of the committer thread at level 6.
 */
export const RAW_DEFLATE_LEVEL = 5;
/**
 * Raw blocks written with a day dictionary are cut in chunks of RAW_CHUNK lines deflated apart, so
 * that one line costs inflating ~60 KB (~0.1 ms) instead of ~250 KB. On the bench's MikroTik mix
 * (lines of ~245 B, level 5), offset table included: 1,024-line blocks 36.8 B/line; 256-line chunks
 * 37.8 B without a dictionary, 36.6 B with 32 KB of the day's first lines (8 KB: 36.8 B); 128-line
 * chunks 36.9 B (~0.06 ms a line) but twice the deflate streams to set up on the committer's thread
 * (each loads the dictionary), 64: 37.3 B, 32: 38.1 B.
 *
 *   chunked block   0x07, u16 LE lines per chunk c, u16 LE chunks k, k × u32 LE end offset of
 *                   chunk j after the header, chunks; chunk j = deflateRaw(lines j·c …, dictionary
 *                   = meta raw_dict). c is written, so RAW_CHUNK may change between versions.
 *   whole block     deflateRaw(all lines): the first byte of a deflate stream never has BTYPE 11
 *                   (bits 1–2 set), so 0x07 cannot start one.
 *   meta raw_dict   ≤ RAW_DICT_BYTES of the first commit's packed lines, set once per file (by the
 *                   first commit with at least RAW_DICT_MIN bytes of lines; blocks before are whole).
 */
export const RAW_CHUNK = 256;
export const CHUNKED = 0x07;
const RAW_DICT_BYTES = 32 * 1024;
const RAW_DICT_MIN = 8 * 1024;

/** The dictionary of a file's chunked blocks from its first lines, or null when they are too few. */
export function rawDictionary(lines: DayLine[]): Buffer | null {
  const packed = packLines(lines.slice(0, 256));
  return packed.length >= RAW_DICT_MIN ? Buffer.from(packed.subarray(0, RAW_DICT_BYTES)) : null;
}

/** A raw block: chunked with the day dictionary when the file has one, else one deflate stream. */
export function packBlock(lines: DayLine[], dict: Buffer | null): Buffer {
  if (!dict) return deflateRawSync(packLines(lines), { level: RAW_DEFLATE_LEVEL });
  const parts: Buffer[] = [];
  for (let c = 0; c < lines.length; c += RAW_CHUNK) parts.push(deflateRawSync(packLines(lines.slice(c, c + RAW_CHUNK)), { level: RAW_DEFLATE_LEVEL, dictionary: dict }));
  return frameChunks(parts);
}

/** Chunks deflated separately, framed as one chunked block (the layout `chunkOf` reads). */
export function frameChunks(parts: Buffer[]): Buffer {
  const head = Buffer.allocUnsafe(5 + 4 * parts.length);
  head[0] = CHUNKED;
  head.writeUInt16LE(RAW_CHUNK, 1);
  head.writeUInt16LE(parts.length, 3);
  let end = 0;
  parts.forEach((p, j) => head.writeUInt32LE((end += p.length), 5 + 4 * j));
  return Buffer.concat([head, ...parts]);
}

/** Whether a raw block is chunked (else one deflate stream). */
export function isChunked(data: Buffer): boolean {
  return data.length > 0 && data[0] === CHUNKED;
}

/** Lines per chunk of a chunked block. */
export function chunkLines(data: Buffer): number {
  return data.readUInt16LE(1);
}

/** Compressed bytes of chunk j of a chunked block, or null when it has no such chunk. */
export function chunkOf(data: Buffer, j: number): Buffer | null {
  const k = data.readUInt16LE(3);
  if (j >= k) return null;
  const base = 5 + 4 * k;
  return data.subarray(base + (j === 0 ? 0 : data.readUInt32LE(5 + 4 * (j - 1))), base + data.readUInt32LE(5 + 4 * j));
}

/** Every line of a raw block, in order (`dict`: the file's meta raw_dict). */
export function blockLines(data: Buffer, dict: Buffer | null): Buffer[] {
  if (!isChunked(data)) return unpackLines(inflateRawSync(data));
  const out: Buffer[] = [];
  for (let j = 0, c = chunkOf(data, 0); c; c = chunkOf(data, ++j)) out.push(...unpackLines(inflateRawSync(c, { dictionary: dict! })));
  return out;
}

export function packLines(lines: DayLine[]): Buffer {
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

/**
 * Line `index` of packed lines (as packLines writes them), without splitting the others; null when
 * `buf` ends before that line does (an inflated prefix of a block).
 */
export function lineAt(buf: Buffer, index: number): Buffer | null {
  for (let i = 0, at = 0; at < buf.length; i++) {
    const [n, from] = lenAt(buf, at);
    if (i === index) return from + n <= buf.length ? buf.subarray(from, from + n) : null;
    at = from + n;
  }
  return null;
}

export function unpackLines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const [n, from] = lenAt(buf, at);
    out.push(buf.subarray(from, from + n));
    at = from + n;
  }
  return out;
}

/** The varint line length at `at` (packLines' format) and the offset just after it. */
function lenAt(buf: Buffer, at: number): [number, number] {
  let n = 0;
  let shift = 0;
  let b: number;
  do {
    b = buf[at++]!;
    n += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80 && at < buf.length);
  return [n, at];
}
