// What the line codec's writer and reader share: the day's shapes and keyed words, the segment's
// references, and the residue decoder and renderer (one code path for the write-time check and reads).
import { inflateRawSync } from 'node:zlib';
import { digitsValue, rdEnd, readVarint, unzigzag, writeDec, writeFixed } from './bytes.js';
import { KeyedWords } from './keyed-words.js';
import { parseShape, OP_PUNCT, OP_SLOT, type Shape } from './shape.js';
import { LAST_FIELD, SLOT_MAX, extraWidth, writeSlot } from './slots.js';
import {
  LOOKUP_CACHE, MAX_EXTRAS, MAX_KEYED_WORD_BYTES, MAX_LINE_BYTES, MAX_SHAPES, MAX_SHAPE_WORDS, corrupt,
  type KeyedWordLookup, type LineCodecOptions, type LineCodecState, type LineRecord,
} from './types.js';

export const T_LITERAL = 0;
export const T_DELTA = 1;
export const T_DELTA_FIXED = 2;
export const T_KEYED = 3;
export const T_VALUE = 4;
export const T_VALUE_FIXED = 5;



export class DayTables {
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
