// A candidate of a forensic answer (one interval, or one inside address of an IP-only answer), and
// its original line: read with the answer, or left for later (LookupInput.raw false) and read by
// fillRaw when the console shows or exports it.
import { ipFromDb, protoName } from '../store/codes.js';
import type { DayReader, NatRow } from '../store/sqlite/read.js';
import type { EndReason, Interval } from './intervals.js';
import { formatInZone } from './time.js';

export interface Candidate {
  src_ip: string | null;
  src_port: number | null;
  nat_ip: string;
  nat_port_start: number | null;
  nat_port_end: number | null;
  proto: string | null;
  /** ISO 8601 with the configured zone's offset. */
  start: string;
  end: string;
  device: string;
  /** The original message as the device sent it (UTF-8, or Latin-1 when it is not valid UTF-8). */
  raw: string;
  /** Records behind this candidate. */
  count: number;
  kind: 'session' | 'block' | 'address';
  start_ms: number;
  end_ms: number;
  /** false when the opening record was not in the data read (a close without its create). */
  start_exact: boolean;
  end_reason: EndReason | 'mixed';
  /** Day file holding `raw`. */
  day: string;
  /** IP-only answers: how many mappings (intervals) this inside address had in the window. */
  mappings?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Text of an original message: UTF-8 when valid, else Latin-1 (one character per byte, nothing lost). */
export function rawText(b: Buffer | null): string {
  if (!b) return '';
  try {
    return utf8.decode(b);
  } catch {
    return b.toString('latin1');
  }
}

/** Candidates whose original line was left unread, with the row that names it (never serialized). */
const pending = new WeakMap<Candidate, { row: NatRow; day: string }>();

/**
 * Read the original lines `cands` left unread, from the day files `get` opens. Candidates that have
 * theirs already are left alone; a day file gone since leaves raw ''.
 */
export function fillRawFrom(cands: readonly Candidate[], get: (day: string) => DayReader | null): void {
  const todo = cands.filter((c) => pending.has(c));
  // Day by day, in row id order: neighbouring lines share what the reader has inflated.
  const ref = (c: Candidate) => pending.get(c)!.row.id % 2 ** 32;
  todo.sort((a, b) => a.day.localeCompare(b.day) || ref(a) - ref(b));
  for (const c of todo) {
    const p = pending.get(c)!;
    c.raw = rawText(get(p.day)?.rawOf(p.row) ?? null);
    pending.delete(c);
  }
}

/** Whether a candidate's original line is still unread. */
export function rawPending(c: Candidate): boolean {
  return pending.has(c);
}

/** The candidate of one interval. */
export function candidateOf(iv: Interval, tz: string, withRaw = true): Candidate {
  return candidateOfRow(iv.first.row, iv.first.reader, iv, tz, withRaw);
}

/** A candidate for `iv` whose first record is `row` of day file `r`. */
export function candidateOfRow(row: NatRow, r: DayReader, iv: Pick<Interval, 'kind' | 'holder' | 'start' | 'end' | 'count' | 'start_exact' | 'end_reason'>, tz: string, withRaw: boolean): Candidate {
  const block = iv.kind === 'block';
  const port = row.nat_port < 0 ? null : row.nat_port;
  const c: Candidate = {
    src_ip: iv.holder.split('|')[0] || null,
    src_port: block ? null : row.src_port,
    nat_ip: ipFromDb(row.nat_ip) ?? '',
    nat_port_start: port,
    nat_port_end: block ? (row.port_end ?? port) : port,
    proto: protoName(row.code % 1024),
    start: formatInZone(iv.start, tz),
    end: formatInZone(iv.end, tz),
    device: r.deviceAddress(row.device),
    raw: withRaw ? rawText(r.rawOf(row)) : '',
    count: iv.count,
    kind: iv.kind,
    start_ms: iv.start,
    end_ms: iv.end,
    start_exact: iv.start_exact,
    end_reason: iv.end_reason,
    day: r.day,
  };
  if (!withRaw) pending.set(c, { row, day: r.day });
  return c;
}
