// Stored blocks of the line codec (formats in store/line-codec.ts): opened for reading, deflated from
// the plain form, and keyed words packed as blobs.
import { deflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';
import { Bytes, rdEnd, readVarint } from './bytes.js';
import { DEFLATE_LEVEL, RESTART, corrupt, type KeyedWord } from './types.js';

export const FORMAT_PLAIN = 0;
const FORMAT_DEFLATE = 1;
const FORMAT_SEGMENTS = 2;
/**
 * Residues of a block above this many bytes (lines mostly stored whole) are deflated segment by
 * segment: a read inflates ~1/8 of the block, for a few % more bytes.
 */
const SEGMENTED_BYTES = 48 * 1024;


/** A stored block opened: its line count, and each segment's residues as buf[s] from start[s]. */
interface Plain {
  n: number;
  /** Per segment (k = ceil(n / RESTART)): its residues are buf[s][start[s], end[s]). */
  buf: (Buffer | undefined)[];
  start: number[];
  end: number[];
}

/** Segment lengths of a block header at `at` (k − 1 of them; the last segment runs to the end). */
function segmentTable(buf: Buffer, at: number, n: number, end: number): number[] {
  const k = Math.max(1, Math.ceil(n / RESTART));
  const start = [0];
  for (let i = 0; i < k - 1; i++) {
    start.push(start[i]! + readVarint(buf, at));
    at = rdEnd;
  }
  for (let i = 0; i < k; i++) start[i]! += at;
  if (start[k - 1]! > end) corrupt('segment table');
  start.push(end);
  return start;
}

/** Open a stored block; `only`: of a segmented block, inflate only that segment (null: all). */
export function unpack(block: Buffer, only: number | null = null): Plain {
  const fmt = block[0];
  if (fmt === FORMAT_SEGMENTS) {
    const n = readVarint(block, 1);
    const at = segmentTable(block, rdEnd, n, block.length);
    const p: Plain = { n, buf: [], start: [], end: [] };
    for (let s = 0; s < at.length - 1; s++) {
      const buf = only === null || s === only ? inflateRawSync(block.subarray(at[s], at[s + 1])) : undefined;
      p.buf.push(buf);
      p.start.push(0);
      p.end.push(buf?.length ?? 0);
    }
    return p;
  }
  const plain = fmt === FORMAT_DEFLATE ? inflateRawSync(block.subarray(1)) : fmt === FORMAT_PLAIN ? block.subarray(1) : corrupt(`block format ${fmt}`);
  const n = readVarint(plain, 0);
  const at = segmentTable(plain, rdEnd, n, plain.length);
  return { n, buf: at.slice(1).map(() => plain), start: at.slice(0, -1), end: at.slice(1) };
}

/** How a plain block is deflated: one stream, or (past SEGMENTED_BYTES) one per segment. */
function packPlan(plain: Buffer): { p: Plain; segmented: boolean } {
  if (plain[0] !== FORMAT_PLAIN) throw new TypeError('line codec: packBlock takes a plain block (finishPlain, toPlainBlock)');
  return { p: unpack(plain), segmented: plain.length > SEGMENTED_BYTES };
}

function segmentedBlock(n: number, parts: Buffer[]): Buffer {
  const head = new Bytes(64);
  head.buf[head.len++] = FORMAT_SEGMENTS;
  head.varint(n);
  for (let s = 0; s < parts.length - 1; s++) head.varint(parts[s]!.length);
  return Buffer.concat([head.buf.subarray(0, head.len), ...parts]);
}

function deflatedBlock(plain: Buffer, packed: Buffer): Buffer {
  return packed.length < plain.length - 1 ? Buffer.concat([Buffer.of(FORMAT_DEFLATE), packed]) : plain;
}

/** A plain block deflated (format 1, or 2 when its residues pass SEGMENTED_BYTES; left plain when deflate does not shrink it). */
export function packBlock(plain: Buffer, level = DEFLATE_LEVEL): Buffer {
  const { p, segmented } = packPlan(plain);
  if (segmented) return segmentedBlock(p.n, p.buf.map((b, s) => deflateRawSync(b!.subarray(p.start[s], p.end[s]), { level })));
  return deflatedBlock(plain, deflateRawSync(plain.subarray(1), { level }));
}

/** packBlock on libuv's thread pool (off the calling thread). */
export function packBlockAsync(plain: Buffer, level: number, done: (err: Error | null, block: Buffer | null) => void): void {
  let plan: ReturnType<typeof packPlan>;
  try {
    plan = packPlan(plain);
  } catch (err) {
    return done(err as Error, null);
  }
  const { p, segmented } = plan;
  if (!segmented) {
    deflateRaw(plain.subarray(1), { level }, (err, packed) => done(err, err ? null : deflatedBlock(plain, packed)));
    return;
  }
  const parts: Buffer[] = [];
  let left = p.buf.length;
  let failed: Error | null = null;
  p.buf.forEach((b, s) => {
    deflateRaw(b!.subarray(p.start[s], p.end[s]), { level }, (err, packed) => {
      if (err) failed = err;
      else parts[s] = packed;
      if (--left === 0) done(failed, failed ? null : segmentedBlock(p.n, parts));
    });
  });
}

/** Keyed words as one blob (the format in the header), for a store that keeps them so. */
export function packWords(words: readonly KeyedWord[], level = DEFLATE_LEVEL): Buffer {
  const b = new Bytes(1 << 12);
  for (const w of words) {
    if (typeof w.src === 'number') {
      b.ensure(5);
      b.buf[b.len++] = 4;
      b.buf.writeUInt32BE(w.src, b.len);
      b.len += 4;
    } else {
      if (w.src.length !== 16) throw new TypeError('line codec: an IPv6 src_ip is 16 bytes');
      b.ensure(17);
      b.buf[b.len++] = 6;
      b.bytes(w.src, 0, 16);
    }
    b.varint(w.shape);
    b.varint(w.index);
    b.varint(w.word.length);
    b.bytes(w.word, 0, w.word.length);
  }
  return deflateRawSync(b.buf.subarray(0, b.len), { level });
}

/** A stored block in the plain format (residues not deflated): to recompress it another way, or measure. */
export function toPlainBlock(block: Buffer): Buffer {
  const p = unpack(block);
  const head = new Bytes(64);
  head.buf[head.len++] = FORMAT_PLAIN;
  head.varint(p.n);
  const segs: Buffer[] = [];
  for (let s = 0; s < p.buf.length; s++) segs.push(p.buf[s]!.subarray(p.start[s], p.end[s]));
  for (let s = 0; s < segs.length - 1; s++) head.varint(segs[s]!.length);
  return Buffer.concat([head.buf.subarray(0, head.len), ...segs]);
}
