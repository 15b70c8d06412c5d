// CSV of a kept answer (UTF-8 with a BOM so spreadsheet programs read accents right), written by the
// one CSV writer (core/csv.ts: quoting and formula-injection guard).
import { csvRow } from '../../core/csv.js';
import type { Candidate } from '../../query/engine.js';
import type { StoredResult } from './search-store.js';

const CAND_COLS = ['src_ip', 'src_port', 'nat_ip', 'nat_port_start', 'nat_port_end', 'proto', 'start', 'end', 'end_reason', 'device', 'count', 'day', 'raw'] as const;
const candCells = (c: Candidate | null) => CAND_COLS.map((k) => (c ? c[k] : ''));

/**
 * The whole answer as CSV text: one line per candidate (bulk: per candidate of each request line).
 * `rows`: r's rows as read for this export (r.rows.all(), original lines filled).
 */
export function resultCsv(r: StoredResult, rows: readonly Candidate[]): string {
  let out = '\uFEFF';
  if (r.kind === 'bulk') {
    out += csvRow(['case_ref', 'line', 'input', 'verdict', 'error', ...CAND_COLS]);
    for (const l of r.lines) {
      const base = [r.case.case_ref, l.line, l.input, l.answer?.verdict ?? 'error', l.error?.en ?? ''];
      const cands = l.answer?.candidates ?? [];
      if (!cands.length) out += csvRow([...base, ...candCells(null)]);
      for (const c of cands) out += csvRow([...base, ...candCells(c)]);
    }
    return out;
  }
  if (r.kind === 'lookup') {
    const q = r.answer.query;
    out += csvRow(['case_ref', 'nat_ip', 'nat_port', 'at', 'window_sec', 'proto_query', 'verdict', ...CAND_COLS]);
    const base = [r.case.case_ref, q.nat_ip, q.nat_port ?? '', q.at, q.window_sec, q.proto ?? '', r.answer.verdict];
    if (!rows.length) out += csvRow([...base, ...candCells(null)]);
    for (const c of rows) out += csvRow([...base, ...candCells(c)]);
    return out;
  }
  const q = r.answer.query;
  out += csvRow(['case_ref', 'query_src_ip', 'from', 'to', 'proto_query', ...CAND_COLS]);
  const base = [r.case.case_ref, q.src_ip, q.from, q.to, q.proto ?? ''];
  if (!rows.length) out += csvRow([...base, ...candCells(null)]);
  for (const c of rows) out += csvRow([...base, ...candCells(c)]);
  return out;
}
