// Exports of an answer: CSV (RFC 4180, with a guard against spreadsheet formula injection — a log
// line is attacker-controlled text) and the data of a printable court report, with the SHA-256 of
// every day file the answer was read from.
import { statSync } from 'node:fs';
import { sha256File } from '../store/hash.js';
import type { BulkAnswer } from './bulk.js';
import { BLOCK_MAX_AGE_MS, MAX_BLOCK_PORTS, SESSION_MAX_AGE_MS, formatInZone, type Answer, type Candidate, type SubscriberAnswer } from './index.js';

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

export interface ReportMeta {
  caseRef: string;
  authority: string;
  user: string;
  /** ms since the epoch; default now. */
  generatedAt?: number;
}

export interface ReportDay {
  day: string;
  path: string;
  bytes: number;
  sha256: string;
  /** The day is still being written (a -wal file exists): the hash is of the file at this moment. */
  live: boolean;
}

export interface ReportData {
  case_ref: string;
  authority: string;
  user: string;
  generated_at: string;
  generated_at_ms: number;
  timezone: string;
  kind: 'public_address' | 'subscriber';
  query: Answer['query'] | SubscriberAnswer['query'];
  verdict: Answer['verdict'] | null;
  reason: string | null;
  candidates: Candidate[];
  days: ReportDay[];
  days_missing: string[];
  rules: { session_max_age_sec: number; block_max_age_sec: number; max_block_ports: number };
}

export { sha256File };

/** Everything a court report shows: who asked, for which case, the query, the verdict, candidates with original lines, and the hashes of the day files. */
export async function reportData(answer: Answer | SubscriberAnswer, meta: ReportMeta): Promise<ReportData> {
  const at = meta.generatedAt ?? Date.now();
  const days: ReportDay[] = [];
  for (const d of answer.days_used) {
    let live = false;
    try {
      live = statSync(`${d.path}-wal`).size > 0;
    } catch {
      /* no WAL: sealed or checkpointed */
    }
    days.push({ day: d.day, path: d.path, bytes: statSync(d.path).size, sha256: await sha256File(d.path), live });
  }
  const pub = 'verdict' in answer;
  return {
    case_ref: meta.caseRef,
    authority: meta.authority,
    user: meta.user,
    generated_at: formatInZone(at, answer.timezone),
    generated_at_ms: at,
    timezone: answer.timezone,
    kind: pub ? 'public_address' : 'subscriber',
    query: answer.query,
    verdict: pub ? answer.verdict : null,
    reason: pub ? (answer.reason ?? null) : null,
    candidates: pub ? answer.candidates : answer.mappings,
    days,
    days_missing: answer.days_missing,
    rules: { session_max_age_sec: SESSION_MAX_AGE_MS / 1000, block_max_age_sec: BLOCK_MAX_AGE_MS / 1000, max_block_ports: MAX_BLOCK_PORTS },
  };
}
