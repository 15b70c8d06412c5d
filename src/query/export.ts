// CSV exports of an answer (RFC 4180, with a guard against spreadsheet formula injection — a log
// line is attacker-controlled text). The printable court report, with the day files' SHA-256, is
// the console's (web/routes/export.ts, hashes from the seal manifest: web/routes/export-hash.ts).
import type { BulkAnswer } from './bulk.js';
import type { Answer, SubscriberAnswer } from './index.js';

/**
 * One CSV cell: a value starting with = + - @ (or tab/CR, which some spreadsheets skip before them)
 * is prefixed with ' so it is shown as text, never evaluated (OWASP "CSV injection"); quoted when it
 * holds a comma, quote, CR or LF.
 */
export function csvCell(v: unknown): string {
  if (v == null) return '';
  let s = typeof v === 'string' ? v : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(cells: unknown[]): string {
  return cells.map(csvCell).join(',');
}

const CAND_COLS = ['src_ip', 'src_port', 'nat_ip', 'nat_port_start', 'nat_port_end', 'proto', 'start', 'end', 'device', 'count', 'kind', 'start_exact', 'end_reason', 'day', 'raw'] as const;
const HEADER = ['line', 'query_nat_ip', 'query_nat_port', 'query_at', 'query_window_sec', 'query_proto', 'verdict', ...CAND_COLS, 'error_code', 'error_message'];

function answerRows(a: Answer, line: number | null): unknown[][] {
  const q = [line, a.query.nat_ip, a.query.nat_port, a.query.at, a.query.window_sec, a.query.proto, a.verdict];
  if (!a.candidates.length) return [[...q, ...CAND_COLS.map(() => null), null, null]];
  return a.candidates.map((c) => [...q, ...CAND_COLS.map((k) => (c as unknown as Record<string, unknown>)[k]), null, null]);
}

/** CSV of one answer: one row per candidate (one row with the verdict when there is none), CRLF line ends. */
export function answerCsv(a: Answer): string {
  return [csvRow(HEADER), ...answerRows(a, null).map(csvRow)].join('\r\n') + '\r\n';
}

/** CSV of a bulk answer: the rows of every line's answer, or the line's error. */
export function bulkCsv(b: BulkAnswer): string {
  const rows = [csvRow(HEADER)];
  if (b.error) rows.push(csvRow([null, null, null, null, null, null, null, ...CAND_COLS.map(() => null), b.error.code, b.error.message_en]));
  for (const l of b.results) {
    if (l.answer) rows.push(...answerRows(l.answer, l.line).map(csvRow));
    else rows.push(csvRow([l.line, l.input, null, null, null, null, null, ...CAND_COLS.map(() => null), l.error?.code, l.error?.message_en]));
  }
  return rows.join('\r\n') + '\r\n';
}

/** CSV of a subscriber answer: one row per mapping. */
export function subscriberCsv(a: SubscriberAnswer): string {
  const head = ['query_src_ip', 'query_from', 'query_to', ...CAND_COLS];
  const q = [a.query.src_ip, a.query.from, a.query.to];
  return [csvRow(head), ...a.mappings.map((c) => csvRow([...q, ...CAND_COLS.map((k) => (c as unknown as Record<string, unknown>)[k])]))].join('\r\n') + '\r\n';
}
