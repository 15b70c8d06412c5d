// Spool reader: the committer's side. Reads records from a position up to the writer's published end,
// skipping (and counting) corrupt bytes, and deletes segments once the commits covering them are durable.
import { closeSync, openSync, readSync, unlinkSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { HEADER_BYTES, decodeAt, segmentName, type SpoolRecord } from './format.js';
import { listSegments } from './writer.js';

export interface ReadBatch {
  records: SpoolRecord[];
  /** Position after the last byte consumed (records and skipped corrupt bytes). */
  next: number;
  corruptBytes: number;
  /** Corrupt regions met (each counts once, however many bytes). */
  corruptRegions: number;
}

/** Most bytes read from a segment at once (more when one record alone is longer). */
const READ_BYTES = 4 << 20;
/** Bytes read per record wanted (a typical line is ~250 B), so that a small batch holds a small buffer. */
const READ_BYTES_PER_RECORD = 512;

export class SpoolReader {
  constructor(private readonly dir: string) {}

  /**
   * Read whole records starting at `from` (a record boundary or a segment start), never past `limit`
   * (the writer's flushed end), at most `maxRecords`. Payloads are views of a buffer that this reader
   * never reuses: safe to keep, and no copy per record (it was a tenth of the committer's time).
   */
  read(from: number, limit: number, maxRecords: number): ReadBatch {
    const out: ReadBatch = { records: [], next: from, corruptBytes: 0, corruptRegions: 0 };
    let pos = from;
    let inCorrupt = false;
    let need = 0; // length of a record that did not fit in the last read, found at its start
    while (pos < limit && out.records.length < maxRecords) {
      const seg = this.segmentFor(pos);
      if (!seg) break;
      if (pos < seg.start) pos = seg.start; // older segments were committed and deleted
      const fd = openSync(join(this.dir, seg.name), 'r');
      try {
        const segEnd = Math.min(seg.start + fstatSync(fd).size, limit);
        if (pos >= segEnd) {
          // End of this segment: jump to the next one, if any.
          const nxt = listSegments(this.dir).find((s) => s.start > seg.start);
          if (!nxt || nxt.start > limit) break;
          if (pos < nxt.start) {
            out.corruptBytes += nxt.start - pos;
            if (!inCorrupt) out.corruptRegions++;
          }
          pos = nxt.start;
          continue;
        }
        const want = Math.min(segEnd - pos, Math.max(need, 64 * 1024, Math.min(READ_BYTES, (maxRecords - out.records.length) * READ_BYTES_PER_RECORD)));
        need = 0;
        const buf = Buffer.allocUnsafe(want);
        const have = readSync(fd, buf, 0, want, pos - seg.start);
        let at = 0;
        while (at < have && out.records.length < maxRecords) {
          const step = decodeAt(buf, at, have);
          if (step.kind === 'record') {
            inCorrupt = false;
            at = step.next;
            const r = step.record;
            out.records.push({ end: pos + at, recvMs: r.recvMs, transport: r.transport, origin: r.origin, payload: r.payload });
          } else if (step.kind === 'corrupt' || pos + have >= segEnd) {
            // Corrupt here, or "incomplete" at the segment's end (which only damage can cause,
            // since we read only flushed bytes): skip a byte and resynchronise.
            if (!inCorrupt) out.corruptRegions++;
            inCorrupt = true;
            out.corruptBytes++;
            at++;
          } else {
            // The record continues past this read: read again from its start, whole.
            if (at === 0) need = HEADER_BYTES + buf.readUInt32LE(0);
            break;
          }
        }
        if (at === 0 && have > 0 && !need) break; // cannot make progress (should not happen)
        pos += at;
      } finally {
        closeSync(fd);
      }
      out.next = pos;
    }
    out.next = pos;
    return out;
  }

  /** Delete segments that end at or before `durablePos`, keeping the one the writer appends to. */
  deleteUpTo(durablePos: number): number {
    const segs = listSegments(this.dir);
    let n = 0;
    for (let i = 0; i + 1 < segs.length; i++) {
      if (segs[i + 1]!.start <= durablePos) {
        try {
          unlinkSync(join(this.dir, segmentName(segs[i]!.start)));
          n++;
        } catch {
          /* already gone */
        }
      }
    }
    return n;
  }

  /** Bytes in segments from `pos` on (the backlog), given the writer's end. */
  static backlog(pos: number, end: number): number {
    return Math.max(0, end - pos);
  }

  private segmentFor(pos: number): { start: number; name: string } | null {
    const segs = listSegments(this.dir);
    let hit: { start: number; name: string } | null = null;
    for (const s of segs) if (s.start <= pos) hit = s;
    if (!hit && segs.length) {
      // Position before the first segment (deleted ones): start at the first we have.
      return segs[0]!;
    }
    return hit;
  }
}
