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
//
// Files (line-codec/): types.ts the contract (record, state, options, limits, counters), bytes.ts
// varints and digits, slots.ts fields as text, shape.ts shapes and their rows, keyed-words.ts the
// subscriber's words, tables.ts what writer and reader share (the residue decoder and renderer),
// block.ts stored blocks, reader.ts, writer.ts.
export { LineReader } from './line-codec/reader.js';
export { LineWriter } from './line-codec/writer.js';
export { packBlock, packBlockAsync, packWords, toPlainBlock } from './line-codec/block.js';
export {
  CUT_BURST, CUTS_PER_BLOCK, DEFLATE_LEVEL, FULL_CHECK_EVERY, LineCodecError, MAX_DEVICE_SHAPES, MAX_KEYED_WORDS,
  MAX_KEYED_WORD_BYTES, MAX_LINE_BYTES, MAX_SHAPES, MAX_SHAPE_WORDS, RESTART,
  type KeyedWord, type KeyedWordLookup, type LineCodecNew, type LineCodecOptions, type LineCodecState, type LineCodecStats, type LineRecord,
} from './line-codec/types.js';
