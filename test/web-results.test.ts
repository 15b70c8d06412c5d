// The console's store of answers (src/web/routes/search-store.ts): bounded in count and in candidates,
// oldest dropped first, each answer only for its own user.
import { describe, expect, it } from 'vitest';
import type { Candidate, SubscriberAnswer } from '../src/query/index.js';
import { MAX_RESULTS, MAX_ROWS, MAX_STORED_ROWS, RESULT_TTL_MS, ResultStore } from '../src/web/routes/search-store.js';

const CASE = { case_ref: '0001234-56.2026.8.26.0100', justification: 'teste', authority: '' };

function put(store: ResultStore, rows: number, owner = 1, now = 0) {
  return store.put({ kind: 'subscriber', owner, user: 'ana', case: CASE, input: {}, rows: new Array<Candidate>(rows), truncated: false, answer: {} as SubscriberAnswer }, now);
}

describe('result store', () => {
  it(`keeps at most ${MAX_RESULTS} answers, oldest dropped first`, () => {
    const store = new ResultStore();
    const ids = Array.from({ length: MAX_RESULTS + 2 }, () => put(store, 1).id);
    for (const id of ids.slice(0, 2)) expect(() => store.get(id, 1, 0)).toThrow(/not found|expired/i);
    for (const id of ids.slice(2)) expect(store.get(id, 1, 0).id).toBe(id);
  });

  it(`keeps at most ${MAX_STORED_ROWS} candidates in all: large answers push the oldest out`, () => {
    const store = new ResultStore();
    const small = put(store, 10).id;
    const big = Array.from({ length: MAX_STORED_ROWS / MAX_ROWS }, () => put(store, MAX_ROWS).id);
    // the small answer no longer fits beside the ten large ones
    expect(() => store.get(small, 1, 0)).toThrow(/not found|expired/i);
    for (const id of big) expect(store.get(id, 1, 0).rows).toHaveLength(MAX_ROWS);
    // a new one pushes out the oldest large one, whose room the next answers then have
    const next = put(store, 10).id;
    expect(() => store.get(big[0], 1, 0)).toThrow(/not found|expired/i);
    for (let i = 0; i < 100; i++) put(store, 10);
    expect(store.get(next, 1, 0).id).toBe(next);
    expect(store.get(big[1], 1, 0).id).toBe(big[1]);
  });

  it('answers expire, and belong to the user who searched', () => {
    const store = new ResultStore();
    const id = put(store, 1, 7, 0).id;
    expect(() => store.get(id, 8, 1)).toThrow(/not found|expired/i);
    expect(store.get(id, 7, RESULT_TTL_MS).id).toBe(id);
    expect(() => store.get(id, 7, RESULT_TTL_MS + 1)).toThrow(/not found|expired/i);
  });
});
