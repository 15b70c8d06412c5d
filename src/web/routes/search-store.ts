// Answers the console has computed, kept in memory for the pages that follow a search: pagination,
// the original line of a candidate, the CSV and the court report. Each entry belongs to the user who
// ran the search (nobody else can open it by guessing the id, which is random anyway), lives at most
// RESULT_TTL_MS, and the cache holds at most MAX_RESULTS entries and MAX_STORED_ROWS candidates in all
// (oldest dropped first: a few bulk answers of 20,000 rows would otherwise hold gigabytes). A restart
// forgets them: the pages then say "search again", which re-audits, as a new search should.
import { randomBytes } from 'node:crypto';
import type { Answer, Candidate, SubscriberAnswer } from '../../query/index.js';
import { WebError } from '../errors.js';

export const MAX_RESULTS = 200;
export const RESULT_TTL_MS = 8 * 3600_000;
/** Candidates kept per result; a larger answer is cut and says so. */
export const MAX_ROWS = 20_000;
/** Candidates kept over all results (~0.5 KB each in memory). */
export const MAX_STORED_ROWS = 200_000;

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
  rows: Candidate[];
  truncated: boolean;
}

export type StoredResult =
  | (Base & { kind: 'lookup'; answer: Answer })
  | (Base & { kind: 'subscriber'; answer: SubscriberAnswer })
  | (Base & { kind: 'bulk'; lines: BulkLine[]; window_sec: number; proto: string | null });

type NewResult = Omit<Extract<StoredResult, { kind: 'lookup' }>, 'id' | 'created_ms'> | Omit<Extract<StoredResult, { kind: 'subscriber' }>, 'id' | 'created_ms'> | Omit<Extract<StoredResult, { kind: 'bulk' }>, 'id' | 'created_ms'>;

export class ResultStore {
  private readonly map = new Map<string, StoredResult>();
  /** Candidates of the results held. */
  private rows = 0;

  put(r: NewResult, now = Date.now()): StoredResult {
    this.sweep(now);
    const stored = { ...r, id: randomBytes(12).toString('base64url'), created_ms: now } as StoredResult;
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
