// A court order's list answered line by line with the query engine, packed as it goes into what the
// console keeps (search-store.ts), within bounds whatever the day files hold:
//
//   per line     at most MAX_LINE_CANDIDATES candidates kept (the page shows 5, the exports the rest);
//   per answer   at most MAX_ROWS candidates, and MAX_RESULT_BYTES of packed lines and candidates
//                (BULK_CAPS);
//                room for the lines still to come is held back (LINE_RESERVE_BYTES each), so once
//                candidates fill the answer the remaining lines still get their verdict;
//   never        original lines: each candidate keeps its line's row id, read when shown or exported.
//
// A line the bytes cannot hold stops the answer there (`unanswered`); a candidate the caps cannot hold
// is counted (`found` > `kept`). Both show as a truncation message. Runs in the bulk worker thread
// (worker.ts); synchronous, it asks `cancelled()` before each line and reports each line done.
import { forensicLookup, parseAnalystTime, putRawKey, RAW_KEY_SIZE, ReaderPool, type Candidate, type QueryConfig } from '../../query/engine.js';
import type { BulkRequest } from '../routes/bulk-parse.js';
import { storeError } from '../routes/search-form.js';
import { byteSize, ChunkWriter } from '../routes/json-chunks.js';
import { LINES_PER_CHUNK, MAX_RESULT_BYTES, MAX_ROWS, ROWS_PER_CHUNK, type BulkFields, type BulkLine } from '../routes/search-store.js';

/** Candidates kept per bulk line. */
export const MAX_LINE_CANDIDATES = 100;
/** Bytes held back for each line still to answer (a kept line is ~300-700 bytes of JSON). */
export const LINE_RESERVE_BYTES = 512;

/** The bounds of a bulk answer (tests pass smaller ones). */
export interface BulkCaps {
  per_line: number;
  rows: number;
  bytes: number;
}
export const BULK_CAPS: Readonly<BulkCaps> = Object.freeze({ per_line: MAX_LINE_CANDIDATES, rows: MAX_ROWS, bytes: MAX_RESULT_BYTES });

export type BulkItem = BulkRequest | { line: number; input: string; error: { pt: string; en: string } };

export interface BulkRun {
  items: readonly BulkItem[];
  windowSec: number;
  proto: string | null;
}

/** A bulk answer as the worker hands it over: JSON chunks and the row ids of the unread original lines. */
export interface PackedBulk extends Omit<BulkFields, 'lines' | 'window_sec' | 'proto'> {
  lineChunks: string[];
  lineCount: number;
  rowChunks: string[];
  /** Per kept candidate, RAW_KEY_SIZE numbers: where its record is (rawKeyOf; NaN: no line to read). */
  rawKeys: Float64Array;
  truncated: boolean;
}

/** Answer `run` (null when cancelled before the end). */
export function answerBulk(run: BulkRun, cfg: QueryConfig, hooks: { cancelled(): boolean; progress(done: number): void }, caps: Readonly<BulkCaps> = BULK_CAPS): PackedBulk | null {
  const lines = new ChunkWriter(LINES_PER_CHUNK);
  const rows = new ChunkWriter(ROWS_PER_CHUNK);
  const rawKeys = new Float64Array(RAW_KEY_SIZE * caps.rows);
  const counts: Record<string, number> = { unique: 0, ambiguous: 0, no_match: 0, no_data: 0, error: 0 };
  const days = new Map<string, string>();
  let bytes = 0;
  let found = 0;
  let answered = 0;
  let unanswered = 0;
  const pool = new ReaderPool(cfg, cfg.readers);
  try {
    for (let i = 0; i < run.items.length; i++) {
      if (hooks.cancelled()) return null;
      const req = run.items[i]!;
      const reserve = (run.items.length - i - 1) * LINE_RESERVE_BYTES;
      const line: BulkLine = { line: req.line, input: req.input, error: null, answer: null, first: rows.count, kept: 0, found: 0 };
      if ('error' in req) line.error = req.error;
      else {
        try {
          const at = parseAnalystTime(req.time, cfg.timezone);
          const a = forensicLookup({ natIp: req.ip, natPort: req.port, at, windowSec: run.windowSec, proto: req.proto || run.proto, dstIp: req.dstIp || null, dstPort: req.dstPort || null, raw: false }, cfg, pool);
          line.answer = { query: a.query, verdict: a.verdict, ...(a.reason ? { reason: a.reason } : {}), owners: a.owners, narrowed: a.narrowed };
          line.found = a.candidates.length;
          for (const d of a.days_used) days.set(d.day, d.path);
          bytes += keep(a.candidates, line, bytes + reserve);
        } catch (e) {
          const fe = storeError(e, 'list');
          line.error = { pt: fe.pt, en: fe.en };
        }
        pool.refresh(); // one snapshot a line, not one for the whole list (see ReaderPool.refresh)
      }
      const json = JSON.stringify(line);
      const size = byteSize(json) + 1;
      if (bytes + size > caps.bytes) {
        unanswered = run.items.length - i;
        break;
      }
      bytes += size;
      lines.push(json);
      found += line.found;
      counts[line.answer?.verdict ?? 'error']!++;
      if (line.answer?.verdict === 'unique' || line.answer?.verdict === 'ambiguous') answered++;
      hooks.progress(i + 1);
    }
  } finally {
    pool.close();
  }
  return {
    lineChunks: lines.finish(),
    lineCount: lines.count,
    rowChunks: rows.finish(),
    rawKeys: rawKeys.slice(0, RAW_KEY_SIZE * rows.count),
    counts,
    answered,
    found,
    unanswered,
    days_used: [...days].sort((a, b) => a[0].localeCompare(b[0])).map(([day, path]) => ({ day, path })),
    truncated: unanswered > 0 || found > rows.count,
  };

  /** Keep what the caps allow of one line's candidates; the bytes they took. */
  function keep(cands: readonly Candidate[], line: BulkLine, used: number): number {
    let took = 0;
    for (const c of cands) {
      if (line.kept >= caps.per_line || rows.count >= caps.rows) break;
      const json = JSON.stringify(c);
      const size = byteSize(json) + 1;
      if (used + took + size > caps.bytes) break;
      putRawKey(rawKeys, rows.count, c);
      rows.push(json);
      took += size;
      line.kept++;
    }
    return took;
  }
}
