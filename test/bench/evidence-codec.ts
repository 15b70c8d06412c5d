// "Template + diff" evidence codec for the evidence bench (evidence.ts): each original line is kept as
// the small residue that, with the line's records as the index stores them, re-renders it byte for
// byte. A design input for the storage engine redesign (issue #14), not used by the store.
//
// Encoding one line (TemplateCodec.encode):
//   1. Read it against the shapes its device used last (match: punctuation compared, words cut,
//      slots rendered from the records and compared). Most lines fit one: steps 2–3 are skipped.
//   2. Else punch: every occurrence of a record field, written as the vendors write it, becomes a
//      slot: addresses, ports, protocol (tcp / TCP / 6) and the record times in the formats syslog
//      lines carry (BSD header, with year, ISO, date and clock apart, epoch s / ms / µs / ns), in the
//      device's zone (its offset is learned from the first line whose clock text is a record time
//      shifted by a multiple of 15 minutes). Longest candidates first, whole tokens only.
//   3. What is left is cut into words (runs of [0-9A-Za-z_]) and punctuation. The shape of the line
//      is (vendor, device, punctuation, word positions, slots): the day's shape table holds each
//      shape once, with the words of its first line (the template).
//   4. The residue is the shape id and the words that differ from the reference: the previous line of
//      that shape in the same segment (the template for the segment's first one). A changed decimal
//      word is its delta from the reference (or its value, when smaller), other words literal text;
//      with `keyed`, a word the line's subscriber (src_ip) had the first time it differed there is
//      coded as "the subscriber's" (a day table, append-only: first value per subscriber, shape and
//      word position).
//   5. The residue is decoded at once against the line's records as stored; a line that does not
//      come back byte for byte (or has no record) is stored whole instead.
//
// Block of residues (encodeBlock; evidence.ts deflates it): varint k, k − 1 varint segment lengths,
// then k segments of RESTART lines whose references start from the templates, so that reading line i
// walks at most RESTART − 1 residues (no records needed for the walk: only words carry state) before
// rendering line i with its records.
//
// Residue of one line:
//   varint shape              0: the line is stored whole: varint length, bytes
//   { varint gap, value }*    changed words: gap = index − previous changed index (≥ 1); 0 ends
//       value = varint (x·8 + T): T.Literal (x = length, the bytes follow), T.Delta / T.DeltaFixed
//               (x = zigzag(cur − ref); Fixed: zero-padded to the reference's width), T.Value /
//               T.ValueFixed (x = cur), T.Keyed (the subscriber's word, x = 0)
//   varint extra*             one per slot with sub-millisecond digits (epoch µs / ns), in slot order
import { deflateRawSync } from 'node:zlib';
import type { NatRecord } from '../../src/parse/types.js';
import { ipFromDb, ipToDb, protoCode, protoName } from '../../src/store/codes.js';
import type { DayLine } from '../../src/store/sqlite/dayfile.js';

// ---------------------------------------------------------------------------------------------------
// Bytes

/** A growable byte buffer with LEB128 varints (values up to 2^53). */
export class Bytes {
  buf = Buffer.allocUnsafe(1 << 16);
  len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }

  varint(v: number): void {
    this.ensure(8);
    while (v >= 128) {
      this.buf[this.len++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  latin1(s: string): void {
    this.ensure(s.length);
    this.len += this.buf.write(s, this.len, 'latin1');
  }

  /** A copy of the bytes written. */
  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

/** Where the last readVarint ended. */
let rdEnd = 0;

export function readVarint(buf: Buffer, at: number): number {
  let v = 0;
  let mul = 1;
  let b: number;
  do {
    b = buf[at++]!;
    v += (b & 127) * mul;
    mul *= 128;
  } while (b & 128);
  rdEnd = at;
  return v;
}

export function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

// ---------------------------------------------------------------------------------------------------
// Records as the index stores them

/** A record's fields as read back from the index (addresses and protocol through the store's codes). */
export interface StoredRec {
  /** ms since the epoch. */
  t: number;
  srcIp: string | null;
  srcPort: number | null;
  natIp: string | null;
  /** Session port, or a block's first port. */
  natPort: number | null;
  natPortEnd: number | null;
  dstIp: string | null;
  dstPort: number | null;
  /** IANA number (codes.ts: 511 none, 510 other). */
  proto: number;
}

/** The records of a line as the index gives them back (what a decoder has). */
export function storedRecs(recs: NatRecord[], lineTime: number): StoredRec[] {
  const ip = (s: string | null) => ipFromDb(ipToDb(s));
  return recs.map((r) => ({
    t: r.time ?? lineTime,
    srcIp: ip(r.src_ip),
    srcPort: r.src_port,
    natIp: ip(r.nat_ip),
    natPort: r.nat_port_start ?? r.nat_port,
    natPortEnd: r.nat_port_start != null ? r.nat_port_end : null,
    dstIp: ip(r.dst_ip),
    dstPort: r.dst_port,
    proto: protoCode(r.proto),
  }));
}

// ---------------------------------------------------------------------------------------------------
// Slots: a record field written as a vendor writes it

const enum F {
  SrcIp, NatIp, DstIp, SrcPort, NatPort, NatPortEnd, DstPort, ProtoLower, ProtoUpper, ProtoNum,
  TBsd, TBsd0, TBsdY, TIso, TDate, TClock, TEpochS, TEpochMs, TEpochUs, TEpochNs,
}

const FIRST_TIME = F.TBsd;

interface Slot {
  f: F;
  /** Record index in the line. */
  r: number;
  /** Zone offset of local times, minutes. */
  off: number;
  /** Digits after the ms (epoch µs: 3, ns: 6): their value is in the residue. */
  extra: number;
}

/** Records a line's slots may use (a line with more stores the rest as words). */
const MAX_RECS = 4;
const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** The time texts of one second (in some zone), made once: lines come hundreds a second. */
interface Clock {
  bsd: string;
  bsd0: string;
  bsdY: string;
  iso: string;
  date: string;
  hms: string;
}

const clocks = new Map<number, Clock>();

/** Time texts of `sec` (seconds since the epoch, the zone offset already added). */
function clockOf(sec: number): Clock {
  let c = clocks.get(sec);
  if (c) return c;
  if (clocks.size >= 1024) clocks.clear();
  const d = new Date(sec * 1000);
  const day = d.getUTCDate();
  const mon = MON[d.getUTCMonth()]!;
  const dd = pad2(day);
  const year = String(d.getUTCFullYear());
  const date = `${year}-${pad2(d.getUTCMonth() + 1)}-${dd}`;
  const hms = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  c = { bsd: `${mon} ${day < 10 ? ' ' : ''}${day} ${hms}`, bsd0: `${mon} ${dd} ${hms}`, bsdY: `${mon} ${dd} ${year} ${hms}`, iso: `${date}T${hms}`, date, hms };
  clocks.set(sec, c);
  return c;
}

/**
 * The text of a slot for these records, or null when the field is absent. Epoch µs / ns: the ms
 * digits only when `extra` is negative (the sub-ms digits are matched apart).
 */
function render(s: Slot, recs: StoredRec[], extra: number): string | null {
  const r = recs[s.r];
  if (!r) return null;
  switch (s.f) {
    case F.SrcIp: return r.srcIp;
    case F.NatIp: return r.natIp;
    case F.DstIp: return r.dstIp;
    case F.SrcPort: return r.srcPort == null ? null : String(r.srcPort);
    case F.NatPort: return r.natPort == null ? null : String(r.natPort);
    case F.NatPortEnd: return r.natPortEnd == null ? null : String(r.natPortEnd);
    case F.DstPort: return r.dstPort == null ? null : String(r.dstPort);
    case F.ProtoLower: return protoName(r.proto);
    case F.ProtoUpper: return protoName(r.proto)?.toUpperCase() ?? null;
    case F.ProtoNum: return r.proto < 256 ? String(r.proto) : null;
    case F.TEpochS: return String(Math.floor(r.t / 1000));
    case F.TEpochMs: return String(r.t);
    case F.TEpochUs: return extra < 0 ? String(r.t) : String(r.t) + String(extra).padStart(3, '0');
    case F.TEpochNs: return extra < 0 ? String(r.t) : String(r.t) + String(extra).padStart(6, '0');
  }
  const c = clockOf(Math.floor((r.t + s.off * 60_000) / 1000));
  switch (s.f) {
    case F.TBsd: return c.bsd;
    case F.TBsd0: return c.bsd0;
    case F.TBsdY: return c.bsdY;
    case F.TIso: return c.iso;
    case F.TDate: return c.date;
    case F.TClock: return c.hms;
  }
  return null;
}

function slotKey(s: Slot): string {
  return `${s.f}.${s.r}.${s.off}`;
}

// ---------------------------------------------------------------------------------------------------
// Punching record fields out of a line

interface Cand {
  text: string;
  slot: Slot;
  /** Time formats: bounded by non-digits only (`…T08:00:00Z`); others by non-word characters. */
  loose: boolean;
}

interface Span {
  at: number;
  end: number;
  slot: Slot;
  extra: number;
}

function isWord(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Candidate texts of a line's records, longest first (an address before a port inside it). */
function candidates(recs: StoredRec[], offsets: readonly number[]): Cand[] {
  const out: Cand[] = [];
  const seen = new Set<string>();
  const add = (text: string | null, f: F, r: number, off = 0) => {
    if (text == null || text === '' || seen.has(text)) return;
    seen.add(text);
    out.push({ text, slot: { f, r, off, extra: 0 }, loose: f >= FIRST_TIME });
  };
  const n = Math.min(recs.length, MAX_RECS);
  for (let r = 0; r < n; r++) {
    const rec = recs[r]!;
    for (const off of offsets) for (const f of [F.TBsdY, F.TIso, F.TBsd, F.TBsd0, F.TDate, F.TClock]) add(render({ f, r, off, extra: 0 }, recs, 0), f, r, off);
    add(String(rec.t), F.TEpochMs, r);
    add(String(Math.floor(rec.t / 1000)), F.TEpochS, r);
  }
  for (let r = 0; r < n; r++) {
    const rec = recs[r]!;
    add(rec.srcIp, F.SrcIp, r);
    add(rec.natIp, F.NatIp, r);
    add(rec.dstIp, F.DstIp, r);
  }
  for (let r = 0; r < n; r++) {
    const rec = recs[r]!;
    for (const f of [F.SrcPort, F.NatPort, F.NatPortEnd, F.DstPort, F.ProtoUpper, F.ProtoLower, F.ProtoNum]) add(render({ f, r, off: 0, extra: 0 }, recs, 0), f, r);
  }
  // Stable: equal lengths keep the order above (times, then addresses, then ports and protocol).
  return out.sort((a, b) => b.text.length - a.text.length);
}

let mask = new Uint8Array(4096);

/** Spans of `line` that are record fields, in line order. */
function punch(line: string, cands: Cand[]): Span[] {
  if (mask.length < line.length) mask = new Uint8Array(line.length * 2);
  mask.fill(0, 0, line.length);
  const spans: Span[] = [];
  const free = (a: number, b: number) => {
    for (let i = a; i < b; i++) if (mask[i]) return false;
    return true;
  };
  const claim = (at: number, end: number, slot: Slot, extra: number) => {
    mask.fill(1, at, end);
    spans.push({ at, end, slot, extra });
  };
  for (const c of cands) {
    const len = c.text.length;
    for (let at = line.indexOf(c.text); at >= 0; at = line.indexOf(c.text, at + 1)) {
      const end = at + len;
      const before = at > 0 ? line.charCodeAt(at - 1) : 32;
      const after = end < line.length ? line.charCodeAt(end) : 32;
      if (c.loose ? isDigit(before) : isWord(before)) continue;
      if (c.slot.f === F.TEpochMs && isDigit(after)) {
        // Epoch µs / ns: the ms digits and exactly 3 / 6 more.
        let e = end;
        while (e < line.length && isDigit(line.charCodeAt(e))) e++;
        const more = e - end;
        if ((more === 3 || more === 6) && (e >= line.length || !isWord(line.charCodeAt(e))) && free(at, e)) {
          claim(at, e, { ...c.slot, f: more === 3 ? F.TEpochUs : F.TEpochNs, extra: more }, Number(line.slice(end, e)));
        }
        continue;
      }
      if (c.loose ? isDigit(after) : isWord(after)) continue;
      if (free(at, end)) claim(at, end, c.slot, 0);
    }
  }
  return spans.sort((a, b) => a.at - b.at);
}

const CLOCK_RE = /(\d\d):(\d\d):(\d\d)/g;

/**
 * Zone offsets (minutes) that turn a record time into a clock text of the line: a multiple of 15
 * minutes between the text and the record's UTC second of the day.
 */
function learnOffsets(line: string, recs: StoredRec[]): number[] {
  const out: number[] = [];
  for (const m of line.matchAll(CLOCK_RE)) {
    const secs = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
    for (const r of recs.slice(0, MAX_RECS)) {
      let d = secs - (Math.floor(r.t / 1000) % 86_400);
      if (d <= -43_200) d += 86_400;
      if (d > 50_400) d -= 86_400;
      if (d !== 0 && d % 900 === 0 && !out.includes(d / 60)) out.push(d / 60);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Shapes and the codec

const enum E {
  Punct,
  Word,
  Slot,
}

type Elem = { e: E.Punct; s: string } | { e: E.Word; j: number } | { e: E.Slot; slot: Slot };

interface Shape {
  id: number;
  vendor: string;
  device: string;
  elems: Elem[];
  /** The words of the shape's first line: the template. */
  words0: string[];
  /** Slots with extra digits, in order. */
  extras: number;
}

/** What an encoder keeps per device: its zone offsets and the shapes it used last, latest first. */
interface Device {
  offsets: number[];
  recent: Shape[];
}

/** A line read against a shape: its words that differ from the references, and the extra digits. */
interface Match {
  shape: Shape;
  /** [word index, text], in index order. */
  changes: [number, string][];
  extras: number[];
}

/** A decoded residue: shape id (0: whole line), text (when rendered), the shape's next references. */
interface Decoded {
  id: number;
  text: string | null;
  ref: string[] | null;
  next: number;
}

/** How a changed word is coded (the low 3 bits of its head varint). */
const enum T {
  Literal, // x = length, the bytes follow
  Delta, // decimal: x = zigzag(cur − ref)
  DeltaFixed, // digits of the reference's width (zero-padded): x = zigzag(cur − ref)
  Keyed, // the subscriber's word (x = 0)
  Value, // decimal: x = cur
  ValueFixed, // digits of the reference's width: x = cur
}

/** Lines between restart points of a block (references back to the templates). */
export const RESTART = 128;

const DECIMAL = /^(0|[1-9][0-9]{0,11})$/;
const DIGITS = /^[0-9]{1,12}$/;
/** Shapes tried per device before punching a line afresh. */
const RECENT = 8;

/** Why lines were stored whole, and how words were coded. */
export interface CodecStats {
  lines: number;
  whole: number;
  wholeNoRecord: number;
  wholeMismatch: number;
  /** Lines that matched one of the device's recent shapes (no punching). */
  fast: number;
  changedWords: number;
  keyedHits: number;
  literalWords: number;
}

/**
 * One day's template codec: the shape table (and, `keyed`, the subscriber table) grow as lines come;
 * a segment's residues reference only those tables and the segment's own earlier residues.
 */
export class TemplateCodec {
  private readonly shapes: Shape[] = [];
  private readonly byKey = new Map<string, Shape>();
  private readonly devices = new Map<string, Device>();
  /** (src_ip, shape, word index) → the word the first time it differed from the reference. */
  private readonly subs = new Map<string, string>();
  /** Reference words of each shape in the segment being encoded. */
  private state = new Map<number, string[]>();
  readonly stats: CodecStats = { lines: 0, whole: 0, wholeNoRecord: 0, wholeMismatch: 0, fast: 0, changedWords: 0, keyedHits: 0, literalWords: 0 };

  /**
   * `keyed`: code words as the subscriber's (the subscriber table). `restart`: lines between restart
   * points (references back to the templates), so that reading a line walks fewer residues.
   */
  constructor(readonly keyed: boolean, readonly restart = RESTART) {}

  get shapeCount(): number {
    return this.shapes.length;
  }

  get subscriberEntries(): number {
    return this.subs.size;
  }

  /**
   * The residues of a block: varint k (segments of `restart` lines), k − 1 varint segment lengths,
   * then the segments. Each segment starts from the templates.
   */
  encodeBlock(lines: DayLine[]): Buffer {
    const body = new Bytes();
    const lens: number[] = [];
    for (let i = 0; i < lines.length; i += this.restart) {
      this.state = new Map();
      const start = body.len;
      for (let k = i; k < Math.min(lines.length, i + this.restart); k++) this.encode(lines[k]!, body);
      lens.push(body.len - start);
    }
    const head = new Bytes();
    head.varint(lens.length);
    for (const n of lens.slice(0, -1)) head.varint(n);
    return Buffer.concat([head.take(), body.take()]);
  }

  /** Append the residue of `line` to `out` (verified: it decodes back to the same bytes). */
  private encode(line: DayLine, out: Bytes): void {
    this.stats.lines++;
    const text = line.payload.toString('latin1');
    const start = out.len;
    if (line.status !== 'records' || line.records.length === 0) {
      this.stats.wholeNoRecord++;
      return this.whole(text, out);
    }
    const recs = storedRecs(line.records, line.time);
    let dev = this.devices.get(line.device);
    if (!dev) this.devices.set(line.device, (dev = { offsets: [0], recent: [] }));
    // Most lines have the shape of one of the device's last lines: read them against it.
    let m: Match | null = null;
    for (const shape of dev.recent) if ((m = this.match(shape, text, recs))) break;
    if (m) this.stats.fast++;
    else m = this.punchLine(line, text, recs, dev);
    const shape = m.shape;
    const k = dev.recent.indexOf(shape);
    if (k !== 0) {
      if (k > 0) dev.recent.splice(k, 1);
      else if (dev.recent.length >= RECENT) dev.recent.pop();
      dev.recent.unshift(shape);
    }
    // The residue.
    const ref = this.state.get(shape.id) ?? shape.words0;
    out.varint(shape.id);
    const src = recs[0]!.srcIp;
    const register: [string, string][] = [];
    let last = -1;
    for (const [j, cur] of m.changes) {
      const was = ref[j]!;
      this.stats.changedWords++;
      out.varint(j - last);
      last = j;
      if (DIGITS.test(cur) && DIGITS.test(was)) {
        const decimal = DECIMAL.test(cur) && DECIMAL.test(was);
        if (decimal || cur.length === was.length) {
          // The delta from the reference, or the value when smaller (counters that do not follow on).
          const d = zigzag(Number(cur) - Number(was));
          const v = Number(cur);
          out.varint(v < d ? v * 8 + (decimal ? T.Value : T.ValueFixed) : d * 8 + (decimal ? T.Delta : T.DeltaFixed));
          continue;
        }
      }
      if (this.keyed && src != null) {
        const key = `${src}\u0000${shape.id}\u0000${j}`;
        const had = this.subs.get(key);
        if (had === cur) {
          this.stats.keyedHits++;
          out.varint(T.Keyed);
          continue;
        }
        if (had === undefined) register.push([key, cur]);
      }
      this.stats.literalWords++;
      out.varint(cur.length * 8 + T.Literal);
      out.latin1(cur);
    }
    out.varint(0);
    for (const x of m.extras) out.varint(x);
    // Check at write time: decode what was written against the records as stored.
    const back = this.decodeOne(out.buf, start, recs, this.state);
    if (back.text !== text) {
      this.stats.wholeMismatch++;
      out.len = start;
      return this.whole(text, out);
    }
    this.state.set(shape.id, back.ref!);
    for (const [key, v] of register) this.subs.set(key, v);
  }

  private whole(text: string, out: Bytes): void {
    this.stats.whole++;
    out.varint(0);
    out.varint(text.length);
    out.latin1(text);
  }

  /** `text` read against `shape` (slots rendered from `recs`), or null when it does not fit. */
  private match(shape: Shape, text: string, recs: StoredRec[]): Match | null {
    const ref = this.state.get(shape.id) ?? shape.words0;
    const changes: [number, string][] = [];
    const extras: number[] = [];
    let at = 0;
    for (const el of shape.elems) {
      if (el.e === E.Punct) {
        if (!text.startsWith(el.s, at)) return null;
        at += el.s.length;
      } else if (el.e === E.Word) {
        let k = at;
        while (k < text.length && isWord(text.charCodeAt(k))) k++;
        if (k === at) return null;
        const was = ref[el.j]!;
        if (k - at !== was.length || !text.startsWith(was, at)) changes.push([el.j, text.slice(at, k)]);
        at = k;
      } else {
        const s = render(el.slot, recs, -1);
        if (s === null || !text.startsWith(s, at)) return null;
        at += s.length;
        if (el.slot.extra) {
          const k = at + el.slot.extra;
          for (let i = at; i < k; i++) if (!isDigit(text.charCodeAt(i))) return null;
          extras.push(Number(text.slice(at, k)));
          at = k;
        }
      }
    }
    return at === text.length ? { shape, changes, extras } : null;
  }

  /** The slow way: punch the record fields out, cut the rest in words; the shape found or added. */
  private punchLine(line: DayLine, text: string, recs: StoredRec[], dev: Device): Match {
    const offs = dev.offsets;
    let spans = punch(text, candidates(recs, offs));
    if (!spans.some((s) => s.slot.f >= FIRST_TIME) && offs.length < 4) {
      const learned = learnOffsets(text, recs).filter((o) => !offs.includes(o));
      if (learned.length) {
        offs.push(...learned.slice(0, 4 - offs.length));
        spans = punch(text, candidates(recs, offs));
      }
    }
    // The skeleton: punctuation, word positions and slots; its key names the shape.
    const elems: Elem[] = [];
    const words: string[] = [];
    const extras: number[] = [];
    let key = `${line.vendor}\u0000${line.device}\u0000`;
    const literal = (a: number, b: number) => {
      let i = a;
      while (i < b) {
        const w = isWord(text.charCodeAt(i));
        let k = i + 1;
        while (k < b && isWord(text.charCodeAt(k)) === w) k++;
        if (w) {
          elems.push({ e: E.Word, j: words.length });
          words.push(text.slice(i, k));
          key += '\u0001';
        } else {
          const s = text.slice(i, k);
          elems.push({ e: E.Punct, s });
          key += s;
        }
        i = k;
      }
    };
    let at = 0;
    for (const sp of spans) {
      literal(at, sp.at);
      elems.push({ e: E.Slot, slot: sp.slot });
      key += `\u0002${slotKey(sp.slot)}\u0003`;
      if (sp.slot.extra) extras.push(sp.extra);
      at = sp.end;
    }
    literal(at, text.length);
    let shape = this.byKey.get(key);
    if (!shape) {
      shape = { id: this.shapes.length + 1, vendor: line.vendor ?? '', device: line.device, elems, words0: words, extras: extras.length };
      this.shapes.push(shape);
      this.byKey.set(key, shape);
    }
    const ref = this.state.get(shape.id) ?? shape.words0;
    const changes: [number, string][] = [];
    words.forEach((w, j) => {
      if (w !== ref[j]) changes.push([j, w]);
    });
    return { shape, changes, extras };
  }

  /**
   * Decode the residue at `at`; `recs` null: only move the references on (no rendering). Returns the
   * text (null when not rendered or when a slot's field is absent) and the shape's next references.
   */
  private decodeOne(buf: Buffer, at: number, recs: StoredRec[] | null, state: Map<number, string[]>): Decoded {
    const id = readVarint(buf, at);
    at = rdEnd;
    if (id === 0) {
      const n = readVarint(buf, at);
      at = rdEnd;
      return { id, text: recs ? buf.toString('latin1', at, at + n) : null, ref: null, next: at + n };
    }
    const shape = this.shapes[id - 1]!;
    const ref = state.get(id) ?? shape.words0;
    const next = ref.slice();
    let out: string[] | null = null; // words as rendered, when some come from the subscriber table
    for (let j = -1; ; ) {
      const gap = readVarint(buf, at);
      at = rdEnd;
      if (gap === 0) break;
      j += gap;
      const head = readVarint(buf, at);
      at = rdEnd;
      const tag = head % 8;
      const x = Math.floor(head / 8);
      if (tag === T.Literal) {
        next[j] = buf.toString('latin1', at, at + x);
        at += x;
      } else if (tag === T.Delta) next[j] = String(Number(ref[j]) + unzigzag(x));
      else if (tag === T.DeltaFixed) next[j] = String(Number(ref[j]) + unzigzag(x)).padStart(ref[j]!.length, '0');
      else if (tag === T.Value) next[j] = String(x);
      else if (tag === T.ValueFixed) next[j] = String(x).padStart(ref[j]!.length, '0');
      else if (recs) {
        // The subscriber's word: rendered, but the reference stays (a walk has no records to look it up).
        out ??= next.slice();
        out[j] = this.subs.get(`${recs[0]!.srcIp}\u0000${id}\u0000${j}`) ?? '\u0000';
      }
      if (out && tag !== T.Keyed) out[j] = next[j]!;
    }
    const extras: number[] = [];
    for (let k = 0; k < shape.extras; k++) {
      extras.push(readVarint(buf, at));
      at = rdEnd;
    }
    if (!recs) return { id, text: null, ref: next, next: at };
    const words = out ?? next;
    let text = '';
    let k = 0;
    for (const el of shape.elems) {
      if (el.e === E.Punct) text += el.s;
      else if (el.e === E.Word) text += words[el.j];
      else {
        const s = render(el.slot, recs, el.slot.extra ? extras[k++]! : 0);
        if (s === null) return { id, text: null, ref: next, next: at };
        text += s;
      }
    }
    return { id, text, ref: next, next: at };
  }

  /** Line `index` of a block of residues, rendered with its stored records (random access). */
  decodeAt(plain: Buffer, index: number, recs: StoredRec[]): Buffer {
    const k = readVarint(plain, 0);
    let at = rdEnd;
    const seg = Math.floor(index / this.restart);
    let skip = 0;
    for (let i = 0; i < k - 1; i++) {
      const n = readVarint(plain, at);
      at = rdEnd;
      if (i < seg) skip += n;
    }
    at += skip;
    const state = new Map<number, string[]>();
    for (let i = seg * this.restart; i < index; i++) {
      const d = this.decodeOne(plain, at, null, state);
      if (d.ref) state.set(d.id, d.ref);
      at = d.next;
    }
    const d = this.decodeOne(plain, at, recs, state);
    return Buffer.from(d.text ?? '', 'latin1');
  }

  /** Every line of a block of residues in order, rendered with their stored records (export, checks). */
  decodeBlock(plain: Buffer, recs: StoredRec[][]): Buffer[] {
    const k = readVarint(plain, 0);
    let at = rdEnd;
    for (let i = 0; i < k - 1; i++) {
      readVarint(plain, at);
      at = rdEnd;
    }
    const out: Buffer[] = [];
    let state = new Map<number, string[]>();
    recs.forEach((r, i) => {
      if (i % this.restart === 0) state = new Map();
      const d = this.decodeOne(plain, at, r, state);
      if (d.ref) state.set(d.id, d.ref);
      out.push(Buffer.from(d.text ?? '', 'latin1'));
      at = d.next;
    });
    return out;
  }

  /** The day's shape table as a file would hold it (once per day), deflated. */
  shapeTableBytes(): number {
    const b = new Bytes();
    for (const s of this.shapes) {
      b.varint(s.vendor.length);
      b.latin1(s.vendor);
      b.varint(s.device.length);
      b.latin1(s.device);
      b.varint(s.elems.length);
      for (const el of s.elems) {
        b.varint(el.e);
        if (el.e === E.Punct) {
          b.varint(el.s.length);
          b.latin1(el.s);
        } else if (el.e === E.Slot) {
          b.varint(el.slot.f);
          b.varint(el.slot.r);
          b.varint(zigzag(el.slot.off));
        }
      }
      for (const w of s.words0) {
        b.varint(w.length);
        b.latin1(w);
      }
    }
    return deflateRawSync(b.take(), { level: 9 }).length;
  }

  /** The day's subscriber table (keyed), deflated: sorted (src_ip, shape, position) → word. */
  subscriberTableBytes(): number {
    const rows = [...this.subs].map(([k, v]) => {
      const [src, shape, j] = k.split('\u0000') as [string, string, string];
      const ip = ipToDb(src);
      return { ip: typeof ip === 'number' ? ip : 0, shape: Number(shape), j: Number(j), v };
    });
    rows.sort((a, b) => a.ip - b.ip || a.shape - b.shape || a.j - b.j);
    const b = new Bytes();
    let prev = 0;
    for (const r of rows) {
      b.varint(zigzag(r.ip - prev));
      prev = r.ip;
      b.varint(r.shape);
      b.varint(r.j);
      b.varint(r.v.length);
      b.latin1(r.v);
    }
    return deflateRawSync(b.take(), { level: 9 }).length;
  }
}
