// The line codec's writer: lines matched against their device's recent shapes (or cut afresh), their
// residues checked at write time and gathered in blocks; the shapes and keyed words learned, handed over.
import { Bytes, WORD, digitsValue, rdEnd, readVarint, sameBytes, zigzag } from './bytes.js';
import { FORMAT_PLAIN, packBlock } from './block.js';
import { buildShape, OP_PUNCT, OP_SLOT, OP_WORD, type Shape, type ShapeParts } from './shape.js';
import { F, FIRST_TIME, SLOT_MAX, extraWidth, writeSlot } from './slots.js';
import { DayTables, T_DELTA, T_DELTA_FIXED, T_KEYED, T_LITERAL, T_VALUE, T_VALUE_FIXED } from './tables.js';
import {
  CUT_BURST, CUTS_PER_BLOCK, DEFLATE_LEVEL, FULL_CHECK_EVERY, MAX_DEVICES, MAX_DEVICE_SHAPES, MAX_EXTRAS, MAX_KEYED_WORDS,
  MAX_KEYED_WORD_BYTES, MAX_LINE_BYTES, MAX_OFFSETS, MAX_SHAPES, MAX_SHAPE_WORDS, RECENT, RESTART,
  type KeyedWord, type LineCodecNew, type LineCodecOptions, type LineCodecState, type LineCodecStats, type LineRecord,
} from './types.js';

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
          // to the front (no splice: it makes an array a call)
          for (let k = i; k > 0; k--) recent[k] = recent[k - 1]!;
          recent[0] = s;
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
