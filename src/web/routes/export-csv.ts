// CSV of a kept answer (UTF-8 with a BOM so spreadsheet programs read accents right), written by the
// one CSV writer (core/csv.ts: quoting and formula-injection guard). Made a part at a time, for a
// stream: an answer's original lines are read a chunk at a time, never all at once.
import { csvRow } from '../../core/csv.js';
import type { Candidate } from '../../query/engine.js';
import { ROWS_PER_CHUNK, type Rows, type StoredResult } from './search-store.js';

const CAND_COLS = ['src_ip', 'src_port', 'nat_ip', 'nat_port_start', 'nat_port_end', 'proto', 'start', 'end', 'end_reason', 'device', 'count', 'day', 'dst_ip', 'dst_port', 'login', 'subscriber_source', 'raw'] as const;
/** A candidate's cells; the login (attacker-controlled text) goes through csvRow's formula guard like the raw line. */
const cell = (c: Candidate, k: (typeof CAND_COLS)[number]): unknown => (k === 'login' ? c.subscriber?.login ?? '' : k === 'subscriber_source' ? c.subscriber?.source ?? '' : c[k]);
const candCells = (c: Candidate | null) => CAND_COLS.map((k) => (c ? cell(c, k) : ''));
/** Text handed on at a time (the stream's chunks). */
const PART_CHARS = 64 * 1024;

/**
 * Candidates of a kept answer in index order, a chunk at a time with their original lines read by
 * `fill`: an export holds one chunk's lines, not the whole answer's (64 KB lines make 20,000 rows a
 * gigabyte). Ask in increasing index order.
 */
export function rowCursor(rows: Rows, fill: (chunk: Candidate[]) => void): (i: number) => Candidate {
  let k = -1;
  let cur: Candidate[] = [];
  return (i) => {
    const kk = Math.floor(i / ROWS_PER_CHUNK);
    if (kk !== k) {
      k = kk;
      cur = rows.slice(k * ROWS_PER_CHUNK, (k + 1) * ROWS_PER_CHUNK);
      fill(cur);
    }
    return cur[i - k * ROWS_PER_CHUNK]!;
  };
}

/**
 * The whole answer as CSV text, in parts of about PART_CHARS (a stream's chunks): one line per
 * candidate (bulk: per candidate kept of each request line). `fill` reads the original lines of a
 * chunk of candidates.
 */
export function* resultCsv(r: StoredResult, fill: (chunk: Candidate[]) => void): Generator<string> {
  let out = '\uFEFF';
  const row = rowCursor(r.rows, fill);
  const flush = function* () {
    if (out.length < PART_CHARS) return;
    yield out;
    out = '';
  };
  if (r.kind === 'bulk') {
    out += csvRow(['case_ref', 'line', 'input', 'verdict', 'error', ...CAND_COLS]);
    for (let k = 0; k < r.lines.chunkCount; k++) {
      for (const l of r.lines.chunk(k)) {
        const base = [r.case.case_ref, l.line, l.input, l.answer?.verdict ?? 'error', l.error?.en ?? ''];
        if (!l.kept) out += csvRow([...base, ...candCells(null)]);
        for (let i = l.first; i < l.first + l.kept; i++) {
          out += csvRow([...base, ...candCells(row(i))]);
          yield* flush();
        }
        yield* flush();
      }
    }
  } else {
    let base: unknown[];
    if (r.kind === 'lookup') {
      const q = r.answer.query;
      out += csvRow(['case_ref', 'nat_ip', 'nat_port', 'at', 'window_sec', 'proto_query', 'dst_ip_query', 'dst_port_query', 'verdict', ...CAND_COLS]);
      base = [r.case.case_ref, q.nat_ip, q.nat_port ?? '', q.at, q.window_sec, q.proto ?? '', q.dst_ip ?? '', q.dst_port ?? '', r.answer.verdict];
    } else {
      const q = r.answer.query;
      out += csvRow(['case_ref', 'query_src_ip', 'query_login', 'from', 'to', 'proto_query', ...CAND_COLS]);
      base = [r.case.case_ref, q.src_ip, q.login ?? '', q.from, q.to, q.proto ?? ''];
    }
    if (!r.rows.length) out += csvRow([...base, ...candCells(null)]);
    for (let i = 0; i < r.rows.length; i++) {
      out += csvRow([...base, ...candCells(row(i))]);
      yield* flush();
    }
  }
  if (out) yield out;
}
