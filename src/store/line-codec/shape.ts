// Shapes of the line codec: a line's punctuation, word positions and slots, with its first words (the
// template); built from a line's parts (the writer) or from a persisted shape row (both).
import { Bytes, rdEnd, readVarint, unzigzag, zigzag } from './bytes.js';
import { LAST_FIELD, extraWidth } from './slots.js';
import { MAX_EXTRAS, MAX_LINE_BYTES, MAX_SHAPES, MAX_SHAPE_WORDS, corrupt } from './types.js';

export const OP_PUNCT = 0;
export const OP_WORD = 1;
export const OP_SLOT = 2;

export interface Shape {
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

export interface ShapeParts {
  device: string;
  ops: ({ k: typeof OP_PUNCT; s: Buffer } | { k: typeof OP_WORD } | { k: typeof OP_SLOT; f: number; off: number })[];
  words: Buffer[];
}

export function buildShape(id: number, p: ShapeParts): Shape {
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

export function parseShape(row: Buffer): Shape {
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
