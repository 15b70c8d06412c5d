// The original syslog lines of a day kept as residues: each line with exactly one record is re-rendered
// from that record and stored as what the rendering cannot know (issue #14; measured in
// test/bench/EVIDENCE.md, bench: test/bench/line-codec.ts). Each residue is decoded at write time and
// checked against its line; a line that does not come back exact, or has no single record, is stored
// whole.
//
// Design note
//   Shape    a line cut into punctuation, words (runs of [0-9A-Za-z_]) and slots (a field of the record
//            as vendors write it: addresses, ports, protocol, the time in BSD / ISO / clock / epoch
//            forms in the device's zone). A shape belongs to one device; its first line's words are
//            its template. The day's shapes are append-only and persisted (takeNew).
//   Residue  the shape id and the words that differ from the reference: the previous line of that
//            shape in the same segment (the template at the segment's start). Decimal words are
//            deltas or values; a word the subscriber (src_ip) had the first time it differed there is
//            "the subscriber's word" (keyed words: a per-day, append-only table, persisted).
//   Segment  RESTART lines; references restart at each, so reading line i walks ≤ RESTART − 1
//            residues (the walk needs no records: only words carry state).
//   Writing  a line is matched against its device's recent shapes (a loop over its bytes, nothing
//            allocated), else cut afresh (the slow path: a new shape, or one not used lately). The
//            check: the residue is decoded as a reader decodes it and its words compared with the
//            line's (the rest of the line is the shape's punctuation and the record's fields, compared
//            by the match); the first line of each shape and every FULL_CHECK_EVERY-th line are also
//            rendered whole and compared byte for byte (option fullCheck: every line).
//
// Stored block (finishBlock), format version 1; line i of the block is line i given to add:
//   u8 format   0 plain:     varint n, varint len × (k − 1), segments        (k = ceil(n / RESTART),
//               1 deflate:   deflateRaw(varint n, varint len × (k − 1), segments)   len: a segment's
//               2 segmented: varint n, varint clen × (k − 1), deflateRaw(segment) × k      bytes)
//               (2 when the residues pass SEGMENTED_BYTES, i.e. mostly whole lines: a read inflates
//               one segment; 0 when deflate does not shrink them)
//   segment     the residues of lines s·RESTART … s·RESTART + RESTART − 1
//   residue     varint shape    0: the line stored whole: varint length, bytes
//               { varint gap, varint head [bytes] }*  changed words, gap = j − previous j (≥ 1); 0 ends
//                   head = x·8 + tag: Literal (x = length, bytes follow), Delta / DeltaFixed
//                   (x = zigzag(cur − ref); Fixed: zero-padded to the reference's width), Value /
//                   ValueFixed (x = cur), Keyed (the subscriber's word, x = 0)
//               varint extra*   per epoch µs / ns slot: the digits after the milliseconds
// Shape row (takeNew().shapes, one Buffer each):
//   varint id, varint len + device (utf8), varint ops, per op: varint kind (0 punct, 1 word, 2 slot),
//   punct: varint len + bytes, slot: varint field, varint zigzag(zone minutes); then per word:
//   varint len + bytes (the template)
// Keyed words: takeNew().words are rows (src_ip, shape, index, word); a store keeps them as rows (a
// reader then looks words up one by one: LineCodecState.words as a function) or as packWords blobs:
//   deflateRaw of entries: u8 family (4 | 6), src_ip (4 bytes BE | 16 bytes), varint shape,
//   varint word index, varint len + bytes
//
// Caveats: a residue is read with its record as the store keeps it (codes.ts forms), the shapes and the
// keyed words of its day: renderers may never change how an existing residue renders (a new rendering
// is a new field or format version). If the transaction holding a block and its takeNew() fails, the
// writer is ahead of the file: drop it and open a new one from the persisted state. A writer and a
// reader are each used by one thread.
import { deflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';
import { MEGALOG_ERR_LINE_CORRUPT } from '../core/errors.js';
import { ipFromDb, protoName } from './codes.js';

/** A NAT record as the store keeps it (NatRow's fields; addresses as codes.ts ipToDb gives them). */
export interface LineRecord {
  /** ms since the codec's timeBase (the day's start when the store keeps day-relative times). */
  t: number;
  nat_ip: number | Uint8Array | null;
  /** Session port, or a block's first port; null or negative: none. */
  nat_port: number | null;
  port_end: number | null;
  src_ip: number | Uint8Array | null;
  src_port: number | null;
  dst_ip: number | Uint8Array | null;
  dst_port: number | null;
  /** vendor·65536 + event·1024 + protocol (codes.ts). */
  code: number;
}

/** A keyed word: the word subscriber `src` had at word `index` of shape `shape` (first seen wins). */
export interface KeyedWord {
  /** src_ip as the store keeps it (codes.ts ipToDb: IPv4 integer, IPv6 16 bytes). */
  src: number | Buffer;
  shape: number;
  index: number;
  word: Buffer;
}

/** A reader's way to one keyed word kept in a table of the store (null or undefined: none). */
export type KeyedWordLookup = (src: number | Uint8Array, shape: number, index: number) => Uint8Array | null | undefined;

/**
 * What a day has persisted of the codec's tables: every shape row, and the keyed words as packWords
 * blobs (all loaded on first need), or, for a reader only, a lookup of one word in a table.
 */
export interface LineCodecState {
  shapes: Iterable<Buffer>;
  words: Iterable<Buffer> | KeyedWordLookup;
}

/** Tables learned since the last take: insert them in the transaction of the block(s) encoded since. */
export interface LineCodecNew {
  shapes: Buffer[];
  words: KeyedWord[];
}

export interface LineCodecOptions {
  /**
   * Added to each record's t to get ms since the epoch (default 0): the day's start when the store
   * keeps day-relative times. Part of how residues read: a reader must use the writer's.
   */
  timeBase?: number;
  /** deflate level of blocks (writer; default DEFLATE_LEVEL). */
  level?: number;
  /** Writer: code words as the subscriber's (default true; false only to measure what they save). */
  keyed?: boolean;
  /** Writer: lines cut afresh at first and per block (default CUT_BURST, CUTS_PER_BLOCK). */
  cutBurst?: number;
  cutsPerBlock?: number;
  /** Writer: a lower cap than MAX_KEYED_WORDS (tests). */
  maxKeyedWords?: number;
  /** Writer: render every line whole at write time, not only every FULL_CHECK_EVERY-th (about +40 % CPU). */
  fullCheck?: boolean;
}

/** Lines between restart points of a block. */
export const RESTART = 128;
/**
 * Every line's residue is decoded at write time and its words compared with the line's; one line in
 * this many (and the first line of each shape) is also rendered whole and compared byte for byte.
 */
export const FULL_CHECK_EVERY = 16;
/** Lines longer than this are stored whole (real NAT lines are < 1 KB; bounds work and shapes). */
export const MAX_LINE_BYTES = 4096;
/** Shapes per day (ids 1 … MAX_SHAPES) and per device; lines that need another are stored whole. */
export const MAX_SHAPES = 4095;
export const MAX_DEVICE_SHAPES = 64;
/** Words of one shape (a word index fits 9 bits of a keyed-word key). */
export const MAX_SHAPE_WORDS = 512;
/** Epoch µs / ns slots of one shape (each has a residue varint). */
const MAX_EXTRAS = 64;
/** Keyed words per day, and the longest word kept as one. */
export const MAX_KEYED_WORDS = 1 << 20;
export const MAX_KEYED_WORD_BYTES = 63;
/** Keyed words a reader with a lookup keeps in memory (then it starts afresh). */
const LOOKUP_CACHE = 1 << 16;
/** Devices whose recent shapes a writer remembers (then it forgets them all and relearns). */
const MAX_DEVICES = 4096;
/**
 * Lines cut afresh (the slow path, ~20–40 µs for a 250-byte line) a writer allows itself: CUT_BURST
 * at first (a day's first lines, every device's shapes), then CUTS_PER_BLOCK more each block. Past it
 * a line that fits none of its device's recent shapes is stored whole: lines crafted to miss every
 * shape cost their bytes, not the writer's throughput (≤ ~1 µs a line on average).
 */
export const CUTS_PER_BLOCK = 32;
export const CUT_BURST = 1024;
/** Shapes tried per device before cutting a line afresh. */
const RECENT = 8;
/** Zone offsets learned per device. */
const MAX_OFFSETS = 4;
/** deflate level of blocks and keyed-word blobs (see the bench figures in finishBlock). */
export const DEFLATE_LEVEL = 6;
const FORMAT_PLAIN = 0;
const FORMAT_DEFLATE = 1;
const FORMAT_SEGMENTS = 2;
/**
 * Residues of a block above this many bytes (lines mostly stored whole) are deflated segment by
 * segment: a read inflates ~1/8 of the block, for a few % more bytes.
 */
const SEGMENTED_BYTES = 48 * 1024;

/** A stored block, shape or keyed-words blob that does not decode. */
export class LineCodecError extends Error {
  readonly code = MEGALOG_ERR_LINE_CORRUPT;
}

function corrupt(what: string): never {
  throw new LineCodecError(`line codec: ${what}`);
}

// ---------------------------------------------------------------------------------------------------
// Bytes

const WORD = new Uint8Array(256);
for (let c = 0; c < 256; c++) WORD[c] = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 ? 1 : 0;

/** A growable byte buffer with LEB128 varints (values up to 2^53). */
class Bytes {
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
let rdEnd = 0;

function readVarint(buf: Uint8Array, at: number): number {
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

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Decimal digits of a non-negative integer, written at `pos`; the new position. */
function writeDec(n: number, out: Uint8Array, pos: number): number {
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
function writeFixed(n: number, width: number, out: Uint8Array, pos: number): number {
  const end = pos + width;
  for (let i = end - 1; i >= pos; i--) {
    out[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}

/** Value of buf[s, e) when it is 1–12 ASCII digits, else −1. */
function digitsValue(buf: Uint8Array, s: number, e: number): number {
  if (e - s > 12 || e <= s) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function sameBytes(a: Uint8Array, as: number, b: Uint8Array, bs: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[as + i] !== b[bs + i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Slots: a record field written as vendors write it

const enum F {
  SrcIp, NatIp, DstIp, SrcPort, NatPort, PortEnd, DstPort, ProtoLower, ProtoUpper, ProtoNum,
  TBsd, TBsd0, TBsdY, TIso, TDate, TClock, TEpochS, TEpochMs, TEpochUs, TEpochNs,
}
const FIRST_TIME = F.TBsd;
const LAST_FIELD = F.TEpochNs;
/** Longest slot text (an IPv6 address, 39; epoch ns, 19). */
const SLOT_MAX = 48;

const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Clock texts of one second, side by side: bsd 0 (15), bsd0 15 (15), bsdY 30 (20), iso 50 (19), date 69 (10), hms 79 (8). */
const CLOCK_AT = [0, 15, 30, 50, 69, 79];
const CLOCK_LEN = [15, 15, 20, 19, 10, 8];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

const clocks = new Map<number, Buffer | null>();
let lastSec = NaN;
let lastClock: Buffer | null = null;

/** Clock texts of `sec` (seconds since the epoch, zone offset added), or null outside years 1000–9999. */
function clockOf(sec: number): Buffer | null {
  if (sec === lastSec) return lastClock;
  let c = clocks.get(sec);
  if (c === undefined) {
    if (clocks.size >= 4096) clocks.clear();
    const d = new Date(sec * 1000);
    const y = d.getUTCFullYear();
    if (!(y >= 1000 && y <= 9999)) c = null;
    else {
      const day = d.getUTCDate();
      const mon = MON[d.getUTCMonth()]!;
      const dd = pad2(day);
      const date = `${y}-${pad2(d.getUTCMonth() + 1)}-${dd}`;
      const hms = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
      c = Buffer.from(`${mon} ${day < 10 ? ' ' : ''}${day} ${hms}${mon} ${dd} ${hms}${mon} ${dd} ${y} ${hms}${date}T${hms}${date}${hms}`, 'latin1');
    }
    clocks.set(sec, c);
  }
  lastSec = sec;
  lastClock = c;
  return c;
}

const protoLower: (Buffer | null | undefined)[] = [];
const protoUpper: (Buffer | null | undefined)[] = [];

function protoText(p: number, upper: boolean): Buffer | null {
  const t = upper ? protoUpper : protoLower;
  let b = t[p];
  if (b === undefined) {
    const name = protoName(p);
    b = name == null ? null : Buffer.from(upper ? name.toUpperCase() : name, 'latin1');
    t[p] = b;
  }
  return b;
}

function writeIp(v: number | Uint8Array | bigint | null | undefined, out: Uint8Array, pos: number): number {
  if (v == null) return -1;
  if (typeof v === 'bigint') v = Number(v);
  if (typeof v === 'number') {
    if (!(v >= 0 && v <= 0xffffffff) || !Number.isInteger(v)) return -1;
    pos = writeDec(v >>> 24, out, pos);
    out[pos++] = 46;
    pos = writeDec((v >>> 16) & 255, out, pos);
    out[pos++] = 46;
    pos = writeDec((v >>> 8) & 255, out, pos);
    out[pos++] = 46;
    return writeDec(v & 255, out, pos);
  }
  const s = ipFromDb(v);
  if (s == null) return -1;
  for (let i = 0; i < s.length; i++) out[pos++] = s.charCodeAt(i);
  return pos;
}

function writePort(n: number | null | undefined, out: Uint8Array, pos: number): number {
  if (n == null || !(n >= 0 && n <= Number.MAX_SAFE_INTEGER) || !Number.isInteger(n)) return -1;
  return writeDec(n, out, pos);
}

/**
 * Write slot `f` (zone `off` minutes) of `rec` at `pos` of `out` (room for SLOT_MAX bytes); the new
 * position, or −1 when the record has no such field. Epoch µs / ns: the ms digits, then `extra`
 * zero-padded unless negative.
 */
function writeSlot(f: F, off: number, rec: LineRecord, timeBase: number, out: Uint8Array, pos: number, extra: number): number {
  switch (f) {
    case F.SrcIp: return writeIp(rec.src_ip, out, pos);
    case F.NatIp: return writeIp(rec.nat_ip, out, pos);
    case F.DstIp: return writeIp(rec.dst_ip, out, pos);
    case F.SrcPort: return writePort(rec.src_port, out, pos);
    case F.NatPort: return writePort(rec.nat_port, out, pos);
    case F.PortEnd: return writePort(rec.port_end, out, pos);
    case F.DstPort: return writePort(rec.dst_port, out, pos);
    case F.ProtoLower:
    case F.ProtoUpper: {
      const b = protoText(rec.code % 1024, f === F.ProtoUpper);
      if (b === null) return -1;
      for (let i = 0; i < b.length; i++) out[pos++] = b[i]!;
      return pos;
    }
    case F.ProtoNum: {
      const p = rec.code % 1024;
      return p >= 0 && p < 256 ? writeDec(p, out, pos) : -1;
    }
  }
  const ms = timeBase + rec.t;
  if (!(ms >= 0 && ms <= 253_402_300_799_000) || !Number.isInteger(ms)) return -1;
  switch (f) {
    case F.TEpochS: return writeDec(Math.floor(ms / 1000), out, pos);
    case F.TEpochMs: return writeDec(ms, out, pos);
    case F.TEpochUs:
    case F.TEpochNs: {
      pos = writeDec(ms, out, pos);
      return extra < 0 ? pos : writeFixed(extra, f === F.TEpochUs ? 3 : 6, out, pos);
    }
  }
  const c = clockOf(Math.floor((ms + off * 60_000) / 1000));
  if (c === null) return -1;
  const k = f - F.TBsd;
  const s = CLOCK_AT[k]!;
  const n = CLOCK_LEN[k]!;
  for (let i = 0; i < n; i++) out[pos++] = c[s + i]!;
  return pos;
}

/** Digits after the ms of an epoch µs / ns slot (0: none). */
function extraWidth(f: number): number {
  return f === F.TEpochUs ? 3 : f === F.TEpochNs ? 6 : 0;
}

// ---------------------------------------------------------------------------------------------------
// Shapes

const OP_PUNCT = 0;
const OP_WORD = 1;
const OP_SLOT = 2;

interface Shape {
  id: number;
  device: string;
  /** Per op: kind; Punct: a = offset in punct, b = length; Word: a = index; Slot: a = field, b = zone minutes. */
  kind: Uint8Array;
  a: Int32Array;
  b: Int32Array;
  punct: Buffer;
  words: number;
  /** The template: the first line's words, side by side. */
  tmpl: Buffer;
  tmplOff: Int32Array;
  tmplLen: Int32Array;
  /** Epoch µs / ns slots (each has a residue varint). */
  extras: number;
  /** References of the segment `epoch`: word j is arena[refOff[j], + refLen[j]). */
  epoch: number;
  refOff: Int32Array;
  refLen: Int32Array;
  /** The row that persists it. */
  row: Buffer;
  /** Writer: a line of it was rendered whole and compared. */
  checked: boolean;
}

interface ShapeParts {
  device: string;
  ops: ({ k: typeof OP_PUNCT; s: Buffer } | { k: typeof OP_WORD } | { k: typeof OP_SLOT; f: number; off: number })[];
  words: Buffer[];
}

function buildShape(id: number, p: ShapeParts): Shape {
  const n = p.ops.length;
  const kind = new Uint8Array(n);
  const a = new Int32Array(n);
  const b = new Int32Array(n);
  const puncts: Buffer[] = [];
  let pl = 0;
  let j = 0;
  let extras = 0;
  p.ops.forEach((op, i) => {
    kind[i] = op.k;
    if (op.k === OP_PUNCT) {
      a[i] = pl;
      b[i] = op.s.length;
      pl += op.s.length;
      puncts.push(op.s);
    } else if (op.k === OP_WORD) a[i] = j++;
    else {
      a[i] = op.f;
      b[i] = op.off;
      if (extraWidth(op.f)) extras++;
    }
  });
  if (j !== p.words.length) corrupt(`shape ${id}: ${j} word positions, ${p.words.length} words`);
  if (j > MAX_SHAPE_WORDS || extras > MAX_EXTRAS) corrupt(`shape ${id}: ${j} words, ${extras} extra digit slots`);
  const tmplOff = new Int32Array(j);
  const tmplLen = new Int32Array(j);
  let at = 0;
  p.words.forEach((w, k) => {
    tmplOff[k] = at;
    tmplLen[k] = w.length;
    at += w.length;
  });
  const row = new Bytes(256);
  const dev = Buffer.from(p.device, 'utf8');
  row.varint(id);
  row.varint(dev.length);
  row.bytes(dev, 0, dev.length);
  row.varint(n);
  for (const op of p.ops) {
    row.varint(op.k);
    if (op.k === OP_PUNCT) {
      row.varint(op.s.length);
      row.bytes(op.s, 0, op.s.length);
    } else if (op.k === OP_SLOT) {
      row.varint(op.f);
      row.varint(zigzag(op.off));
    }
  }
  for (const w of p.words) {
    row.varint(w.length);
    row.bytes(w, 0, w.length);
  }
  return {
    id, device: p.device, kind, a, b, punct: Buffer.concat(puncts), words: j, tmpl: Buffer.concat(p.words), tmplOff, tmplLen, extras,
    epoch: -1, refOff: new Int32Array(j), refLen: new Int32Array(j), row: row.take(), checked: false,
  };
}

function parseShape(row: Buffer): Shape {
  let at = 0;
  const next = () => {
    const v = readVarint(row, at);
    at = rdEnd;
    return v;
  };
  const slice = (n: number) => {
    if (at + n > row.length) corrupt('shape row truncated');
    const s = Buffer.from(row.subarray(at, at + n));
    at += n;
    return s;
  };
  const id = next();
  const device = slice(next()).toString('utf8');
  const n = next();
  if (n > 4 * MAX_LINE_BYTES) corrupt('shape row too long');
  const ops: ShapeParts['ops'] = [];
  let words = 0;
  for (let i = 0; i < n; i++) {
    const k = next();
    if (k === OP_PUNCT) ops.push({ k, s: slice(next()) });
    else if (k === OP_WORD) {
      ops.push({ k });
      words++;
    } else if (k === OP_SLOT) {
      const f = next();
      if (f > LAST_FIELD) corrupt(`shape ${id}: field ${f}`);
      ops.push({ k, f, off: unzigzag(next()) });
    } else corrupt(`shape ${id}: op ${k}`);
  }
  const w: Buffer[] = [];
  for (let i = 0; i < words; i++) w.push(slice(next()));
  if (id < 1 || id > MAX_SHAPES) corrupt(`shape id ${id}`);
  return buildShape(id, { device, ops, words: w });
}

// ---------------------------------------------------------------------------------------------------
// Residue tags

const T_LITERAL = 0;
const T_DELTA = 1;
const T_DELTA_FIXED = 2;
const T_KEYED = 3;
const T_VALUE = 4;
const T_VALUE_FIXED = 5;

/** Why lines were stored whole, and how the rest were coded. */
export interface LineCodecStats {
  lines: number;
  /** Stored whole: no single record / longer than MAX_LINE_BYTES / no shape (caps) / did not re-render exact. */
  wholeNoRecord: number;
  wholeTooLong: number;
  wholeNoShape: number;
  /** Stored whole: no recent shape fits and the writer's slow-path budget (CUTS_PER_BLOCK) is spent. */
  wholeCutBudget: number;
  wholeMismatch: number;
  /** Lines matched against one of the device's recent shapes (no cutting). */
  fast: number;
  changedWords: number;
  keyedWords: number;
  literalWords: number;
}

/**
 * The subscriber's words: (src_ip, shape, word index) → the word, an open-addressing table in typed
 * arrays (a Map keyed by numbers beyond 2^30 hashes doubles and churns the heap). IPv6 sources get a
 * 32-bit id of their own.
 */
class KeyedWords {
  private bits = 12;
  /**
   * Per slot, side by side (one cache line): src_ip (IPv4) or IPv6 id; shape·512 + index, + 2^21 for
   * an IPv6 id (0: empty; shape ids start at 1); offset of the word in `bytes`; its length.
   */
  private tab = new Uint32Array(4 << 12);
  private readonly v6 = new Map<string, number>();
  size = 0;
  bytes: Buffer = Buffer.allocUnsafe(1 << 16);
  private used = 0;

  /** A record's src_ip as a key: IPv4 value, 2^32 + id for IPv6 (created when `create`), −1 when none. */
  srcOf(src: LineRecord['src_ip'] | bigint, create: boolean): number {
    if (src == null) return -1;
    if (typeof src === 'number') return src >= 0 && src <= 0xffffffff && Number.isInteger(src) ? src : -1;
    if (typeof src === 'bigint') return this.srcOf(Number(src), create);
    if (src.length !== 16) return -1;
    const hex = Buffer.from(src.buffer, src.byteOffset, 16).toString('hex');
    let id = this.v6.get(hex);
    if (id === undefined) {
      if (!create) return -1;
      this.v6.set(hex, (id = this.v6.size));
    }
    return 4_294_967_296 + id;
  }

  /** Index in tab of the key's slot (its own, or the empty one where it would go). */
  private slot(a: number, b: number): number {
    const tab = this.tab;
    const mask = (1 << this.bits) - 1;
    let i = Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b) >>> (32 - this.bits);
    for (;;) {
      const k = tab[i * 4 + 1]!;
      if (k === 0 || (k === b && tab[i * 4] === a)) return i * 4;
      i = (i + 1) & mask;
    }
  }

  /** Where the word is: offset·64 + length in `bytes`, or −1. */
  get(src: number, shape: number, j: number): number {
    if (src < 0) return -1;
    const x = this.slot(src % 4_294_967_296 >>> 0, (src >= 4_294_967_296 ? 2_097_152 : 0) + shape * 512 + j);
    return this.tab[x + 1] === 0 ? -1 : this.tab[x + 2]! * 64 + this.tab[x + 3]!;
  }

  /** Keep buf[s, e) (≤ 63 bytes) as the word; a word already there stays. */
  put(src: number, shape: number, j: number, buf: Uint8Array, s: number, e: number): void {
    if (src < 0 || e - s > MAX_KEYED_WORD_BYTES) return;
    if ((this.size + 1) * 2 > 1 << this.bits) this.grow();
    const a = src % 4_294_967_296 >>> 0;
    const b = (src >= 4_294_967_296 ? 2_097_152 : 0) + shape * 512 + j;
    const x = this.slot(a, b);
    if (this.tab[x + 1] !== 0) return;
    if (this.used + (e - s) > this.bytes.length) {
      const bigger = Buffer.allocUnsafe(this.bytes.length * 2 + (e - s));
      this.bytes.copy(bigger, 0, 0, this.used);
      this.bytes = bigger;
    }
    for (let k = s; k < e; k++) this.bytes[this.used + k - s] = buf[k]!;
    this.tab[x] = a;
    this.tab[x + 1] = b;
    this.tab[x + 2] = this.used;
    this.tab[x + 3] = e - s;
    this.used += e - s;
    this.size++;
  }

  private grow(): void {
    const old = this.tab;
    this.bits++;
    this.tab = new Uint32Array(4 << this.bits);
    for (let x = 0; x < old.length; x += 4) {
      if (old[x + 1] === 0) continue;
      const y = this.slot(old[x]!, old[x + 1]!);
      this.tab[y] = old[x]!;
      this.tab[y + 1] = old[x + 1]!;
      this.tab[y + 2] = old[x + 2]!;
      this.tab[y + 3] = old[x + 3]!;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The day's tables and the residue decoder (shared by the writer and the reader)

class DayTables {
  protected readonly shapes: (Shape | undefined)[] = [undefined];
  private kw = new KeyedWords();
  private pendingWords: Buffer[] = [];
  protected readonly timeBase: number;

  // Segment state: references of the shapes used in it live in the arena.
  protected epoch = 0;
  protected arena: Buffer = Buffer.allocUnsafe(1 << 16);
  protected aLen = 0;
  // The line being decoded: its words (≥ 0: arena offset; < 0: −1 − kArena offset) and changes.
  protected wOff = new Int32Array(MAX_SHAPE_WORDS);
  protected wLen = new Int32Array(MAX_SHAPE_WORDS);
  protected chJ = new Int32Array(MAX_SHAPE_WORDS);
  protected nch = 0;
  /** Every changed word of the last readResidue (keyed ones too, when read with a record), in order. */
  protected decJ = new Int32Array(MAX_SHAPE_WORDS);
  protected ndec = 0;
  protected extraV = new Float64Array(MAX_EXTRAS);
  // Slot texts of the current line's record, each rendered once a line (bump `gen` for a new record):
  // field f's text is slotBuf[f·SLOT_MAX, + slotLen[f]) when slotGen[f] = gen and slotZone[f] = its zone.
  protected gen = 0;
  private readonly slotBuf = Buffer.allocUnsafe((LAST_FIELD + 1) * SLOT_MAX);
  private readonly slotGen = new Float64Array(LAST_FIELD + 1).fill(-1);
  private readonly slotZone = new Int32Array(LAST_FIELD + 1);
  private readonly slotLen = new Int32Array(LAST_FIELD + 1);
  /** A rendered line: out[0, outLen). */
  protected out: Buffer = Buffer.allocUnsafe(MAX_LINE_BYTES + 2 * SLOT_MAX);
  protected outLen = 0;

  /** Keyed words looked up one at a time (kw then caches them). */
  protected lookup: KeyedWordLookup | null = null;

  constructor(state: LineCodecState | null | undefined, opts: LineCodecOptions | undefined) {
    this.timeBase = opts?.timeBase ?? 0;
    if (state) {
      for (const row of state.shapes) this.addShape(parseShape(row));
      if (typeof state.words === 'function') this.lookup = state.words;
      else for (const w of state.words) this.pendingWords.push(w);
    }
  }

  protected addShape(s: Shape): void {
    if (this.shapes[s.id] !== undefined) corrupt(`shape ${s.id} twice`);
    this.shapes[s.id] = s;
  }

  /** Keyed words loaded on first need (a reader of lines without any pays nothing). */
  protected words(): KeyedWords {
    if (this.pendingWords.length === 0) return this.kw;
    const blobs = this.pendingWords;
    this.pendingWords = [];
    for (const blob of blobs) {
      const b = inflateRawSync(blob);
      let at = 0;
      while (at < b.length) {
        const fam = b[at++];
        let src: number;
        if (fam === 4 && at + 4 <= b.length) {
          src = b.readUInt32BE(at);
          at += 4;
        } else if (fam === 6 && at + 16 <= b.length) {
          src = this.kw.srcOf(b.subarray(at, at + 16), true);
          at += 16;
        } else corrupt('keyed words');
        const shape = readVarint(b, at);
        const j = readVarint(b, rdEnd);
        const n = readVarint(b, rdEnd);
        at = rdEnd;
        if (shape < 1 || shape > MAX_SHAPES || j >= MAX_SHAPE_WORDS || n > MAX_KEYED_WORD_BYTES || at + n > b.length) corrupt('keyed words');
        this.kw.put(src, shape, j, b, at, at + n);
        at += n;
      }
    }
    return this.kw;
  }

  /** Length of slot f's text (epoch µs / ns: the ms digits) for `rec`, the current record; −1: absent. */
  protected slotText(f: number, off: number, rec: LineRecord): number {
    if (this.slotGen[f] === this.gen && this.slotZone[f] === off) return this.slotLen[f]!;
    const at = f * SLOT_MAX;
    const e = writeSlot(f, off, rec, this.timeBase, this.slotBuf, at, -1);
    const n = e < 0 ? -1 : e - at;
    this.slotGen[f] = this.gen;
    this.slotZone[f] = off;
    this.slotLen[f] = n;
    return n;
  }

  /** Whether line[at, at + n) is slot f's text (slotText just gave n). */
  protected slotIs(f: number, line: Uint8Array, at: number, n: number): boolean {
    const sb = this.slotBuf;
    const s = f * SLOT_MAX;
    for (let i = 0; i < n; i++) if (line[at + i] !== sb[s + i]) return false;
    return true;
  }

  /** Start a segment: references back to the templates. */
  protected newSegment(): void {
    this.epoch++;
    this.aLen = 0;
  }

  protected arenaRoom(n: number): void {
    if (this.aLen + n <= this.arena.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.aLen + n));
    this.arena.copy(bigger, 0, 0, this.aLen);
    this.arena = bigger;
  }

  /** Make `s`'s references those of the segment (its template, the first time in the segment). */
  protected refsOf(s: Shape): void {
    if (s.epoch === this.epoch) return;
    s.epoch = this.epoch;
    const n = s.tmpl.length;
    this.arenaRoom(n);
    const base = this.aLen;
    s.tmpl.copy(this.arena, base, 0, n);
    this.aLen += n;
    for (let j = 0; j < s.words; j++) {
      s.refOff[j] = base + s.tmplOff[j]!;
      s.refLen[j] = s.tmplLen[j]!;
    }
  }

  /**
   * Read the residue of shape `s` at `at` (after its id): the line's words into wOff/wLen, its
   * non-keyed changes listed in chJ (commitRefs makes them the references), the extras. `rec`: keyed
   * words looked up for it (null: a walk, where they are not needed). Returns the end of the residue.
   */
  protected readResidue(buf: Uint8Array, at: number, s: Shape, rec: LineRecord | null): number {
    this.refsOf(s);
    const wOff = this.wOff;
    const wLen = this.wLen;
    const refOff = s.refOff;
    const refLen = s.refLen;
    for (let j = 0; j < s.words; j++) {
      wOff[j] = refOff[j]!;
      wLen[j] = refLen[j]!;
    }
    let nch = 0;
    let nd = 0;
    let src: number | undefined;
    for (let j = -1; ; ) {
      const gap = readVarint(buf, at);
      at = rdEnd;
      if (gap === 0) break;
      j += gap;
      if (j >= s.words) corrupt(`word ${j} of shape ${s.id}`);
      const head = readVarint(buf, rdEnd);
      at = rdEnd;
      const tag = head % 8;
      const x = (head - tag) / 8;
      if (tag === T_LITERAL) {
        if (at + x > buf.length) corrupt('truncated word');
        this.arenaRoom(x);
        const o = this.aLen;
        for (let i = 0; i < x; i++) this.arena[o + i] = buf[at + i]!;
        at += x;
        this.aLen += x;
        wOff[j] = o;
        wLen[j] = x;
        this.chJ[nch++] = j;
        this.decJ[nd++] = j;
      } else if (tag === T_KEYED) {
        if (rec === null) continue;
        let kw = this.words();
        if (src === undefined) src = kw.srcOf(rec.src_ip, this.lookup !== null);
        let v = kw.get(src, s.id, j);
        if (v < 0 && this.lookup !== null && src >= 0) {
          const word = this.lookup(rec.src_ip!, s.id, j);
          if (word && word.length <= MAX_KEYED_WORD_BYTES) {
            if (kw.size >= LOOKUP_CACHE) {
              kw = this.kw = new KeyedWords();
              src = kw.srcOf(rec.src_ip, true);
            }
            kw.put(src, s.id, j, word, 0, word.length);
            v = kw.get(src, s.id, j);
          }
        }
        if (v < 0) corrupt(`no keyed word ${j} of shape ${s.id} for this record`);
        wOff[j] = -1 - Math.floor(v / 64);
        wLen[j] = v % 64;
        this.decJ[nd++] = j;
      } else if (tag <= T_VALUE_FIXED) {
        const ro = refOff[j]!;
        const rl = refLen[j]!;
        let v = x;
        if (tag === T_DELTA || tag === T_DELTA_FIXED) {
          const ref = digitsValue(this.arena, ro, ro + rl);
          if (ref < 0) corrupt(`delta on a word that is not a number (shape ${s.id})`);
          v = ref + unzigzag(x);
        }
        if (!(v >= 0 && v < 1e12)) corrupt('number out of range');
        const fixed = tag === T_DELTA_FIXED || tag === T_VALUE_FIXED;
        if (fixed && rl > 12) corrupt('fixed-width number over 12 digits');
        this.arenaRoom(16);
        const o = this.aLen;
        const e = fixed ? writeFixed(v, rl, this.arena, o) : writeDec(v, this.arena, o);
        this.aLen = e;
        wOff[j] = o;
        wLen[j] = e - o;
        this.chJ[nch++] = j;
        this.decJ[nd++] = j;
      } else corrupt(`tag ${tag}`);
    }
    this.nch = nch;
    this.ndec = nd;
    for (let k = 0; k < s.extras; k++) {
      const v = readVarint(buf, at);
      at = rdEnd;
      if (v > 999_999) corrupt('extra digits');
      this.extraV[k] = v;
    }
    return at;
  }

  /** The changed words of the last readResidue become the shape's references. */
  protected commitRefs(s: Shape): void {
    for (let k = 0; k < this.nch; k++) {
      const j = this.chJ[k]!;
      s.refOff[j] = this.wOff[j]!;
      s.refLen[j] = this.wLen[j]!;
    }
  }

  /** Render the line of the last readResidue into out[0, outLen); false when a slot's field is absent. */
  protected render(s: Shape, rec: LineRecord): boolean {
    let out = this.out;
    const kind = s.kind;
    const a = s.a;
    const b = s.b;
    const p = s.punct;
    let pos = 0;
    let e = 0;
    for (let o = 0; o < kind.length; o++) {
      const k = kind[o];
      let src: Buffer;
      let from: number;
      let n: number;
      if (k === OP_SLOT) {
        if (pos + SLOT_MAX > out.length) out = this.growOut(pos, SLOT_MAX);
        const f = a[o]!;
        n = this.slotText(f, b[o]!, rec);
        if (n < 0) return false;
        const sb = this.slotBuf;
        from = f * SLOT_MAX;
        for (let i = 0; i < n; i++) out[pos + i] = sb[from + i]!;
        pos += n;
        const w = extraWidth(f);
        if (w) pos = writeFixed(this.extraV[e++]!, w, out, pos);
        continue;
      } else if (k === OP_PUNCT) {
        src = p;
        from = a[o]!;
        n = b[o]!;
      } else {
        const j = a[o]!;
        from = this.wOff[j]!;
        n = this.wLen[j]!;
        if (from >= 0) src = this.arena;
        else {
          src = this.kw.bytes;
          from = -1 - from;
        }
      }
      if (pos + n > out.length) out = this.growOut(pos, n);
      if (n > 24) src.copy(out, pos, from, from + n);
      else for (let i = 0; i < n; i++) out[pos + i] = src[from + i]!;
      pos += n;
    }
    this.outLen = pos;
    return true;
  }

  private growOut(pos: number, n: number): Buffer {
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, pos + n + SLOT_MAX));
    this.out.copy(bigger, 0, 0, pos);
    return (this.out = bigger);
  }

  /** The shape of a residue id (throws when the day has none). */
  protected shapeOf(id: number): Shape {
    const s = this.shapes[id];
    if (s === undefined) corrupt(`no shape ${id}`);
    return s;
  }
}

// ---------------------------------------------------------------------------------------------------
// Reader

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
function unpack(block: Buffer, only: number | null = null): Plain {
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

/**
 * Reads lines back from stored blocks, with a day's persisted tables. Line i of a block needs the
 * block, i, its record as the store keeps it (null for a line stored without one) and its device.
 */
export class LineReader extends DayTables {
  constructor(state?: LineCodecState | null, opts?: LineCodecOptions) {
    super(state, opts);
  }

  /** Lines in a stored block. */
  static count(block: Buffer): number {
    return unpack(block, -1).n;
  }

  /** Line `i` of a stored block, byte for byte (`device`: the string its writer was given). */
  lineAt(block: Buffer, i: number, rec: LineRecord | null, device: string): Buffer {
    const s = Math.floor(i / RESTART);
    const p = unpack(block, s);
    if (!(i >= 0 && i < p.n)) throw new RangeError(`line codec: line ${i} of a block of ${p.n}`);
    const buf = p.buf[s]!;
    let at = p.start[s]!;
    this.newSegment();
    for (let k = s * RESTART; k < i; k++) at = this.step(buf, at, false, null, '');
    this.step(buf, at, true, rec, device);
    return Buffer.from(this.out.subarray(0, this.outLen));
  }

  /** Every line of a stored block, in order (exports, checks); recs[i] and devices[i] as for lineAt. */
  blockLines(block: Buffer, recs: readonly (LineRecord | null)[], devices: readonly string[]): Buffer[] {
    const p = unpack(block);
    const lines: Buffer[] = [];
    let at = 0;
    let buf = p.buf[0]!;
    for (let i = 0; i < p.n; i++) {
      if (i % RESTART === 0) {
        this.newSegment();
        buf = p.buf[i / RESTART]!;
        at = p.start[i / RESTART]!;
      }
      at = this.step(buf, at, true, recs[i] ?? null, devices[i] ?? '');
      lines.push(Buffer.from(this.out.subarray(0, this.outLen)));
    }
    return lines;
  }

  /** Decode the residue at `at` (into out when `render`); its end. */
  private step(buf: Buffer, at: number, render: boolean, rec: LineRecord | null, device: string): number {
    const id = readVarint(buf, at);
    at = rdEnd;
    if (id === 0) {
      const n = readVarint(buf, at);
      at = rdEnd;
      if (at + n > buf.length) corrupt('truncated line');
      if (render) {
        if (n > this.out.length) this.out = Buffer.allocUnsafe(n);
        buf.copy(this.out, 0, at, at + n);
        this.outLen = n;
      }
      return at + n;
    }
    const s = this.shapeOf(id);
    at = this.readResidue(buf, at, s, render ? rec : null);
    this.commitRefs(s);
    if (render) {
      this.gen++;
      if (rec === null) corrupt(`line of shape ${id} read without its record`);
      if (s.device !== device) corrupt(`line of shape ${id} is from ${s.device}, not ${device}`);
      if (!this.render(s, rec)) corrupt(`a field of shape ${id} is absent from the record`);
    }
    return at;
  }
}

// ---------------------------------------------------------------------------------------------------
// Writer

interface Device {
  offsets: number[];
  recent: Shape[];
}

/** A candidate text of the slow path: a slot's text, whole tokens only. */
interface Cand {
  text: string;
  f: number;
  off: number;
  /** Times: bounded by non-digits only (`…T08:00:00Z`); others by non-word characters. */
  loose: boolean;
}

interface Span {
  at: number;
  end: number;
  f: number;
  off: number;
}

const CLOCK_RE = /(\d\d):(\d\d):(\d\d)/g;

/**
 * Encodes a day's lines block by block (add … finishBlock), learning shapes and keyed words; open it
 * from the persisted state to go on with a day after a restart.
 */
export class LineWriter extends DayTables {
  readonly stats: LineCodecStats = { lines: 0, wholeNoRecord: 0, wholeTooLong: 0, wholeNoShape: 0, wholeCutBudget: 0, wholeMismatch: 0, fast: 0, changedWords: 0, keyedWords: 0, literalWords: 0 };
  private readonly byKey = new Map<string, Shape>();
  private readonly devices = new Map<string, Device>();
  private readonly perDevice = new Map<string, number>();
  private nShapes = 0;
  private newShapes: Buffer[] = [];
  private newWords: KeyedWord[] = [];
  // The block being written.
  private body = new Bytes(1 << 16);
  private segLens: number[] = [];
  private segAt = 0;
  private n = 0;
  // The line being matched: changed words (index, span), extras, keyed words to learn.
  private mJ = new Int32Array(MAX_SHAPE_WORDS);
  private mS = new Int32Array(MAX_SHAPE_WORDS);
  private mE = new Int32Array(MAX_SHAPE_WORDS);
  private mN = 0;
  private mX = new Float64Array(MAX_EXTRAS);
  private learnJ = new Int32Array(MAX_SHAPE_WORDS);
  private learnN = 0;
  private readonly slot = Buffer.allocUnsafe(SLOT_MAX);
  private mask = new Uint8Array(MAX_LINE_BYTES);

  private readonly level: number;
  private readonly fullCheck: boolean;
  private readonly keyedOn: boolean;
  private readonly maxKeyed: number;
  private untilFull = 0;
  private cutTokens: number;
  private readonly cutBurst: number;
  private readonly cutsPerBlock: number;

  constructor(state?: LineCodecState | null, opts?: LineCodecOptions) {
    super(state, opts);
    if (this.lookup) throw new TypeError('line codec: a writer needs the keyed words themselves (packWords blobs), not a lookup');
    this.level = opts?.level ?? DEFLATE_LEVEL;
    this.fullCheck = opts?.fullCheck ?? false;
    this.cutTokens = this.cutBurst = opts?.cutBurst ?? CUT_BURST;
    this.cutsPerBlock = opts?.cutsPerBlock ?? CUTS_PER_BLOCK;
    this.keyedOn = opts?.keyed ?? true;
    this.maxKeyed = Math.min(MAX_KEYED_WORDS, opts?.maxKeyedWords ?? MAX_KEYED_WORDS);
    for (const s of this.shapes) if (s) this.index(s, null);
  }

  /** Lines added to the block being written. */
  get pending(): number {
    return this.n;
  }

  get shapeCount(): number {
    return this.nShapes;
  }

  get keyedCount(): number {
    return this.words().size;
  }

  /** Tables learned since the last take (persist them with the block(s) encoded since). */
  takeNew(): LineCodecNew {
    const out = { shapes: this.newShapes, words: this.newWords };
    this.newShapes = [];
    this.newWords = [];
    return out;
  }

  /**
   * Add a line to the block: `rec` is its one record as the store keeps it, null when it has none or
   * several (then it is stored whole).
   */
  add(payload: Buffer, device: string, rec: LineRecord | null): void {
    if (this.n % RESTART === 0) {
      if (this.n > 0) this.segLens.push(this.body.len - this.segAt);
      this.segAt = this.body.len;
      this.newSegment();
    }
    this.n++;
    this.gen++;
    this.stats.lines++;
    const len = payload.length;
    if (rec === null) {
      this.stats.wholeNoRecord++;
      return this.whole(payload);
    }
    if (len > MAX_LINE_BYTES) {
      this.stats.wholeTooLong++;
      return this.whole(payload);
    }
    const dev = this.deviceOf(device);
    let s: Shape | null = null;
    const recent = dev.recent;
    for (let i = 0; i < recent.length; i++) {
      if (this.match(recent[i]!, payload, rec)) {
        s = recent[i]!;
        if (i > 0) {
          recent.splice(i, 1);
          recent.unshift(s);
        }
        this.stats.fast++;
        break;
      }
    }
    if (s === null) {
      if (this.cutTokens <= 0) {
        this.stats.wholeCutBudget++;
        return this.whole(payload);
      }
      this.cutTokens--;
      s = this.cut(payload, device, dev, rec);
      if (s === null || !this.match(s, payload, rec)) {
        this.stats.wholeNoShape++;
        return this.whole(payload);
      }
      const k = recent.indexOf(s);
      if (k >= 0) recent.splice(k, 1);
      else if (recent.length >= RECENT) recent.pop();
      recent.unshift(s);
    }
    const out = this.body;
    const start = out.len;
    const aStart = this.aLen;
    this.residue(s, payload, rec);
    // Check at write time: the residue read back as a reader reads it, its words compared with the
    // line's (the rest of the line is the shape's punctuation and the record's fields, which match
    // compared); every FULL_CHECK_EVERY-th line, and the first of a shape, also rendered whole.
    let ok = false;
    try {
      readVarint(out.buf, start);
      ok = this.readResidue(out.buf, rdEnd, s, rec) === out.len && this.sameWords(s, payload);
      if (ok && (this.fullCheck || --this.untilFull <= 0 || s.checked === false)) {
        this.untilFull = FULL_CHECK_EVERY;
        s.checked = true;
        ok = this.render(s, rec) && this.outLen === len && payload.compare(this.out, 0, len, 0, len) === 0;
      }
    } catch {
      ok = false;
    }
    if (!ok) {
      out.len = start;
      this.aLen = aStart;
      this.stats.wholeMismatch++;
      return this.whole(payload);
    }
    this.commitRefs(s);
    if (this.learnN) this.learn(s, payload, rec);
  }

  /** Whether the words and extras the residue decoded to are the matched line's. */
  private sameWords(s: Shape, line: Buffer): boolean {
    const nd = this.ndec;
    if (nd !== this.mN) return false;
    const kb = this.words().bytes;
    for (let m = 0; m < nd; m++) {
      const j = this.mJ[m]!;
      if (this.decJ[m] !== j) return false;
      const ws = this.mS[m]!;
      const n = this.mE[m]! - ws;
      const o = this.wOff[j]!;
      if (this.wLen[j] !== n || !(o >= 0 ? sameBytes(line, ws, this.arena, o, n) : sameBytes(line, ws, kb, -1 - o, n))) return false;
    }
    for (let k = 0; k < s.extras; k++) if (this.extraV[k] !== this.mX[k]) return false;
    return true;
  }

  /** The block's stored bytes, deflated here (packBlock); the writer starts the next block. */
  finishBlock(): Buffer {
    return packBlock(this.finishPlain(), this.level);
  }

  /**
   * The block in the plain format (residues not deflated), to deflate elsewhere with packBlock or
   * packBlockAsync (a reader reads either); the writer starts the next block.
   */
  finishPlain(): Buffer {
    this.cutTokens = Math.min(this.cutBurst, this.cutTokens + this.cutsPerBlock);
    if (this.n > 0) this.segLens.push(this.body.len - this.segAt);
    const head = new Bytes(64);
    head.buf[head.len++] = FORMAT_PLAIN;
    head.varint(this.n);
    for (let i = 0; i < this.segLens.length - 1; i++) head.varint(this.segLens[i]!);
    const out = Buffer.concat([head.buf.subarray(0, head.len), this.body.buf.subarray(0, this.body.len)]);
    this.body.len = 0;
    this.segLens = [];
    this.segAt = 0;
    this.n = 0;
    return out;
  }

  private whole(payload: Buffer): void {
    const out = this.body;
    out.varint(0);
    out.varint(payload.length);
    out.bytes(payload, 0, payload.length);
  }

  private deviceOf(device: string): Device {
    let d = this.devices.get(device);
    if (d !== undefined) return d;
    if (this.devices.size >= MAX_DEVICES) this.devices.clear();
    // A day reopened, or a device forgotten: its shapes and zone offsets from the table.
    d = { offsets: [0], recent: [] };
    for (let id = this.shapes.length - 1; id > 0; id--) {
      const s = this.shapes[id];
      if (s === undefined || s.device !== device) continue;
      if (d.recent.length < RECENT) d.recent.push(s);
      for (let o = 0; o < s.kind.length; o++) {
        if (s.kind[o] === OP_SLOT && s.a[o]! >= FIRST_TIME && d.offsets.length < MAX_OFFSETS && !d.offsets.includes(s.b[o]!)) d.offsets.push(s.b[o]!);
      }
    }
    this.devices.set(device, d);
    return d;
  }

  /**
   * Whether `line` has shape `s` with these record fields; its changed words (against the segment's
   * references) in mJ/mS/mE and its extra digits in mX.
   */
  private match(s: Shape, line: Buffer, rec: LineRecord): boolean {
    this.refsOf(s);
    const n = line.length;
    const kind = s.kind;
    const a = s.a;
    const b = s.b;
    const p = s.punct;
    const arena = this.arena;
    const refOff = s.refOff;
    const refLen = s.refLen;
    let at = 0;
    let nm = 0;
    let ne = 0;
    for (let o = 0; o < kind.length; o++) {
      const k = kind[o];
      if (k === OP_PUNCT) {
        let i = a[o]!;
        const len = b[o]!;
        if (at + len > n) return false;
        const end = i + len;
        for (; i < end; i++, at++) if (line[at] !== p[i]) return false;
      } else if (k === OP_WORD) {
        // Most words are their reference: compare it and the boundary after it in one pass.
        const st = at;
        const j = a[o]!;
        const rl = refLen[j]!;
        let r = refOff[j]!;
        const e = st + rl;
        if (e <= n) {
          while (at < e && line[at] === arena[r]) {
            at++;
            r++;
          }
          if (at === e && (at === n || WORD[line[at]!] === 0)) continue;
        }
        while (at < n && WORD[line[at]!] === 1) at++;
        if (at === st) return false;
        this.mJ[nm] = j;
        this.mS[nm] = st;
        this.mE[nm++] = at;
      } else {
        const f = a[o]!;
        const len = this.slotText(f, b[o]!, rec);
        if (len < 0 || at + len > n || !this.slotIs(f, line, at, len)) return false;
        at += len;
        const w = extraWidth(f);
        if (w) {
          if (at + w > n) return false;
          const v = digitsValue(line, at, at + w);
          if (v < 0) return false;
          this.mX[ne++] = v;
          at += w;
        }
      }
    }
    this.mN = nm;
    return at === n;
  }

  /** Append the residue of the matched line; keyed words to learn in learnJ. */
  private residue(s: Shape, line: Buffer, rec: LineRecord): void {
    const out = this.body;
    const st = this.stats;
    out.varint(s.id);
    const arena = this.arena;
    const refOff = s.refOff;
    const refLen = s.refLen;
    const kw = this.words();
    let src = -2;
    let last = -1;
    this.learnN = 0;
    for (let m = 0; m < this.mN; m++) {
      const j = this.mJ[m]!;
      const ws = this.mS[m]!;
      const we = this.mE[m]!;
      st.changedWords++;
      out.varint(j - last);
      last = j;
      const cur = digitsValue(line, ws, we);
      if (cur >= 0) {
        const ro = refOff[j]!;
        const rl = refLen[j]!;
        const ref = digitsValue(arena, ro, ro + rl);
        if (ref >= 0) {
          const decimal = (we - ws === 1 || line[ws] !== 48) && (rl === 1 || arena[ro] !== 48);
          if (decimal || we - ws === rl) {
            // The delta from the reference, or the value when smaller (counters that do not follow on).
            const d = zigzag(cur - ref);
            out.varint(cur < d ? cur * 8 + (decimal ? T_VALUE : T_VALUE_FIXED) : d * 8 + (decimal ? T_DELTA : T_DELTA_FIXED));
            continue;
          }
        }
      }
      if (src === -2) src = this.keyedOn ? kw.srcOf(rec.src_ip, kw.size < this.maxKeyed) : -1;
      if (src >= 0 && we - ws <= MAX_KEYED_WORD_BYTES) {
        const had = kw.get(src, s.id, j);
        if (had >= 0) {
          const hl = had % 64;
          if (hl === we - ws && sameBytes(line, ws, kw.bytes, Math.floor(had / 64), hl)) {
            st.keyedWords++;
            out.varint(T_KEYED);
            continue;
          }
        } else if (kw.size + this.learnN < this.maxKeyed) this.learnJ[this.learnN++] = m;
      }
      st.literalWords++;
      out.varint((we - ws) * 8 + T_LITERAL);
      out.bytes(line, ws, we);
    }
    out.varint(0);
    for (let k = 0; k < s.extras; k++) out.varint(this.mX[k]!);
  }

  /** Keep the words of learnJ as the subscriber's (the line verified), and queue them for takeNew. */
  private learn(s: Shape, line: Buffer, rec: LineRecord): void {
    const kw = this.words();
    const src = kw.srcOf(rec.src_ip, true);
    const ip = rec.src_ip!;
    const key = typeof ip === 'number' ? ip : Buffer.from(ip);
    for (let k = 0; k < this.learnN; k++) {
      const m = this.learnJ[k]!;
      const j = this.mJ[m]!;
      const ws = this.mS[m]!;
      const we = this.mE[m]!;
      kw.put(src, s.id, j, line, ws, we);
      this.newWords.push({ src: key, shape: s.id, index: j, word: Buffer.from(line.subarray(ws, we)) });
    }
    this.learnN = 0;
  }

  private index(s: Shape, key: string | null): void {
    this.nShapes++;
    this.perDevice.set(s.device, (this.perDevice.get(s.device) ?? 0) + 1);
    this.byKey.set(key ?? this.keyOfShape(s), s);
  }

  private keyOfShape(s: Shape): string {
    let key = `${s.device}\u0000`;
    for (let o = 0; o < s.kind.length; o++) {
      const k = s.kind[o];
      if (k === OP_PUNCT) key += s.punct.toString('latin1', s.a[o]!, s.a[o]! + s.b[o]!);
      else if (k === OP_WORD) key += '\u0001';
      else key += `\u0002${s.a[o]}.${s.b[o]}\u0003`;
    }
    return key;
  }

  /** The slow way: punch the record's fields out of the line, cut the rest in words; the shape found or added (null: a cap). */
  private cut(line: Buffer, device: string, dev: Device, rec: LineRecord): Shape | null {
    // A line with more words than a shape may have is not cut (slots only ever merge words).
    let words = 0;
    for (let i = 0, w = 0; i < line.length; i++) {
      const x = WORD[line[i]!]!;
      if (x > w && ++words > 2 * MAX_SHAPE_WORDS) return null;
      w = x;
    }
    const text = line.toString('latin1');
    const offs = dev.offsets;
    let spans = this.punch(text, this.candidates(rec, offs));
    if (!spans.some((sp) => sp.f >= FIRST_TIME) && offs.length < MAX_OFFSETS) {
      const learned = this.learnOffsets(text, rec).filter((o) => !offs.includes(o));
      if (learned.length) {
        offs.push(...learned.slice(0, MAX_OFFSETS - offs.length));
        spans = this.punch(text, this.candidates(rec, offs));
      }
    }
    if (spans.filter((sp) => extraWidth(sp.f) > 0).length > MAX_EXTRAS) return null;
    const parts: ShapeParts = { device, ops: [], words: [] };
    let key = `${device}\u0000`;
    const literal = (x: number, y: number) => {
      let i = x;
      while (i < y) {
        const w = WORD[text.charCodeAt(i)];
        let k = i + 1;
        while (k < y && WORD[text.charCodeAt(k)] === w) k++;
        if (w) {
          parts.ops.push({ k: OP_WORD });
          parts.words.push(line.subarray(i, k));
          key += '\u0001';
        } else {
          parts.ops.push({ k: OP_PUNCT, s: line.subarray(i, k) });
          key += text.slice(i, k);
        }
        i = k;
      }
    };
    let at = 0;
    for (const sp of spans) {
      if (parts.words.length > MAX_SHAPE_WORDS) return null;
      literal(at, sp.at);
      parts.ops.push({ k: OP_SLOT, f: sp.f, off: sp.off });
      key += `\u0002${sp.f}.${sp.off}\u0003`;
      at = sp.end;
    }
    literal(at, text.length);
    const found = this.byKey.get(key);
    if (found) return found;
    // Ids follow the highest one of the day (shapes.length − 1), whatever was loaded.
    if (this.shapes.length > MAX_SHAPES || (this.perDevice.get(device) ?? 0) >= MAX_DEVICE_SHAPES || parts.words.length > MAX_SHAPE_WORDS) return null;
    parts.words = parts.words.map((w) => Buffer.from(w));
    parts.ops = parts.ops.map((op) => (op.k === OP_PUNCT ? { k: op.k, s: Buffer.from(op.s) } : op));
    const s = buildShape(this.shapes.length, parts);
    this.addShape(s);
    this.index(s, key);
    this.newShapes.push(s.row);
    return s;
  }

  private candText(f: number, off: number, rec: LineRecord): string | null {
    const n = writeSlot(f, off, rec, this.timeBase, this.slot, 0, -1);
    return n <= 0 ? null : this.slot.toString('latin1', 0, n);
  }

  /** Candidate texts of the record's fields, longest first (an address before a port inside it). */
  private candidates(rec: LineRecord, offsets: readonly number[]): Cand[] {
    const out: Cand[] = [];
    const seen = new Set<string>();
    const add = (f: number, off: number) => {
      const text = this.candText(f, off, rec);
      if (text === null || seen.has(text)) return;
      seen.add(text);
      out.push({ text, f, off, loose: f >= FIRST_TIME });
    };
    for (const off of offsets) for (const f of [F.TBsdY, F.TIso, F.TBsd, F.TBsd0, F.TDate, F.TClock]) add(f, off);
    add(F.TEpochMs, 0);
    add(F.TEpochS, 0);
    for (const f of [F.SrcIp, F.NatIp, F.DstIp, F.SrcPort, F.NatPort, F.PortEnd, F.DstPort, F.ProtoUpper, F.ProtoLower, F.ProtoNum]) add(f, 0);
    // Stable: equal lengths keep the order above (times, then addresses, then ports and protocol).
    return out.sort((x, y) => y.text.length - x.text.length);
  }

  /** Spans of `line` that are record fields, in line order. */
  private punch(line: string, cands: Cand[]): Span[] {
    const mask = this.mask;
    mask.fill(0, 0, line.length);
    const spans: Span[] = [];
    const free = (x: number, y: number) => {
      for (let i = x; i < y; i++) if (mask[i]) return false;
      return true;
    };
    const isDigit = (c: number) => c >= 48 && c <= 57;
    const isWord = (c: number) => WORD[c] === 1;
    for (const c of cands) {
      const len = c.text.length;
      for (let at = line.indexOf(c.text); at >= 0; at = line.indexOf(c.text, at + 1)) {
        const end = at + len;
        const before = at > 0 ? line.charCodeAt(at - 1) : 32;
        const after = end < line.length ? line.charCodeAt(end) : 32;
        if (c.loose ? isDigit(before) : isWord(before)) continue;
        if (c.f === F.TEpochMs && isDigit(after)) {
          // Epoch µs / ns: the ms digits and exactly 3 / 6 more.
          let e = end;
          while (e < line.length && isDigit(line.charCodeAt(e))) e++;
          const more = e - end;
          if ((more === 3 || more === 6) && (e >= line.length || !isWord(line.charCodeAt(e))) && free(at, e)) {
            mask.fill(1, at, e);
            spans.push({ at, end: e, f: more === 3 ? F.TEpochUs : F.TEpochNs, off: 0 });
          }
          continue;
        }
        if (c.loose ? isDigit(after) : isWord(after)) continue;
        if (free(at, end)) {
          mask.fill(1, at, end);
          spans.push({ at, end, f: c.f, off: c.off });
        }
      }
    }
    return spans.sort((x, y) => x.at - y.at);
  }

  /** Zone offsets (minutes, multiples of 15) that turn the record time into a clock text of the line. */
  private learnOffsets(line: string, rec: LineRecord): number[] {
    const out: number[] = [];
    const ms = this.timeBase + rec.t;
    if (!Number.isFinite(ms)) return out;
    for (const m of line.matchAll(CLOCK_RE)) {
      const secs = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
      let d = secs - (((Math.floor(ms / 1000) % 86_400) + 86_400) % 86_400);
      if (d <= -43_200) d += 86_400;
      if (d > 50_400) d -= 86_400;
      if (d !== 0 && d % 900 === 0 && !out.includes(d / 60)) out.push(d / 60);
      if (out.length >= MAX_OFFSETS) break;
    }
    return out;
  }
}
