// Answers the console has computed, kept in memory for the pages that follow a search: pagination,
// the original line of a candidate, the CSV and the court report. Each entry belongs to the user who
// ran the search (nobody else can open it by guessing the id, which is random anyway), lives at most
// RESULT_TTL_MS, and the cache holds at most MAX_RESULTS entries and MAX_STORED_ROWS candidates in all
// (oldest dropped first: a few bulk answers of 20,000 rows would otherwise hold gigabytes). A restart
// forgets them: the pages then say "search again", which re-audits, as a new search should.
//
// An answer's candidates are kept packed (PackedRows): JSON strings of ROWS_PER_CHUNK candidates. Kept
// as objects, 200 answers of ~560 candidates were ~400,000 objects for the garbage collector to trace
// at every full collection: on a pair of 10 M-record days the subscriber page's server p99 was 74-76
// ms with them and 53-60 ms with only the last 5 answers kept (p50 40-43 ms either way). Packed, the
// same comparison came out even (p99 70-77 ms both ways, in a noisier hour). A page parses the chunks
// it shows; original lines read for an export or a click are packed back in (update).
import { randomBytes } from 'node:crypto';
import { rawIdOf, rawPending, withRawId, type Answer, type Candidate, type SubscriberAnswer } from '../../query/engine.js';
import { WebError } from '../errors.js';

export const MAX_RESULTS = 200;
export const RESULT_TTL_MS = 8 * 3600_000;
/** Candidates kept per result; a larger answer is cut and says so. */
export const MAX_ROWS = 20_000;
/** Candidates kept over all results (~0.5 KB each in memory). */
export const MAX_STORED_ROWS = 200_000;
/** Candidates a packed chunk holds (a results page shows 50). */
export const ROWS_PER_CHUNK = 100;

/** The candidates of a kept answer, by index (each call returns candidates of its own: fill their lines and show them). */
export interface Rows {
  readonly length: number;
  slice(from: number, to: number): Candidate[];
  at(i: number): Candidate | undefined;
  all(): Candidate[];
  /** Keep the original lines read since into `list`, the rows from `from` on (the next export need not read them again). */
  update(from: number, list: readonly Candidate[]): void;
}

/**
 * A bulk answer's rows: the same objects as its lines' answers hold (those lines show them), kept
 * as they are, so that reading their original lines fills both.
 */
export class ArrayRows implements Rows {
  constructor(private readonly list: Candidate[]) {}
  get length(): number {
    return this.list.length;
  }
  slice(from: number, to: number): Candidate[] {
    return this.list.slice(from, to);
  }
  at(i: number): Candidate | undefined {
    return this.list[i];
  }
  all(): Candidate[] {
    return this.list;
  }
  update(): void {} // (the candidates filled are these)
}

/** Rows packed as JSON chunks, with the row ids of their unread original lines (see the header). */
export class PackedRows implements Rows {
  readonly length: number;
  private readonly chunks: string[] = [];
  /** Per row, the nat row id of its unread original line, NaN when it was read with the answer. */
  private readonly rawIds: Float64Array;

  constructor(list: readonly Candidate[]) {
    this.length = list.length;
    this.rawIds = new Float64Array(list.length);
    list.forEach((c, i) => (this.rawIds[i] = rawIdOf(c) ?? NaN));
    for (let i = 0; i < list.length; i += ROWS_PER_CHUNK) this.chunks.push(JSON.stringify(list.slice(i, i + ROWS_PER_CHUNK)));
  }

  slice(from: number, to: number): Candidate[] {
    const lo = Math.max(0, Math.floor(from));
    const hi = Math.min(this.length, Math.floor(to));
    const out: Candidate[] = [];
    for (let k = Math.floor(lo / ROWS_PER_CHUNK); k * ROWS_PER_CHUNK < hi; k++) {
      (JSON.parse(this.chunks[k]!) as Candidate[]).forEach((c, j) => {
        const i = k * ROWS_PER_CHUNK + j;
        if (i < lo || i >= hi) return;
        const id = this.rawIds[i]!;
        withRawId(c, Number.isNaN(id) ? null : id);
        out.push(c);
      });
    }
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
        if (Number.isNaN(this.rawIds[i]!) || rawPending(c)) continue;
        chunk ??= JSON.parse(this.chunks[k]!) as Candidate[];
        chunk[i - k * ROWS_PER_CHUNK] = c;
        this.rawIds[i] = NaN;
      }
      if (chunk) this.chunks[k] = JSON.stringify(chunk);
    }
  }
}

/** What the analyst said about the request (required before any search runs). */
export interface CaseInfo {
  case_ref: string;
  justification: string;
  authority: string;
}

export interface BulkLine {
  line: number;
  input: string;
  /** Set when the line could not be read or asked (the message in both languages). */
  error: { pt: string; en: string } | null;
  answer: Answer | null;
  /** Index of this line's first candidate in `rows`. */
  first: number;
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

export type StoredResult =
  | (Base & { kind: 'lookup'; answer: Answer })
  | (Base & { kind: 'subscriber'; answer: SubscriberAnswer })
  | (Base & { kind: 'bulk'; lines: BulkLine[]; window_sec: number; proto: string | null });

/** A result to keep: its rows as the answer gave them. */
type NewResult<K extends StoredResult['kind'] = StoredResult['kind']> = K extends StoredResult['kind'] ? Omit<Extract<StoredResult, { kind: K }>, 'id' | 'created_ms' | 'rows'> & { rows: Candidate[] } : never;

export class ResultStore {
  private readonly map = new Map<string, StoredResult>();
  /** Candidates of the results held. */
  private rows = 0;

  put(r: NewResult, now = Date.now()): StoredResult {
    this.sweep(now);
    // A lookup's or subscriber's candidates are its rows: packed there, not also kept in the answer.
    const packed =
      r.kind === 'bulk'
        ? { ...r, rows: new ArrayRows(r.rows) }
        : r.kind === 'lookup'
          ? { ...r, rows: new PackedRows(r.rows), answer: { ...r.answer, candidates: [] } }
          : { ...r, rows: new PackedRows(r.rows), answer: { ...r.answer, mappings: [] } };
    const stored = { ...packed, id: randomBytes(12).toString('base64url'), created_ms: now } as StoredResult;
    this.map.set(stored.id, stored);
    this.rows += stored.rows.length;
    // (the newest stays even alone over the limit: MAX_ROWS < MAX_STORED_ROWS)
    while (this.map.size > MAX_RESULTS || (this.rows > MAX_STORED_ROWS && this.map.size > 1)) this.drop(this.map.keys().next().value as string);
    return stored;
  }

  private drop(id: string): void {
    this.rows -= this.map.get(id)?.rows.length ?? 0;
    this.map.delete(id);
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

/** Cut a candidate list to MAX_ROWS. */
export function capRows(rows: Candidate[]): { rows: Candidate[]; truncated: boolean } {
  return rows.length > MAX_ROWS ? { rows: rows.slice(0, MAX_ROWS), truncated: true } : { rows, truncated: false };
}
