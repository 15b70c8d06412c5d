// Evidence bench (issue #14): bytes per line of the original syslog lines, kept byte for byte as court
// evidence, under today's raw blocks and the alternatives the storage redesign could use, with the CPU
// each costs to write and to read one line back. A design input, not part of `npm run bench`.
//
//   npx tsc -p tsconfig.json && node dist/test/bench/evidence.js [--lines N] [--warm N] [--q9-blocks N]
//       [--q11-blocks N] [--samples N] [--only a,b] [--lcg] [--md FILE | --no-md]
//
// Corpora (evidence-corpus.ts): MikroTik (gen.ts's line, as is and with uplinks and lengths varied),
// Juniper SRX, Cisco ASA and FortiGate lines made from the fixtures, parsed by the parser chain. Each
// has `warm` lines first (the day so far: they train the dictionary, shapes and subscriber table, and
// are not measured), then `lines` measured lines, in blocks of 1,024 as the committer cuts them.
//
// Schemes:
//   (a) today: deflate level RAW_DEFLATE_LEVEL of packed lines (dayfile.ts packBlock): whole 1,024-line
//       blocks (a file before its dictionary), and 256-line chunks with the day dictionary (32 KB of the
//       day's first lines, rawDictionary). Reading one line: read.ts's way (a chunk, or a prefix of a
//       whole block, inflated).
//   (b) brotli at quality 5 / 9 / 11 on the same packed blocks and chunks (Node 20's brotli takes no
//       custom dictionary; zstd is not in Node 20). Quality 9 and 11 compress at ~2 and ~0.5 MB/s: they
//       are measured on the first `q9-blocks` / `q11-blocks` measured blocks only (same kind of lines).
//   (c) template + diff (src/store/line-codec.ts, the store's codec): residues against per-shape
//       templates, checked at write time, in blocks of 1,024 lines (restart points every 128),
//       deflated at the codec's level; lines with no record or several are stored whole; "keyed" adds
//       the subscriber table; the keyed residues also with brotli-11 (a recompression at seal, on the
//       codec's plain block). Every measured line is read back from the packed blocks by a reader made
//       from the persisted tables and compared. Reading one line inflates the block's residues (one
//       segment of a segmented block), walks to the line and renders it with its record (taken as
//       given: a search has it already).
// Bytes counted: the blobs (chunk offset tables and segment tables included); the day's tables
// (dictionary, shapes, subscriber words) are listed apart, and amortised over a day of DAY_LINES lines
// in the totals. SQLite page slack is not counted (the same few blobs per 1,024 lines in every scheme).
// Index: the record columns (evidence-index.ts), so that a total per NAT record can be stated.
// CPU: process CPU time (the machine may be shared), one thread; encode lines/s over all measured
// blocks, reads as p50 / p99 of single random reads.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { brotliCompressSync, brotliDecompressSync, constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { parseMessage } from '../../src/parse/chain.js';
import { RAW_CHUNK, RAW_DEFLATE_LEVEL, chunkOf, frameChunks, isChunked, lineAt, packBlock, packLines, rawDictionary } from './baseline-deflate.js';
import type { DayLine } from '../../src/store/sqlite/dayfile.js';
import { RAW_BLOCK } from '../../src/store/sqlite/schema.js';
import { DEFLATE_LEVEL, LineReader, LineWriter, packWords, toPlainBlock, type LineRecord } from '../../src/store/line-codec.js';
import { CORPORA, T0, lineRecord, makeCorpus, rng, type Corpus, type CorpusName } from './evidence-corpus.js';
import { COLUMNS, indexCost, indexRows, type IndexCost } from './evidence-index.js';

/** A day's lines, to amortise the per-day tables (the storage bench's day: 50 M records). */
const DAY_LINES = 50_000_000;
const MARK_BEGIN = '<!-- evidence.ts results: begin -->';
const MARK_END = '<!-- evidence.ts results: end -->';

interface Options {
  lines: number;
  warm: number;
  q9Blocks: number;
  q11Blocks: number;
  samples: number;
  corpora: CorpusName[];
  md: string | null;
}

function options(argv: string[]): Options {
  const o: Options = { lines: 64 * RAW_BLOCK, warm: 128 * RAW_BLOCK, q9Blocks: 8, q11Blocks: 4, samples: 1000, corpora: CORPORA.filter((c) => c !== 'mikrotik-lcg'), md: 'test/bench/EVIDENCE.md' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`evidence: ${a} needs a value`);
      return v;
    };
    if (a === '--lines') o.lines = Math.ceil(Number(val()) / RAW_BLOCK) * RAW_BLOCK;
    else if (a === '--warm') o.warm = Math.ceil(Number(val()) / RAW_BLOCK) * RAW_BLOCK;
    else if (a === '--q9-blocks') o.q9Blocks = Number(val());
    else if (a === '--q11-blocks') o.q11Blocks = Number(val());
    else if (a === '--samples') o.samples = Number(val());
    else if (a === '--only') o.corpora = val().split(',') as CorpusName[];
    else if (a === '--lcg') o.corpora.push('mikrotik-lcg');
    else if (a === '--md') o.md = val();
    else if (a === '--no-md') o.md = null;
    else throw new Error(`evidence: unknown option ${a}`);
  }
  for (const c of o.corpora) if (!CORPORA.includes(c)) throw new Error(`evidence: unknown corpus ${c} (${CORPORA.join(', ')})`);
  return o;
}

/** One measured scheme on one corpus. */
interface Row {
  corpus: string;
  scheme: string;
  /** Bytes of evidence per line (blobs only). */
  perLine: number;
  /** Per NAT record (lines with several records share their line). */
  perRecord: number;
  encodeLinesPerSec: number;
  /** CPU µs to read one line back (random access, nothing cached). */
  decodeP50Us: number;
  decodeP99Us: number;
  /** Lines measured (quality 11: fewer). */
  lines: number;
  note: string;
}


function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function blocksOf(lines: DayLine[]): DayLine[][] {
  const out: DayLine[][] = [];
  for (let i = 0; i < lines.length; i += RAW_BLOCK) out.push(lines.slice(i, i + RAW_BLOCK));
  return out;
}


/** Line `index` of a deflated block or chunk as read.ts reads it: a prefix inflated, the whole when short. */
function inflateLine(data: Buffer, index: number, n: number, dict: Buffer | null): Buffer | null {
  const opts = dict ? { dictionary: dict } : {};
  const cut = Math.ceil((data.length * (index + 1)) / n) + (data.length >> 3) + 1024;
  const chunkSize = Math.max(16 * 1024, Math.min(cut, data.length) * 10);
  let line: Buffer | null = null;
  if (cut < data.length) line = lineAt(inflateRawSync(data.subarray(0, cut), { ...opts, finishFlush: constants.Z_SYNC_FLUSH, chunkSize }), index);
  return line ?? lineAt(inflateRawSync(data, { ...opts, chunkSize: Math.max(16 * 1024, data.length * 10) }), index);
}

/** A scheme that compresses each block on its own. */
interface BlockScheme {
  name: string;
  note: string;
  /** Blocks measured (all when undefined). */
  limit?: number;
  encode(block: DayLine[]): Buffer;
  decode(data: Buffer, index: number, n: number): Buffer | null;
}

function brotli(q: number): (b: Buffer) => Buffer {
  return (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: q, [constants.BROTLI_PARAM_SIZE_HINT]: b.length } });
}

function blockSchemes(dict: Buffer, o: Options): BlockScheme[] {
  const out: BlockScheme[] = [
    {
      name: `(a) deflate-${RAW_DEFLATE_LEVEL}, 1,024-line blocks`,
      note: 'today, before the file has its dictionary',
      encode: (b) => packBlock(b, null),
      decode: (d, i, n) => inflateLine(d, i, n, null),
    },
    {
      name: `(a) deflate-${RAW_DEFLATE_LEVEL}, 256-line chunks + day dictionary`,
      note: 'today (schema 2 files)',
      encode: (b) => packBlock(b, dict),
      decode: (d, i, n) => {
        if (!isChunked(d)) throw new Error('evidence: block not chunked');
        return inflateLine(chunkOf(d, Math.floor(i / RAW_CHUNK))!, i % RAW_CHUNK, Math.min(RAW_CHUNK, n - i + (i % RAW_CHUNK)), dict);
      },
    },
  ];
  for (const q of [5, 9, 11]) {
    const c = brotli(q);
    const limit = q === 11 ? o.q11Blocks : q === 9 ? o.q9Blocks : undefined;
    out.push(
      {
        name: `(b) brotli-${q}, 1,024-line blocks`,
        note: '',
        limit,
        encode: (b) => c(packLines(b)),
        decode: (d, i) => lineAt(brotliDecompressSync(d), i),
      },
      {
        name: `(b) brotli-${q}, 256-line chunks`,
        note: 'no dictionary (Node 20 has none for brotli)',
        limit,
        encode: (b) => {
          const parts: Buffer[] = [];
          for (let k = 0; k < b.length; k += RAW_CHUNK) parts.push(c(packLines(b.slice(k, k + RAW_CHUNK))));
          return frameChunks(parts);
        },
        decode: (d, i) => lineAt(brotliDecompressSync(chunkOf(d, Math.floor(i / RAW_CHUNK))!), i % RAW_CHUNK),
      },
    );
  }
  return out;
}

function recordsOf(lines: DayLine[]): number {
  let n = 0;
  for (const l of lines) n += l.records.length;
  return n;
}

/** CPU time (user + system) since `from`, ms: other processes on the machine do not count. */
function cpuMs(from: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1000;
}

/**
 * Random reads of one line each (block and line drawn at random, a fresh decode every time: no cache):
 * p50 and p99 of the CPU µs a read takes; throws on a line that does not come back byte for byte.
 */
function timeReads(n: number, blocks: number, samples: number, read: (b: number, i: number) => Buffer | null, want: (b: number, i: number) => Buffer): { p50: number; p99: number } {
  const r = rng(7);
  const us: number[] = [];
  for (let k = -20; k < samples; k++) {
    const b = Math.floor(r() * blocks);
    const i = Math.floor(r() * Math.min(RAW_BLOCK, n - b * RAW_BLOCK));
    const t0 = process.cpuUsage();
    const got = read(b, i);
    const ms = cpuMs(t0);
    if (k >= 0) us.push(ms * 1000); // the first 20: warm-up (JIT)
    if (!got || !got.equals(want(b, i))) throw new Error(`evidence: line ${i} of block ${b} read back wrong`);
  }
  return { p50: pct(us, 50), p99: pct(us, 99) };
}

function runBlockScheme(corpus: string, s: BlockScheme, blocks: DayLine[][], samples: number): Row {
  const use = blocks.slice(0, s.limit ?? blocks.length);
  const t0 = process.cpuUsage();
  const data = use.map((b) => s.encode(b));
  const ms = cpuMs(t0);
  const lines = use.reduce((a, b) => a + b.length, 0);
  const bytes = data.reduce((a, d) => a + d.length, 0);
  const reads = timeReads(lines, use.length, samples, (b, i) => s.decode(data[b]!, i, use[b]!.length), (b, i) => use[b]![i]!.payload);
  return {
    corpus, scheme: s.name, perLine: bytes / lines, perRecord: bytes / recordsOf(use.flat()),
    encodeLinesPerSec: (lines * 1000) / ms, decodeP50Us: reads.p50, decodeP99Us: reads.p99, lines, note: s.note,
  };
}

interface TemplateResult {
  rows: Row[];
  shapeBytes: number;
  subscriberBytes: number;
}

/** How the codec's blocks are stored: as written (deflate), or recompressed from their plain form. */
interface Packer {
  name: string;
  /** null: as the codec wrote it. */
  pack: ((plainBlock: Buffer) => Buffer) | null;
  unpack: (b: Buffer) => Buffer;
}

const DEFLATE: Packer = { name: `deflate-${DEFLATE_LEVEL}`, pack: null, unpack: (b) => b };
const BROTLI_11: Packer = { name: 'brotli-11', pack: brotli(11), unpack: (b) => brotliDecompressSync(b) };

/**
 * (c): the day's warm-up lines through the codec (tables learned, not counted), then the measured
 * blocks, stored by each packer (encode cost: the codec's CPU, deflate included, plus the packer's).
 */
function runTemplate(c: Corpus, keyed: boolean, packers: Packer[], samples: number): TemplateResult {
  const codec = new LineWriter(null, { keyed });
  const shapes: Buffer[] = [];
  const words: Buffer[] = [];
  const recsOf = (b: DayLine[]) => b.map((l) => lineRecord(l));
  const encode = (b: DayLine[], recs: (LineRecord | null)[]) => {
    b.forEach((l, i) => codec.add(l.payload, l.device, recs[i]!));
    const out = codec.finishBlock();
    const fresh = codec.takeNew();
    shapes.push(...fresh.shapes);
    if (fresh.words.length) words.push(packWords(fresh.words));
    return out;
  };
  const all = blocksOf(c.lines);
  const warmBlocks = c.warm / RAW_BLOCK;
  for (const b of all.slice(0, warmBlocks)) encode(b, recsOf(b));
  const base = { ...codec.stats };
  const blocks = all.slice(warmBlocks);
  // Records as the store gives them back, made before the CPU is counted (the committer has them).
  const recs = blocks.map(recsOf);
  const t0 = process.cpuUsage();
  const stored = blocks.map((b, k) => encode(b, recs[k]!));
  const codecMs = cpuMs(t0);
  const s = codec.stats;
  const d = (k: keyof typeof s) => s[k] - base[k];
  const lines = d('lines');
  const changed = d('changedWords');
  const shapeBytes = deflateRawSync(Buffer.concat(shapes), { level: 9 }).length;
  const subscriberBytes = words.reduce((a, w) => a + w.length, 0);
  const whole = d('wholeNoRecord') + d('wholeTooLong') + d('wholeNoShape') + d('wholeCutBudget') + d('wholeMismatch');
  const notes = [
    `${whole} of ${n0(lines)} lines stored whole (${d('wholeNoRecord')} without a single record, ${d('wholeMismatch')} not reproduced, ${d('wholeNoShape') + d('wholeCutBudget')} past the shape caps or the slow-path budget)`,
    `${(changed / Math.max(1, lines - whole)).toFixed(2)} changed words a coded line${keyed ? `, ${((100 * d('keyedWords')) / Math.max(1, changed)).toFixed(0)} % of them the subscriber's` : ''}`,
    `${codec.shapeCount} shapes, ${((100 * d('fast')) / lines).toFixed(1)} % of lines read against a recent one`,
  ];
  if (keyed) notes.push(`subscriber table ${n0(codec.keyedCount)} entries`);
  const reader = new LineReader({ shapes, words });
  const rows = packers.map((p): Row => {
    const t1 = process.cpuUsage();
    const data = p.pack ? stored.map((b) => p.pack!(toPlainBlock(b))) : stored;
    const ms = codecMs + cpuMs(t1);
    // Every line read back from what is stored, in block order (the random reads below check a sample).
    const t2 = process.cpuUsage();
    let wrong = 0;
    data.forEach((x, b) => reader.blockLines(p.unpack(x), recs[b]!, blocks[b]!.map((l) => l.device)).forEach((line, i) => (wrong += line.equals(blocks[b]![i]!.payload) ? 0 : 1)));
    const wholeRate = (lines * 1000) / cpuMs(t2);
    if (wrong) throw new Error(`evidence: ${c.name}: ${wrong} lines not read back byte for byte from the ${p.name} blocks`);
    const reads = timeReads(lines, blocks.length, samples, (b, i) => reader.lineAt(p.unpack(data[b]!), i, recs[b]![i]!, blocks[b]![i]!.device), (b, i) => blocks[b]![i]!.payload);
    const bytes = data.reduce((a, x) => a + x.length, 0);
    return {
      corpus: c.name,
      scheme: `(c) template + diff${keyed ? ', keyed' : ''}, ${p.name}`,
      perLine: bytes / lines, perRecord: bytes / recordsOf(blocks.flat()),
      encodeLinesPerSec: (lines * 1000) / ms, decodeP50Us: reads.p50, decodeP99Us: reads.p99, lines,
      note: [`every line read back exact; whole blocks decode at ${n0(wholeRate)} lines/s`, ...(p === packers[0] ? notes : [])].join('; '),
    };
  });
  return { rows, shapeBytes, subscriberBytes };
}

/** Parser chain lines/s on the measured lines (the parse is paid anyway: the index needs the records). */
function parseRate(lines: DayLine[]): number {
  const texts = lines.map((l) => l.payload.toString('latin1'));
  const t0 = process.cpuUsage();
  for (const t of texts) parseMessage(t, { receivedAt: T0, peer: null, device: null, timezone: 'UTC' });
  return (texts.length * 1000) / cpuMs(t0);
}

interface CorpusResult {
  name: string;
  lines: number;
  records: number;
  textPerLine: number;
  parseLinesPerSec: number;
  rows: Row[];
  dictBytes: number;
  shapeBytes: number;
  subscriberBytes: number;
  index: IndexCost[];
}

function info(msg: string): void {
  process.stderr.write(`evidence: ${msg}\n`);
}

function runCorpus(name: CorpusName, o: Options): CorpusResult {
  const t0 = performance.now();
  const c = makeCorpus(name, o.warm, o.lines);
  const measured = c.lines.slice(c.warm);
  info(`${name}: ${c.lines.length} lines made and parsed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // The day dictionary, as the first commit of the day makes it (its first 256 lines, up to 32 KB).
  const dict = rawDictionary(c.lines.slice(0, 100_000))!;
  const blocks = blocksOf(measured);
  const rows: Row[] = [];
  for (const s of blockSchemes(dict, o)) {
    const t = performance.now();
    rows.push(runBlockScheme(name, s, blocks, o.samples));
    info(`${name}: ${s.name} ${rows[rows.length - 1]!.perLine.toFixed(2)} B/line (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
  const plain = runTemplate(c, false, [DEFLATE], o.samples);
  const keyed = runTemplate(c, true, [DEFLATE, BROTLI_11], o.samples);
  rows.push(...plain.rows, ...keyed.rows);
  info(`${name}: template ${plain.rows[0]!.perLine.toFixed(2)} B/line, keyed ${keyed.rows.map((r) => r.perLine.toFixed(2)).join(' / ')} B/line`);
  const idx = indexRows(measured, c.warm, Date.parse(new Date(T0).toISOString().slice(0, 10)));
  const index = [indexCost(idx, 'sealed'), indexCost(idx, 'arrival')];
  let text = 0;
  for (const l of measured) text += l.payload.length;
  return {
    name, lines: measured.length, records: recordsOf(measured), textPerLine: text / measured.length, parseLinesPerSec: parseRate(measured),
    rows, dictBytes: dict.length, shapeBytes: keyed.shapeBytes, subscriberBytes: keyed.subscriberBytes, index,
  };
}

// ---------------------------------------------------------------------------------------------------
// Report

function n0(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

function f(x: number, d = 1): string {
  return x.toFixed(d);
}

function us(x: number): string {
  return x >= 100 ? n0(x) : x.toFixed(x >= 10 ? 0 : 1);
}

function schemeTable(r: CorpusResult): string[] {
  const out = [
    `| scheme | B/line | B/record | × smaller than text | encode lines/s | read 1 line µs, p50 (p99) | note |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | --- |`,
  ];
  for (const x of r.rows) {
    out.push(`| ${x.scheme} | ${f(x.perLine, 2)} | ${f(x.perRecord, 2)} | ${f(r.textPerLine / x.perLine)} | ${n0(x.encodeLinesPerSec)} | ${us(x.decodeP50Us)} (${us(x.decodeP99Us)}) | ${[x.lines !== r.lines ? `measured on the first ${n0(x.lines)} lines` : '', x.note].filter(Boolean).join('; ')} |`);
  }
  return out;
}

function indexTable(results: CorpusResult[]): string[] {
  const out = [
    `| corpus | layout | all columns B/record | issue's columns + key B/record | all columns as deltas B/record | by column (each deflated alone), B/record | encode records/s |`,
    `| --- | --- | ---: | ---: | ---: | --- | ---: |`,
  ];
  for (const r of results) {
    for (const x of r.index) {
      const by = COLUMNS.map((c) => `${c.name} ${f(x.byColumn[c.name]!, 2)}`).join(', ');
      out.push(`| ${r.name} | ${x.layout} | ${f(x.perRecord, 2)} | ${f(x.corePerRecord, 2)} | ${f(x.allDeltaPerRecord, 2)} | ${by} | ${n0(x.encodeRecordsPerSec)} |`);
    }
  }
  return out;
}

/** Evidence + index per NAT record: today's evidence and the alternatives, each with the sealed index. */
function totalTable(results: CorpusResult[]): string[] {
  const pick = (r: CorpusResult, name: string) => r.rows.find((x) => x.scheme === name)!;
  const schemes = [
    `(a) deflate-${RAW_DEFLATE_LEVEL}, 256-line chunks + day dictionary`,
    '(b) brotli-11, 1,024-line blocks',
    `(c) template + diff, deflate-${DEFLATE_LEVEL}`,
    `(c) template + diff, keyed, deflate-${DEFLATE_LEVEL}`,
    '(c) template + diff, keyed, brotli-11',
  ];
  const out = [`| corpus | index (sealed) | ${schemes.join(' | ')} |`, `| --- | ---: | ${schemes.map(() => '---:').join(' | ')} |`];
  for (const r of results) {
    const index = r.index[0]!.perRecord;
    const perDayRecord = DAY_LINES * (r.records / r.lines);
    const cells = schemes.map((name) => {
      const x = pick(r, name);
      // The day's own tables: the dictionary for (a), shapes and subscriber words for (c).
      const day = name.startsWith('(a)') ? r.dictBytes : name.startsWith('(c)') ? r.shapeBytes + (name.includes('keyed') ? r.subscriberBytes : 0) : 0;
      const total = x.perRecord + index + day / perDayRecord;
      return `${f(x.perRecord)} + ${f(index)} = ${total <= 50 ? `**${f(total)}**` : f(total)}`;
    });
    out.push(`| ${r.name} | ${f(index, 2)} | ${cells.join(' | ')} |`);
  }
  return out;
}

function machine(): string {
  return `${cpus().length} cores (${cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown'}), Node ${process.version}`;
}

function report(results: CorpusResult[], o: Options, seconds: number): string {
  const lines: string[] = [];
  lines.push(`Run ${new Date().toISOString().slice(0, 16)}Z on ${machine()}, ${Math.round(seconds)} s: \`node dist/test/bench/evidence.js${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}\`.`);
  lines.push(`Per corpus: ${n0(o.warm)} warm-up lines (the day so far: not measured), then ${n0(o.lines)} measured lines in blocks of ${n0(RAW_BLOCK)}; ${o.samples} random one-line reads per scheme, one core.`);
  lines.push('');
  lines.push('| corpus | text B/line | records/line | parse lines/s | day dictionary | shape table | subscriber table |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    lines.push(`| ${r.name} | ${f(r.textPerLine)} | ${f(r.records / r.lines, 2)} | ${n0(r.parseLinesPerSec)} | ${f(r.dictBytes / 1024)} KB | ${f(r.shapeBytes / 1024)} KB | ${f(r.subscriberBytes / 1024)} KB |`);
  }
  for (const r of results) {
    lines.push('', `### ${r.name}`, '', ...schemeTable(r));
  }
  lines.push('', '### Record columns (the index)', '', ...indexTable(results));
  lines.push('', `### Evidence + index, bytes per NAT record`, '');
  lines.push(`Evidence B/record + sealed index B/record = total (bold: ≤ 50); the day's tables (dictionary, shapes, subscriber words) amortised over a day of ${n0(DAY_LINES)} lines are in the total.`, '');
  lines.push(...totalTable(results));
  return lines.join('\n');
}

/** Put the generated results between the markers of the Markdown file (the prose around them is kept). */
function writeMarkdown(path: string, body: string): void {
  const block = `${MARK_BEGIN}\n${body}\n${MARK_END}`;
  let doc = existsSync(path) ? readFileSync(path, 'utf8') : `# Evidence storage: bytes per line and read cost\n\n${MARK_BEGIN}\n${MARK_END}\n`;
  const a = doc.indexOf(MARK_BEGIN);
  const b = doc.indexOf(MARK_END);
  doc = a >= 0 && b > a ? doc.slice(0, a) + block + doc.slice(b + MARK_END.length) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, doc);
}

function main(): void {
  const o = options(process.argv.slice(2));
  const t0 = performance.now();
  const results = o.corpora.map((c) => runCorpus(c, o));
  const body = report(results, o, (performance.now() - t0) / 1000);
  process.stdout.write(body + '\n');
  if (o.md) {
    writeMarkdown(o.md, body);
    info(`results written to ${o.md}`);
  }
}

main();
