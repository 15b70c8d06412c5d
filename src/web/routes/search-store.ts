// Answers the console has computed, kept in memory for the pages that follow a search: pagination,
// the original line of a candidate, the CSV and the court report. Each entry belongs to the user who
// ran the search (nobody else can open it by guessing the id, which is random anyway), lives at most
// RESULT_TTL_MS, and the cache holds at most MAX_RESULTS entries, MAX_STORED_ROWS candidates and
// MAX_STORED_BYTES in all (oldest dropped first: a few bulk answers of 20,000 rows would otherwise hold
// gigabytes). A restart forgets them: the pages then say "search again", which re-audits, as a new
// search should.
//
// Bytes: every answer is kept as JSON text (JsonChunks), so what it holds is counted, not guessed:
// the UTF-8 size of its chunks (what the heap holds for them, give or take the two-byte strings of
// non-Latin-1 text). Original lines are not part of an answer: a candidate keeps the row id of its
// line (rawKeys) and the line is read from its day file when shown or exported. Lines read for a click
// are packed back in up to MAX_KEPT_RAW_BYTES an answer (a 64 KB line planted by any syslog sender
// must not make a kept answer grow without bound); beyond that they are read again when asked.
//
// An answer's candidates are kept packed (PackedRows): JSON strings of ROWS_PER_CHUNK candidates. Kept
// as objects, 200 answers of ~560 candidates were ~400,000 objects for the garbage collector to trace
// at every full collection: on a pair of 10 M-record days the subscriber page's server p99 was 74-76
// ms with them and 53-60 ms with only the last 5 answers kept (p50 40-43 ms either way). Packed, the
// same comparison came out even (p99 70-77 ms both ways, in a noisier hour). A page parses the chunks
// it shows. A bulk answer's lines are packed the same way (LINES_PER_CHUNK, a page of them).
import { randomBytes } from 'node:crypto';
import { getRawKey, putRawKey, RAW_KEY_SIZE, rawPending, withRawKey, type Answer, type Candidate, type SubscriberAnswer } from '../../query/engine.js';
import { WebError } from '../errors.js';
import { byteSize, JsonChunks } from './json-chunks.js';

export const MAX_RESULTS = 200;
export const RESULT_TTL_MS = 8 * 3600_000;
/** Candidates kept per result; a larger answer is cut and says so. */
export const MAX_ROWS = 20_000;
/** Candidates kept over all results (~0.5 KB each). */
export const MAX_STORED_ROWS = 200_000;
/** Bytes a bulk answer may keep, lines and candidates (bulk/answer.ts cuts it there and says so); MAX_ROWS candidates of a lookup stay well within it. */
export const MAX_RESULT_BYTES = 16 * 2 ** 20;
/** Bytes kept over all results; the newest answer stays even alone above it (it is within MAX_RESULT_BYTES). */
export const MAX_STORED_BYTES = 64 * 2 ** 20;
/** Bytes of original lines an answer keeps once read (see the header). */
export const MAX_KEPT_RAW_BYTES = 2 ** 20;
/** Candidates a packed chunk holds (a results page shows 50). */
export const ROWS_PER_CHUNK = 100;
/** Bulk lines a packed chunk holds (a bulk page shows 100). */
export const LINES_PER_CHUNK = 100;

/** The candidates of a kept answer, by index (each call returns candidates of its own: fill their lines and show them). */
export interface Rows {
  readonly length: number;
  /** What the rows hold, in bytes (see the header). */
  readonly bytes: number;
  slice(from: number, to: number): Candidate[];
  at(i: number): Candidate | undefined;
  all(): Candidate[];
  /** Keep the original lines read since into `list`, the rows from `from` on, within MAX_KEPT_RAW_BYTES (the next click need not read them again). */
  update(from: number, list: readonly Candidate[]): void;
}

/** Rows packed as JSON chunks, with the row ids of their unread original lines (see the header). */
export class PackedRows implements Rows {
  readonly length: number;
  /** Bytes of original lines packed back in by update. */
  private rawKept = 0;

  /** `rawKeys`: per row, RAW_KEY_SIZE numbers: where the record of its unread original line is (rawKeyOf), NaN when it was read with the answer. */
  constructor(
    private readonly packed: JsonChunks<Candidate>,
    private readonly rawKeys: Float64Array,
  ) {
    if (packed.per !== ROWS_PER_CHUNK || rawKeys.length !== RAW_KEY_SIZE * packed.length) throw new Error('PackedRows: chunks and record keys disagree');
    this.length = packed.length;
  }

  static of(list: readonly Candidate[]): PackedRows {
    const rawKeys = new Float64Array(RAW_KEY_SIZE * list.length);
    list.forEach((c, i) => putRawKey(rawKeys, i, c));
    return new PackedRows(JsonChunks.of(list, ROWS_PER_CHUNK), rawKeys);
  }

  get bytes(): number {
    return this.packed.bytes + this.rawKeys.byteLength;
  }

  slice(from: number, to: number): Candidate[] {
    const lo = Math.max(0, Math.floor(from));
    const out = this.packed.slice(lo, to);
    out.forEach((c, j) => {
      withRawKey(c, getRawKey(this.rawKeys, lo + j));
    });
    return out;
  }

  at(i: number): Candidate | undefined {
    return Number.isInteger(i) && i >= 0 && i < this.length ? this.slice(i, i + 1)[0] : undefined;
  }

  all(): Candidate[] {
    return this.slice(0, this.length);
  }

  update(from: number, list: readonly Candidate[]): void {
    const end = Math.min(this.length, from + list.length);
    for (let k = Math.floor(Math.max(0, from) / ROWS_PER_CHUNK); k * ROWS_PER_CHUNK < end; k++) {
      const lo = Math.max(k * ROWS_PER_CHUNK, from);
      const hi = Math.min((k + 1) * ROWS_PER_CHUNK, end);
      let chunk: Candidate[] | null = null;
      for (let i = lo; i < hi; i++) {
        const c = list[i - from]!;
        if (getRawKey(this.rawKeys, i) == null || rawPending(c)) continue;
        const size = byteSize(c.raw);
        if (this.rawKept + size > MAX_KEPT_RAW_BYTES) continue; // read again when asked
        chunk ??= this.packed.chunk(k);
        chunk[i - k * ROWS_PER_CHUNK] = c;
        this.rawKeys[RAW_KEY_SIZE * i] = NaN;
        this.rawKept += size;
      }
      if (chunk) this.packed.replace(k, chunk);
    }
  }
}

/** What the analyst said about the request (required before any search runs). */
export interface CaseInfo {
  case_ref: string;
  justification: string;
  authority: string;
}

/** A bulk line's answer as kept: its candidates are rows (BulkLine.first, .kept), the days it read are the result's. */
export type BulkLineAnswer = Pick<Answer, 'query' | 'verdict' | 'reason' | 'owners'> & { narrowed?: Answer['narrowed'] };

export interface BulkLine {
  line: number;
  input: string;
  /** Set when the line could not be read or asked (the message in both languages). */
  error: { pt: string; en: string } | null;
  answer: BulkLineAnswer | null;
  /** Index of this line's first candidate in `rows`. */
  first: number;
  /** Candidates of this line kept in `rows` (see bulk/answer.ts for the caps). */
  kept: number;
  /** Candidates the engine found for it. */
  found: number;
}

interface Base {
  id: string;
  owner: number;
  user: string;
  created_ms: number;
  case: CaseInfo;
  /** The form as typed (to refill it and to show "the query" in the report). */
  input: Record<string, string>;
  /** Every candidate of the answer, flattened: original lines are addressed by index. */
  rows: Rows;
  truncated: boolean;
}

export interface BulkFields {
  lines: JsonChunks<BulkLine>;
  /** Lines per verdict (and 'error'). */
  counts: Record<string, number>;
  /** Lines with a unique or ambiguous answer (the audit's result count). */
  answered: number;
  /** Candidates found over all lines (rows.length of them were kept). */
  found: number;
  /** Lines left unanswered because the answer reached MAX_RESULT_BYTES. */
  unanswered: number;
  /** Day files read, each once, in order. */
  days_used: { day: string; path: string }[];
  window_sec: number;
  proto: string | null;
}

export type StoredResult =
  | (Base & { kind: 'lookup'; answer: Answer })
  | (Base & { kind: 'subscriber'; answer: SubscriberAnswer })
  | (Base & { kind: 'bulk' } & BulkFields);

/** A result to keep: a lookup's or subscriber's rows as the answer gave them, a bulk answer already packed (bulk/answer.ts). */
type NewResult<K extends StoredResult['kind'] = StoredResult['kind']> = K extends 'bulk'
  ? Omit<Extract<StoredResult, { kind: K }>, 'id' | 'created_ms'>
  : K extends StoredResult['kind']
    ? Omit<Extract<StoredResult, { kind: K }>, 'id' | 'created_ms' | 'rows'> & { rows: Candidate[] }
    : never;

/** Bytes an entry holds besides its rows (which can grow: see Rows.update): the clipped form, the answer's head, a bulk's lines. */
function fixedSize(r: StoredResult): number {
  const head = byteSize(JSON.stringify(r.input)) + byteSize(JSON.stringify(r.case)) + 256;
  if (r.kind === 'bulk') return head + r.lines.bytes + byteSize(JSON.stringify(r.days_used));
  return head + byteSize(JSON.stringify(r.answer));
}

export class ResultStore {
  private readonly map = new Map<string, StoredResult>();
  /** Candidates of the results held. */
  private rows = 0;
  /** fixedSize of each result held. */
  private readonly fixed = new Map<string, number>();

  put(r: NewResult, now = Date.now()): StoredResult {
    this.sweep(now);
    // A lookup's or subscriber's candidates are its rows: packed there, not also kept in the answer.
    const packed =
      r.kind === 'bulk'
        ? r
        : r.kind === 'lookup'
          ? { ...r, rows: PackedRows.of(r.rows), answer: { ...r.answer, candidates: [] } }
          : { ...r, rows: PackedRows.of(r.rows), answer: { ...r.answer, mappings: [] } };
    const stored = { ...packed, id: randomBytes(12).toString('base64url'), created_ms: now } as StoredResult;
    this.map.set(stored.id, stored);
    this.fixed.set(stored.id, fixedSize(stored));
    this.rows += stored.rows.length;
    // (the newest stays even alone over the limits: MAX_ROWS < MAX_STORED_ROWS, MAX_RESULT_BYTES < MAX_STORED_BYTES)
    while (this.map.size > 1 && (this.map.size > MAX_RESULTS || this.rows > MAX_STORED_ROWS || this.bytes() > MAX_STORED_BYTES)) this.drop(this.map.keys().next().value as string);
    return stored;
  }

  /** Bytes held by all results (counted afresh: original lines packed back in since put change it). */
  bytes(): number {
    let n = 0;
    for (const [id, r] of this.map) n += this.fixed.get(id)! + r.rows.bytes;
    return n;
  }

  private drop(id: string): void {
    this.rows -= this.map.get(id)?.rows.length ?? 0;
    this.map.delete(id);
    this.fixed.delete(id);
  }

  /** The result `id` of user `owner`, or a "not found / expired" error shown to the user. */
  get(id: unknown, owner: number, now = Date.now()): StoredResult {
    this.sweep(now);
    const r = typeof id === 'string' ? this.map.get(id) : undefined;
    if (!r || r.owner !== owner) throw new WebError('MEGALOG_ERR_WEB_NOT_FOUND', 'search.expired');
    return r;
  }

  /** This user's results, newest first (the exports page). */
  list(owner: number, now = Date.now()): StoredResult[] {
    this.sweep(now);
    return [...this.map.values()].filter((r) => r.owner === owner).reverse();
  }

  private sweep(now: number): void {
    for (const [k, r] of this.map) {
      if (now - r.created_ms <= RESULT_TTL_MS) break; // insertion order = age order
      this.drop(k);
    }
  }
}

/**
 * Cut a candidate list to MAX_ROWS. A candidate without its original line is a few hundred bytes
 * (addresses, times, the device), so MAX_ROWS of them stay well within MAX_RESULT_BYTES.
 */
export function capRows(rows: Candidate[]): { rows: Candidate[]; truncated: boolean } {
  return rows.length > MAX_ROWS ? { rows: rows.slice(0, MAX_ROWS), truncated: true } : { rows, truncated: false };
}
