// The line codec's reader: a line of a stored block from its record, its device and the day's tables.
import { rdEnd, readVarint } from './bytes.js';
import { unpack } from './block.js';
import { DayTables } from './tables.js';
import { RESTART, corrupt, type LineCodecOptions, type LineCodecState, type LineRecord } from './types.js';

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
