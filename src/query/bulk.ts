// Bulk requests: a court order's list of "ip[:port] time" lines (or "ip port time", or CSV with
// , ; or tab), one answer per line. A line may name the destination the requester saw: a trailing
// "-> dst_ip[:dst_port]" (either form), or CSV columns 5 and 6 (ip, port, time, proto, dst_ip, dst_port). Never throws: a bad line gets its own coded error, a bad file
// (not UTF-8, too many lines) one error for the whole request. Day files are opened once per request.
import { errorInfo, QueryError, type QueryErrorInfo } from './errors.js';
import { forensicLookup, ReaderPool, type Answer, type QueryConfig } from './engine.js';
import { isIP } from 'node:net';
import { parseAnalystTime } from './time.js';

export const BULK_MAX_LINES = 50_000;

export interface BulkOptions {
  windowSec?: number | string | null;
  proto?: string | null;
  maxLines?: number;
}

export interface BulkLine {
  /** 1-based line number in the request. */
  line: number;
  /** The line as given (clipped to 200 characters). */
  input: string;
  answer?: Answer;
  error?: QueryErrorInfo;
}

export interface BulkAnswer {
  /** A whole-request problem (no per-line results then). */
  error?: QueryErrorInfo;
  results: BulkLine[];
  summary: { lines: number; answered: number; errors: number; verdicts: Record<string, number> };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Answer every line of `input` (text, or the uploaded bytes: those must be UTF-8). */
export function bulkLookup(input: string | Uint8Array, cfg: QueryConfig, opts: BulkOptions = {}): BulkAnswer {
  const summary: BulkAnswer['summary'] = { lines: 0, answered: 0, errors: 0, verdicts: {} };
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = utf8.decode(input);
    } catch {
      return { error: new QueryError('MEGALOG_ERR_QUERY_BULK_NOT_UTF8').toJSON(), results: [], summary };
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r\n|\n|\r/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const max = opts.maxLines ?? BULK_MAX_LINES;
  const count = lines.filter((l) => l.trim() !== '').length;
  if (count > max) {
    return { error: new QueryError('MEGALOG_ERR_QUERY_BULK_TOO_MANY_LINES', `${count} > ${max}`).toJSON(), results: [], summary };
  }
  const pool = new ReaderPool(cfg, cfg.readers);
  const results: BulkLine[] = [];
  let seenData = false;
  try {
    lines.forEach((raw, i) => {
      const s = raw.trim();
      if (s === '' || s.startsWith('#')) return;
      const line: BulkLine = { line: i + 1, input: s.length > 200 ? `${s.slice(0, 200)}…` : s };
      try {
        const q = parseBulkLine(s, cfg.timezone);
        if (q === 'header') {
          if (!seenData) return; // a CSV header row before any data
          throw new QueryError('MEGALOG_ERR_QUERY_BULK_BAD_LINE', s);
        }
        seenData = true;
        line.answer = forensicLookup({ ...q, windowSec: q.windowSec ?? opts.windowSec ?? null, proto: q.proto ?? opts.proto ?? null }, cfg, pool);
        summary.answered++;
        summary.verdicts[line.answer.verdict] = (summary.verdicts[line.answer.verdict] ?? 0) + 1;
      } catch (err) {
        seenData = true;
        line.error = errorInfo(err);
        summary.errors++;
      }
      summary.lines++;
      results.push(line);
      pool.refresh();
    });
  } finally {
    pool.close();
  }
  return { results, summary };
}

interface LineQuery {
  natIp: string;
  natPort: string | null;
  at: number;
  windowSec?: string | null;
  proto?: string | null;
  dstIp?: string | null;
  dstPort?: string | null;
}

/** One request line → query; 'header' for a CSV title row; throws QueryError otherwise. */
export function parseBulkLine(line: string, tz: string): LineQuery | 'header' {
  let s = line;
  let dstIp: string | null = null;
  let dstPort: string | null = null;
  const arrow = s.lastIndexOf('->');
  if (arrow > 0) {
    [dstIp, dstPort] = splitHostPort(s.slice(arrow + 2).trim());
    s = s.slice(0, arrow).trim();
    if (!dstIp) throw new QueryError('MEGALOG_ERR_QUERY_BULK_BAD_LINE', line);
  }
  const delim = s.includes('\t') ? '\t' : s.includes(';') ? ';' : s.includes(',') ? ',' : null;
  let ipPart: string;
  let port: string | null = null;
  let time: string;
  let proto: string | null = null;
  if (delim) {
    const f = splitCsv(s, delim).map((x) => x.trim());
    if (!looksLikeAddress(f[0] ?? '')) return 'header';
    ipPart = f[0]!;
    if (f.length >= 3) {
      port = f[1] || null;
      time = f[2]!;
      proto = f[3] || null;
      dstIp ??= f[4] || null;
      dstPort ??= f[5] || null;
    } else time = f[1] ?? '';
  } else {
    const tok = s.split(/\s+/);
    ipPart = tok[0]!;
    let rest = tok.slice(1);
    if (rest.length >= 2 && /^\d{1,6}$/.test(rest[0]!)) {
      port = rest[0]!;
      rest = rest.slice(1);
    }
    time = rest.join(' ');
  }
  const [ip, p] = splitHostPort(ipPart);
  if (p != null) {
    if (port != null) throw new QueryError('MEGALOG_ERR_QUERY_BULK_BAD_LINE', s);
    port = p;
  }
  if (!time) throw new QueryError('MEGALOG_ERR_QUERY_BULK_BAD_LINE', s);
  return { natIp: ip, natPort: port, at: parseAnalystTime(time, tz), proto, dstIp, dstPort };
}

function looksLikeAddress(s: string): boolean {
  return isIP(splitHostPort(s)[0]) !== 0;
}

/** `1.2.3.4:80` → [ip, '80']; `[2001:db8::1]:80` → [ip, '80']; a bare address → [ip, null]. */
function splitHostPort(s: string): [string, string | null] {
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (v6) return [v6[1]!, v6[2] ?? null];
  const i = s.indexOf(':');
  if (i > 0 && i === s.lastIndexOf(':')) return [s.slice(0, i), s.slice(i + 1)];
  return [s, null];
}

/** RFC 4180 fields of one line (quotes, doubled quotes). */
function splitCsv(s: string, delim: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === '"' && s[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') q = false;
      else cur += c;
    } else if (c === '"' && cur.trim() === '') {
      q = true;
      cur = '';
    } else if (c === delim) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}
