// Line codec bench (src/store/line-codec.ts): bytes per line and one core's encode / decode rates on
// the evidence corpora (evidence-corpus.ts). Bounded (about a minute), one thread; CPU time, so a busy
// machine changes the figures less.
//
//   npx tsc -p tsconfig.json && node dist/test/bench/line-codec.js [--lines N] [--warm N] [--only a,b] [--level 0-9] [--reps N] [--first]
//
// encode: LineWriter.add per line (match, residue, write-time check), then finishBlock (deflate) and
// takeNew (keyed words deflated); the least CPU of `reps` runs. decode: blockLines over every measured
// block (each line compared), the least of `reps`; random lineAt reads (wall µs, p50 and p99).
import { LineReader, LineWriter, packWords, type KeyedWord, type LineRecord } from '../../src/store/line-codec.js';
import { packBlock, rawDictionary } from './baseline-deflate.js';
import { CORPORA, lineRecord, makeCorpus, rng, type CorpusName } from './evidence-corpus.js';

const BLOCK = 1024;
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : dflt;
};
const lines = Number(opt('--lines', String(64 * BLOCK)));
const warm = Number(opt('--warm', String(64 * BLOCK)));
const level = Number(opt('--level', '6'));
const reps = Number(opt('--reps', '3'));
/** Lines with several records encoded against their first one (the codec's rule is one record). */
const first = args.includes('--first');
const only = opt('--only', CORPORA.filter((c) => c !== 'mikrotik-lcg').join(',')).split(',') as CorpusName[];

function cpuMs(from: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1000;
}

const n0 = (x: number) => Math.round(x).toLocaleString('en-US');
console.log('| corpus | text B/line | today: B/line, lines/s | B/line | stored whole | encode lines/s: add | + finishBlock | + takeNew | decode block lines/s | read 1 line µs p50 (p99) | reader open ms | with a lookup: open ms, read µs p50 (p99) | shapes | keyed words | tables KB |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const name of only) {
  const c = makeCorpus(name, warm, lines);
  const recs: (LineRecord | null)[] = c.lines.map((l) => lineRecord(first && l.records.length > 1 ? { ...l, records: l.records.slice(0, 1) } : l));
  const devs = c.lines.map((l) => l.device);
  // The day encoded `reps` times by fresh writers: the least CPU of each part counts (a shared machine
  // only ever slows a run down).
  let addMs = Infinity;
  let finMs = Infinity;
  let takeMs = Infinity;
  let run!: { w: LineWriter; base: LineWriter['stats']; shapes: Buffer[]; words: Buffer[]; rows: KeyedWord[]; blocks: Buffer[] };
  for (let rep = 0; rep < reps; rep++) {
    const w = new LineWriter(null, { level });
    const r = { w, base: { ...w.stats }, shapes: [] as Buffer[], words: [] as Buffer[], rows: [] as KeyedWord[], blocks: [] as Buffer[] };
    let add = 0;
    let fin = 0;
    let take = 0;
    for (let b = 0; b < c.lines.length; b += BLOCK) {
      if (b === c.warm) r.base = { ...w.stats };
      const t0 = process.cpuUsage();
      for (let i = b; i < Math.min(c.lines.length, b + BLOCK); i++) w.add(c.lines[i]!.payload, devs[i]!, recs[i]!);
      const t1 = process.cpuUsage();
      const blk = w.finishBlock();
      const t2 = process.cpuUsage();
      const fresh = w.takeNew();
      const packed = fresh.words.length ? packWords(fresh.words) : null;
      const t3 = process.cpuUsage();
      r.shapes.push(...fresh.shapes);
      r.rows.push(...fresh.words);
      if (packed) r.words.push(packed);
      if (b >= c.warm) {
        r.blocks.push(blk);
        add += (t1.user + t1.system - t0.user - t0.system) / 1000;
        fin += (t2.user + t2.system - t1.user - t1.system) / 1000;
        take += (t3.user + t3.system - t2.user - t2.system) / 1000;
      }
    }
    addMs = Math.min(addMs, add);
    finMs = Math.min(finMs, fin);
    takeMs = Math.min(takeMs, take);
    run = r;
  }
  const { w, base, shapes, words, rows, blocks } = run;
  // Baseline in the same run: today's raw blocks (dayfile.ts packBlock, 256-line chunks, day dictionary).
  const dict = rawDictionary(c.lines.slice(0, c.warm));
  let todayMs = Infinity;
  let todayBytes = 0;
  for (let rep = 0; rep < reps; rep++) {
    todayBytes = 0;
    const t = process.cpuUsage();
    for (let b = c.warm; b < c.lines.length; b += BLOCK) todayBytes += packBlock(c.lines.slice(b, b + BLOCK), dict).length;
    todayMs = Math.min(todayMs, cpuMs(t));
  }
  const n = c.lines.length - c.warm;
  let bytes = 0;
  for (const b of blocks) bytes += b.length;
  const tOpen = process.cpuUsage();
  const reader = new LineReader({ shapes, words });
  reader.lineAt(blocks[0]!, 0, recs[c.warm]!, devs[c.warm]!);
  (reader as unknown as { words(): unknown }).words(); // the keyed words, loaded on first need
  const openMs = cpuMs(tOpen);
  let decMs = Infinity;
  let wrong = 0;
  for (let rep = 0; rep < reps; rep++) {
    const t3 = process.cpuUsage();
    blocks.forEach((blk, k) => {
      const from = c.warm + k * BLOCK;
      const got = reader.blockLines(blk, recs.slice(from, from + BLOCK), devs.slice(from, from + BLOCK));
      got.forEach((g, i) => (wrong += g.equals(c.lines[from + i]!.payload) ? 0 : 1));
    });
    decMs = Math.min(decMs, cpuMs(t3));
  }
  if (wrong) throw new Error(`${name}: ${wrong} lines wrong`);
  const rnd = rng(9);
  const us: number[] = [];
  for (let k = -50; k < 2000; k++) {
    const b = Math.floor(rnd() * blocks.length);
    const i = Math.floor(rnd() * BLOCK);
    const at = c.warm + b * BLOCK + i;
    const tR = process.hrtime.bigint();
    const got = reader.lineAt(blocks[b]!, i, recs[at]!, devs[at]!);
    const dt = Number(process.hrtime.bigint() - tR) / 1000;
    if (!got.equals(c.lines[at]!.payload)) throw new Error(`${name}: line ${at} wrong`);
    if (k >= 0) us.push(dt);
  }
  us.sort((a, b) => a - b);
  // Reads by a reader that looks keyed words up one by one (a table of the store; here a Map).
  const table = new Map<string, Buffer>();
  for (const k of rows) table.set(`${typeof k.src === 'number' ? k.src : k.src.toString('hex')}|${k.shape}|${k.index}`, k.word);
  const tOpen2 = process.cpuUsage();
  const looked = new LineReader({ shapes, words: (src, shape, index) => table.get(`${typeof src === 'number' ? src : Buffer.from(src).toString('hex')}|${shape}|${index}`) });
  const open2Ms = cpuMs(tOpen2);
  const us2: number[] = [];
  for (let k = -50; k < 2000; k++) {
    const b = Math.floor(rnd() * blocks.length);
    const i = Math.floor(rnd() * BLOCK);
    const at = c.warm + b * BLOCK + i;
    const tR = process.hrtime.bigint();
    const got = looked.lineAt(blocks[b]!, i, recs[at]!, devs[at]!);
    const dt = Number(process.hrtime.bigint() - tR) / 1000;
    if (!got.equals(c.lines[at]!.payload)) throw new Error(`${name}: line ${at} wrong (lookup)`);
    if (k >= 0) us2.push(dt);
  }
  us2.sort((a, b) => a - b);
  let text = 0;
  for (let i = c.warm; i < c.lines.length; i++) text += c.lines[i]!.payload.length;
  const s = w.stats;
  const d = (k: keyof typeof s) => s[k] - base[k];
  const tables = [...shapes, ...words].reduce((a, b) => a + b.length, 0) / 1024;
  console.log(`| ${name}${first ? ' (first record)' : ''} | ${(text / n).toFixed(1)} | ${(todayBytes / n).toFixed(2)}, ${n0((n * 1000) / todayMs)} | ${(bytes / n).toFixed(2)} | ${d('wholeNoRecord')} no record, ${d('wholeNoShape') + d('wholeCutBudget')} no shape, ${d('wholeMismatch')} mismatch | ${n0((n * 1000) / addMs)} | ${n0((n * 1000) / (addMs + finMs))} | ${n0((n * 1000) / (addMs + finMs + takeMs))} | ${n0((n * 1000) / decMs)} | ${us[1000]!.toFixed(0)} (${us[1980]!.toFixed(0)}) | ${openMs.toFixed(1)} | ${open2Ms.toFixed(1)}, ${us2[1000]!.toFixed(0)} (${us2[1980]!.toFixed(0)}) | ${w.shapeCount} | ${n0(w.keyedCount)} | ${tables.toFixed(1)} |`);
}
