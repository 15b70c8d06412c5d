// The line codec's contract with the store: the record it reads lines against, the tables it persists,
// its options, limits and counters (design and formats: store/line-codec.ts).
import { MEGALOG_ERR_LINE_CORRUPT } from '../../core/errors.js';

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
export const MAX_EXTRAS = 64;
/** Keyed words per day, and the longest word kept as one. */
export const MAX_KEYED_WORDS = 1 << 20;
export const MAX_KEYED_WORD_BYTES = 63;
/** Keyed words a reader with a lookup keeps in memory (then it starts afresh). */
export const LOOKUP_CACHE = 1 << 16;
/** Devices whose recent shapes a writer remembers (then it forgets them all and relearns). */
export const MAX_DEVICES = 4096;
/**
 * Lines cut afresh (the slow path, ~20–40 µs for a 250-byte line) a writer allows itself: CUT_BURST
 * at first (a day's first lines, every device's shapes), then CUTS_PER_BLOCK more each block. Past it
 * a line that fits none of its device's recent shapes is stored whole: lines crafted to miss every
 * shape cost their bytes, not the writer's throughput (≤ ~1 µs a line on average).
 */
export const CUTS_PER_BLOCK = 32;
export const CUT_BURST = 1024;
/** Shapes tried per device before cutting a line afresh. */
export const RECENT = 8;
/** Zone offsets learned per device. */
export const MAX_OFFSETS = 4;
/** deflate level of blocks and keyed-word blobs (see the bench figures in finishBlock). */
export const DEFLATE_LEVEL = 6;

/** A stored block, shape or keyed-words blob that does not decode. */
export class LineCodecError extends Error {
  readonly code = MEGALOG_ERR_LINE_CORRUPT;
}

export function corrupt(what: string): never {
  throw new LineCodecError(`line codec: ${what}`);
}


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
