// The line codec (store/line-codec.ts) gives every line back byte for byte: vendor corpora, mutated and
// hostile lines, lines stored whole, a reader opened from the persisted tables alone, a writer that
// goes on with a day after a restart, and the caps on shapes and keyed words.
import { describe, expect, it } from 'vitest';
import { DAY_MS, ipToDb } from '../../src/store/codes.js';
import type { NatRow } from '../../src/store/store.js';
import {
  LineCodecError, LineReader, LineWriter, MAX_DEVICE_SHAPES, MAX_LINE_BYTES, MAX_SHAPES, RESTART, packBlock, packBlockAsync, packWords, toPlainBlock,
  type KeyedWord,
  type LineCodecOptions, type LineRecord,
} from '../../src/store/line-codec.js';
import { lineRecord, makeCorpus, rng, type CorpusName } from '../bench/evidence-corpus.js';

const BLOCK = 1024;

interface Line {
  payload: Buffer;
  device: string;
  rec: LineRecord | null;
}

interface Day {
  blocks: Buffer[];
  shapes: Buffer[];
  /** The keyed words as packWords blobs, and as the rows takeNew gave. */
  words: Buffer[];
  rows: KeyedWord[];
  writer: LineWriter;
}

/** Encode lines in blocks of BLOCK as the store would, keeping what takeNew hands over after each. */
function encode(lines: Line[], opts?: LineCodecOptions, from?: Day): Day {
  const day: Day = from ?? { blocks: [], shapes: [], words: [], rows: [], writer: new LineWriter(null, opts) };
  const w = day.writer;
  for (let b = 0; b < lines.length; b += BLOCK) {
    for (const l of lines.slice(b, b + BLOCK)) w.add(l.payload, l.device, l.rec);
    day.blocks.push(w.finishBlock());
    const fresh = w.takeNew();
    day.shapes.push(...fresh.shapes);
    if (fresh.words.length) day.words.push(packWords(fresh.words));
    day.rows.push(...fresh.words);
  }
  return day;
}

/** A keyed-word table as a store could keep it, and its lookup. */
function lookupOf(rows: KeyedWord[]): (src: number | Uint8Array, shape: number, index: number) => Buffer | undefined {
  const key = (src: number | Uint8Array, shape: number, index: number) => `${typeof src === 'number' ? src : Buffer.from(src).toString('hex')}|${shape}|${index}`;
  const table = new Map<string, Buffer>();
  for (const r of rows) if (!table.has(key(r.src, r.shape, r.index))) table.set(key(r.src, r.shape, r.index), r.word);
  return (src, shape, index) => table.get(key(src, shape, index));
}

/**
 * Every line read back by a reader made from the persisted tables only (keyed words as blobs, or
 * looked up one by one): whole blocks and single lines.
 */
function expectExact(day: Day, lines: Line[], singles = 200): void {
  const reader = new LineReader({ shapes: day.shapes, words: day.words });
  const looked = new LineReader({ shapes: day.shapes, words: lookupOf(day.rows) });
  let wrong = 0;
  day.blocks.forEach((blk, k) => {
    const part = lines.slice(k * BLOCK, (k + 1) * BLOCK);
    expect(LineReader.count(blk)).toBe(part.length);
    reader.blockLines(blk, part.map((l) => l.rec), part.map((l) => l.device)).forEach((got, i) => (wrong += got.equals(part[i]!.payload) ? 0 : 1));
  });
  expect(wrong).toBe(0);
  const r = rng(5);
  for (let k = 0; k < singles; k++) {
    const at = Math.floor(r() * lines.length);
    const l = lines[at]!;
    expect(reader.lineAt(day.blocks[Math.floor(at / BLOCK)]!, at % BLOCK, l.rec, l.device).equals(l.payload)).toBe(true);
    expect(looked.lineAt(day.blocks[Math.floor(at / BLOCK)]!, at % BLOCK, l.rec, l.device).equals(l.payload)).toBe(true);
  }
}

function corpusLines(name: CorpusName, n: number, firstRecordOnly = false): Line[] {
  return makeCorpus(name, 0, n).lines.map((l) => ({
    payload: l.payload,
    device: l.device,
    rec: firstRecordOnly && l.records.length > 1 ? lineRecord({ ...l, records: l.records.slice(0, 1) }) : lineRecord(l),
  }));
}

function bytesOf(day: Day): number {
  return day.blocks.reduce((a, b) => a + b.length, 0);
}

describe('line codec', () => {
  for (const name of ['mikrotik-asis', 'mikrotik', 'juniper-srx', 'cisco-asa'] as const) {
    it(`gives every ${name} line back byte for byte, most of them as a few bytes of residue`, () => {
      const lines = corpusLines(name, 12 * BLOCK);
      const day = encode(lines);
      expectExact(day, lines);
      const s = day.writer.stats;
      expect(s.wholeMismatch + s.wholeNoShape + s.wholeCutBudget + s.wholeTooLong).toBe(0);
      expect(s.fast / s.lines).toBeGreaterThan(0.95);
      expect(bytesOf(day) / lines.length).toBeLessThan(8);
    });
  }

  it('reads records with day-relative times (timeBase) and the store\'s nat rows as they are', () => {
    const lines = corpusLines('juniper-srx', 2 * BLOCK);
    const dayStart = Math.floor(lines[0]!.rec!.t / DAY_MS) * DAY_MS;
    // A nat row (store.ts NatRow) is a LineRecord: t since the day's start, nat_port −1 for none.
    const rows: Line[] = lines.map((l) => {
      const row: NatRow = { ...l.rec!, t: l.rec!.t - dayStart, nat_ip: l.rec!.nat_ip as number, nat_port: l.rec!.nat_port ?? -1, id: 0, device: 1, src_ip: l.rec!.src_ip as number, dst_ip: l.rec!.dst_ip as number };
      return { ...l, rec: row };
    });
    const day = encode(rows, { timeBase: dayStart, fullCheck: true });
    expect(day.writer.stats.wholeMismatch + day.writer.stats.wholeNoShape).toBe(0);
    const reader = new LineReader({ shapes: day.shapes, words: day.words }, { timeBase: dayStart });
    const l = rows[777]!;
    expect(reader.lineAt(day.blocks[0]!, 777, l.rec, l.device).equals(l.payload)).toBe(true);
    // Without the writer's timeBase the times render wrong: refused or different, never silently equal.
    const wrong = new LineReader({ shapes: day.shapes, words: day.words });
    let same = false;
    try {
      same = wrong.lineAt(day.blocks[0]!, 777, l.rec, l.device).equals(l.payload);
    } catch (err) {
      expect(err).toBeInstanceOf(LineCodecError);
    }
    expect(same).toBe(false);
  });

  it('stores a line with two records whole (FortiGate close logs) and gives it back', () => {
    const lines = corpusLines('fortinet', 3 * BLOCK);
    expect(lines.every((l) => l.rec === null)).toBe(true);
    const day = encode(lines);
    expectExact(day, lines);
    expect(day.writer.stats.wholeNoRecord).toBe(lines.length);
    expect(day.shapes.length).toBe(0);
  });

  it('reads a line against one of its records, in its device zone, with epoch nanoseconds', () => {
    // FortiGate lines against their first record only: a local date and time (UTC−7) and eventtime in ns.
    const lines = corpusLines('fortinet', 3 * BLOCK, true);
    const day = encode(lines);
    expectExact(day, lines);
    expect(day.writer.stats.wholeMismatch + day.writer.stats.wholeNoShape).toBe(0);
    expect(bytesOf(day) / lines.length).toBeLessThan(60);
  });

  it('lets a writer reopened from the persisted tables go on with the day', () => {
    const lines = corpusLines('mikrotik', 6 * BLOCK);
    const first = encode(lines.slice(0, 3 * BLOCK));
    const shapes = first.shapes.length;
    const reopened: Day = { blocks: [...first.blocks], shapes: [...first.shapes], words: [...first.words], rows: [...first.rows], writer: new LineWriter({ shapes: first.shapes, words: first.words }) };
    expect(() => new LineWriter({ shapes: first.shapes, words: lookupOf(first.rows) })).toThrow(TypeError);
    encode(lines.slice(3 * BLOCK), undefined, reopened);
    expect(reopened.shapes.length).toBe(shapes); // the same shapes found again, none added
    expect(reopened.writer.stats.keyedWords).toBeGreaterThan(0); // the subscribers' words of the first half used
    expectExact(reopened, lines);
  });

  it('gives mutated and hostile lines back byte for byte (stored whole when they do not fit)', () => {
    const base = corpusLines('mikrotik', 2 * BLOCK);
    const r = rng(77);
    const pick = (n: number) => Math.floor(r() * n);
    const lines: Line[] = base.map((l, i) => {
      const p = Buffer.from(l.payload);
      let out: Buffer = p;
      switch (i % 12) {
        case 0: // a byte flipped anywhere (often inside an address or port: the line almost matches)
          p[pick(p.length)] ^= 1 << pick(8);
          break;
        case 1: // NUL and invalid UTF-8 inserted
          out = Buffer.concat([p.subarray(0, pick(p.length)), Buffer.from([0, 0xff, 0xc3, 0x28, 0]), p.subarray(pick(p.length))]);
          break;
        case 2: // a digit changed in the middle of a number
          for (let k = 0; k < 20; k++) {
            const at = pick(p.length);
            if (p[at]! >= 48 && p[at]! <= 57) {
              p[at] = 48 + ((p[at]! - 47) % 10);
              break;
            }
          }
          break;
        case 3: // cut short
          out = p.subarray(0, pick(p.length));
          break;
        case 4: // a leading zero in a word
          out = Buffer.from(p.toString('latin1').replace(', len ', ', len 0'), 'latin1');
          break;
        case 5: // random bytes after the line
          out = Buffer.concat([p, Buffer.from(Array.from({ length: pick(40) }, () => pick(256)))]);
          break;
        case 6: // an empty line
          out = Buffer.alloc(0);
          break;
        case 7: // a long word and a long number
          out = Buffer.concat([p, Buffer.from(` ${'x'.repeat(200)} ${'9'.repeat(30)} 000123`)]);
          break;
      }
      return { payload: out, device: l.device, rec: l.rec };
    });
    // A 64 KB line, and one just at the limit.
    const rec = base[0]!.rec;
    lines.push({ payload: Buffer.concat([base[0]!.payload, Buffer.alloc(64 * 1024 - base[0]!.payload.length, 0x41)]), device: base[0]!.device, rec });
    lines.push({ payload: Buffer.concat([base[0]!.payload, Buffer.from(' ' + '1 '.repeat((MAX_LINE_BYTES - base[0]!.payload.length) / 2 - 1) + '1')]).subarray(0, MAX_LINE_BYTES), device: base[0]!.device, rec });
    // A record whose fields are absent or odd.
    lines.push({ payload: base[1]!.payload, device: base[1]!.device, rec: { t: -5, nat_ip: null, nat_port: -1, port_end: null, src_ip: 2 ** 40, src_port: 1.5, dst_ip: new Uint8Array(3), dst_port: null, code: 511 } });
    const day = encode(lines);
    expectExact(day, lines, 500);
    const s = day.writer.stats;
    expect(s.wholeTooLong).toBe(1);
    expect(s.lines - s.wholeNoRecord - s.wholeTooLong - s.wholeNoShape - s.wholeCutBudget - s.wholeMismatch).toBeGreaterThan(lines.length / 2);
  });

  it('renders IPv6 records and keys IPv6 subscribers', () => {
    const lines: Line[] = [];
    const t0 = Date.parse('2026-01-15T08:00:00Z');
    for (let i = 0; i < 3 * BLOCK; i++) {
      const sub = i % 50;
      const src = `2001:db8:${sub.toString(16)}::${(i % 7) + 1}`;
      const nat = `2001:db8:ffff::${(i % 3) + 1}`;
      const t = t0 + i * 3;
      const d = new Date(t).toISOString().replace('Z', '+00:00');
      lines.push({
        payload: Buffer.from(`<14>1 ${d} nat64 fw - - - user=u${sub * 7} proto=tcp src=[${src}]:${1000 + i} xlat=[${nat}]:${2000 + (i % 900)}`),
        device: '2001:db8::fe',
        rec: { t, nat_ip: ipToDb(nat), nat_port: 2000 + (i % 900), port_end: null, src_ip: ipToDb(src), src_port: 1000 + i, dst_ip: null, dst_port: null, code: 65536 + 6 },
      });
    }
    const day = encode(lines);
    expectExact(day, lines);
    expect(day.writer.stats.wholeMismatch + day.writer.stats.wholeNoShape).toBe(0);
    expect(day.writer.stats.keyedWords).toBeGreaterThan(0);
  });

  it('renders epoch times in s, ms, µs and ns, and BSD, ISO and local clock texts', () => {
    const lines: Line[] = [];
    const t0 = Date.parse('2026-03-08T09:59:58.000Z');
    const r = rng(3);
    for (let i = 0; i < 2 * BLOCK; i++) {
      const t = t0 + Math.floor(i * 37.3);
      const us = Math.floor(r() * 1000);
      const ns = Math.floor(r() * 1e6);
      const local = new Date(t + 5.5 * 3_600_000).toISOString().slice(11, 19); // UTC+05:30
      const iso = new Date(t).toISOString().slice(0, 19);
      lines.push({
        payload: Buffer.from(`<30>${iso}Z gw nat s=${Math.floor(t / 1000)} ms=${t} us=${t}${String(us).padStart(3, '0')} ns=${t}${String(ns).padStart(6, '0')} local ${local} 192.0.2.${i % 200}:${i + 1} udp`),
        device: '192.0.2.254',
        rec: { t, nat_ip: null, nat_port: null, port_end: null, src_ip: ipToDb(`192.0.2.${i % 200}`), src_port: i + 1, dst_ip: null, dst_port: null, code: 17 },
      });
    }
    const day = encode(lines);
    expectExact(day, lines);
    expect(day.writer.stats.wholeMismatch + day.writer.stats.wholeNoShape).toBe(0);
    // Every field a slot: the residue is the µs and ns digits and little else.
    expect(bytesOf(day) / lines.length).toBeLessThan(6);
  });

  it('keeps shapes per device and per day under their caps, and stores the rest whole', () => {
    const rec: LineRecord = { t: 0, nat_ip: 1, nat_port: 2, port_end: null, src_ip: 3, src_port: 4, dst_ip: null, dst_port: null, code: 6 };
    const lines: Line[] = [];
    // 70 devices × 64 + 2 line shapes each (the punctuation differs: a new shape each).
    for (let d = 0; d < 70; d++) for (let k = 0; k < MAX_DEVICE_SHAPES + 2; k++) lines.push({ payload: Buffer.from(`${'.'.repeat(k + 1)} 0.0.0.3:4 -> 0.0.0.1:2`), device: `10.9.${d}.1`, rec });
    const day = encode(lines, { cutBurst: lines.length });
    expectExact(day, lines);
    expect(day.writer.shapeCount).toBe(MAX_SHAPES);
    expect(day.shapes.length).toBe(MAX_SHAPES);
    expect(day.writer.stats.wholeNoShape).toBe(lines.length - MAX_SHAPES);
  });

  it('cuts only so many lines afresh a block: lines crafted to miss every shape are stored whole', () => {
    // Every line with one punctuation byte changed at random: nearly each one a new shape.
    const base = corpusLines('mikrotik', 4 * BLOCK);
    const r = rng(13);
    const lines = base.map((l) => {
      const p = Buffer.from(l.payload);
      const at = 5 + Math.floor(r() * (p.length - 5));
      if (p[at] === 0x20 || p[at] === 0x2c) p[at] = 0x3b;
      return { ...l, payload: p };
    });
    const day = encode(lines, { cutBurst: 100, cutsPerBlock: 10 });
    expectExact(day, lines);
    const s = day.writer.stats;
    expect(s.wholeCutBudget).toBeGreaterThan(0);
    expect(s.lines - s.fast - s.wholeNoRecord - s.wholeCutBudget).toBeLessThanOrEqual(100 + 4 * 10);
  });

  it('keeps keyed words under their cap', () => {
    const lines = corpusLines('mikrotik', 4 * BLOCK);
    const day = encode(lines, { maxKeyedWords: 100 });
    expectExact(day, lines);
    expect(day.writer.keyedCount).toBe(100);
  });

  it('starts each segment from the templates: line i needs only its segment', () => {
    const lines = corpusLines('juniper-srx', BLOCK);
    const day = encode(lines);
    const reader = new LineReader({ shapes: day.shapes, words: day.words });
    // Line RESTART (first of segment 1) reads alone, and the plain form reads the same.
    const plain = toPlainBlock(day.blocks[0]!);
    for (const i of [0, RESTART - 1, RESTART, BLOCK - 1]) {
      const l = lines[i]!;
      expect(reader.lineAt(day.blocks[0]!, i, l.rec, l.device).equals(l.payload)).toBe(true);
      expect(reader.lineAt(plain, i, l.rec, l.device).equals(l.payload)).toBe(true);
    }
  });

  it('reads a block deflated elsewhere (finishPlain, packBlock, packBlockAsync) as the writer would have', async () => {
    for (const name of ['mikrotik', 'fortinet'] as const) {
      // fortinet: lines stored whole, residues past SEGMENTED_BYTES: one deflate stream per segment.
      const lines = corpusLines(name, BLOCK + 300);
      const w = new LineWriter();
      const plain: Buffer[] = [];
      for (let b = 0; b < lines.length; b += BLOCK) {
        for (const l of lines.slice(b, b + BLOCK)) w.add(l.payload, l.device, l.rec);
        plain.push(w.finishPlain());
      }
      const fresh = w.takeNew();
      const shapes = fresh.shapes;
      const words = fresh.words.length ? [packWords(fresh.words)] : [];
      const rows = fresh.words;
      const pooled = await Promise.all(plain.map((p) => new Promise<Buffer>((ok, ko) => packBlockAsync(p, 6, (err, b) => (err ? ko(err) : ok(b!))))));
      for (const blocks of [plain, plain.map((p) => packBlock(p)), pooled]) expectExact({ blocks, shapes, words, rows, writer: w }, lines, 50);
      expect(pooled[0]![0]).toBe(name === 'fortinet' ? 2 : 1);
      expect(pooled[0]!.length).toBeLessThan(plain[0]!.length / 2);
    }
  });

  it('refuses a damaged block, a missing record or the wrong device with a coded error', () => {
    const lines = corpusLines('cisco-asa', 300);
    const day = encode(lines);
    const reader = new LineReader({ shapes: day.shapes, words: day.words });
    const l = lines[5]!;
    expect(() => reader.lineAt(day.blocks[0]!, 5, null, l.device)).toThrow(LineCodecError);
    expect(() => reader.lineAt(day.blocks[0]!, 5, l.rec, '192.0.2.99')).toThrow(LineCodecError);
    expect(() => reader.lineAt(Buffer.from([9, 1, 2]), 0, l.rec, l.device)).toThrow(LineCodecError);
    expect(() => reader.lineAt(toPlainBlock(day.blocks[0]!).subarray(0, 40), 5, l.rec, l.device)).toThrow(LineCodecError);
    expect(() => reader.lineAt(day.blocks[0]!, 300, l.rec, l.device)).toThrow(RangeError);
    expect(() => new LineReader({ shapes: [Buffer.from([1, 200])], words: [] })).toThrow(LineCodecError);
  });
});
