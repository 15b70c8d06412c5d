// The console's store of answers (src/web/routes/search-store.ts): bounded in count, in candidates and
// in bytes, oldest dropped first, each answer only for its own user; a lookup's candidates kept
// packed, and read back equal, with their unread original lines still unread; original lines read
// since kept only up to a byte cap.
import { describe, expect, it } from 'vitest';
import { rawKeyOf, rawPending, withRawKey, type Candidate, type SubscriberAnswer } from '../../src/query/engine.js';
import { JsonChunks } from '../../src/web/routes/json-chunks.js';
import { LINES_PER_CHUNK, MAX_KEPT_RAW_BYTES, MAX_RESULT_BYTES, MAX_RESULTS, MAX_ROWS, MAX_STORED_BYTES, MAX_STORED_ROWS, PackedRows, RESULT_TTL_MS, ResultStore, ROWS_PER_CHUNK, type BulkLine } from '../../src/web/routes/search-store.js';

const CASE = { case_ref: '0001234-56.2026.8.26.0100', justification: 'teste', authority: '' };

function cand(i: number): Candidate {
  return { src_ip: '100.64.0.1', src_port: 1000 + i, nat_ip: '203.0.113.7', nat_port_start: 40000 + i, nat_port_end: 40000 + i, proto: 'tcp', start: `2026-03-05T10:00:${String(i % 60).padStart(2, '0')}-03:00`, end: '2026-03-05T11:00:00-03:00', device: '10.0.0.1', raw: i % 3 ? '' : `<script>alert(${i})</script> "aspas" ç`, count: 1 + (i % 4), kind: i % 7 ? 'session' : 'block', start_ms: i, end_ms: i + 1000, start_exact: i % 2 === 0, end_reason: 'reuse', day: '2026-03-05', dst_ip: '198.51.100.9', dst_port: 443, subscriber: i % 5 ? null : { login: `<b>cliente${i}</b>`, mac: null, nas: null, session_start: null, session_end: null, source: 'log' } };
}

/** A bulk result of `rows` candidates (chunks left empty: quick to make many; `bytes` of packed lines). */
function put(store: ResultStore, rows: number, owner = 1, now = 0, bytes = 0) {
  const lines = new JsonChunks<BulkLine>(bytes ? ['x'.repeat(bytes)] : [], 0, LINES_PER_CHUNK);
  const packed = new PackedRows(new JsonChunks<Candidate>([], rows, ROWS_PER_CHUNK), new Float64Array(3 * rows));
  const bulk = { counts: {}, answered: 0, found: rows, unanswered: 0, days_used: [], window_sec: 60, proto: null };
  return store.put({ kind: 'bulk', owner, user: 'ana', case: CASE, input: {}, rows: packed, truncated: false, lines, ...bulk }, now);
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

  it("keeps a subscriber answer's candidates packed, and gives them back equal, unread lines still unread", () => {
    const n = 2 * ROWS_PER_CHUNK + 50;
    const list = Array.from({ length: n }, (_, i) => cand(i));
    list.forEach((c, i) => withRawKey(c, i % 3 ? [2 ** 33 + i, 1_700_000_000_000 + i, 1024 + i] : null)); // lines read with the answer: i % 3 = 0
    const answer = { query: {}, mappings: list, truncated: false, days_used: [], days_missing: [], timezone: 'America/Sao_Paulo' } as unknown as SubscriberAnswer;
    const store = new ResultStore();
    const r = store.put({ kind: 'subscriber', owner: 1, user: 'ana', case: CASE, input: {}, rows: list, truncated: false, answer }, 0);
    expect(r.kind === 'subscriber' && r.answer.mappings).toEqual([]); // not kept twice
    expect(r.rows).toHaveLength(n);
    const same = (got: Candidate[], from: number) => {
      expect(got).toEqual(list.slice(from, from + got.length));
      got.forEach((c, j) => {
        expect(c).not.toBe(list[from + j]); // a copy read back from the packed chunk
        expect(rawKeyOf(c)).toEqual(rawKeyOf(list[from + j]!));
        expect(rawPending(c)).toBe((from + j) % 3 !== 0);
      });
    };
    same(r.rows.slice(ROWS_PER_CHUNK - 20, 2 * ROWS_PER_CHUNK + 10), ROWS_PER_CHUNK - 20); // across chunks
    same(r.rows.all(), 0);
    same([r.rows.at(n - 1)!], n - 1);
    expect(r.rows.at(n)).toBeUndefined();
    expect(r.rows.at(-1)).toBeUndefined();
    expect(r.rows.slice(n - 5, n + 10)).toHaveLength(5);

    // lines read for an export or a click are kept: read back filled, no longer pending
    const page = r.rows.slice(ROWS_PER_CHUNK - 2, ROWS_PER_CHUNK + 2);
    for (const c of page) {
      if (!rawPending(c)) continue;
      // as fillRaw leaves a candidate whose line it read
      c.raw = `linha ${c.src_port}`;
      (c as unknown as Record<symbol, unknown>)[Object.getOwnPropertySymbols(c)[0]!] = undefined;
    }
    r.rows.update(ROWS_PER_CHUNK - 2, page);
    const again = r.rows.slice(ROWS_PER_CHUNK - 3, ROWS_PER_CHUNK + 3);
    expect(again.map((c) => c.raw).slice(1, 5)).toEqual(page.map((c) => c.raw));
    expect(again.map(rawPending)).toEqual([(ROWS_PER_CHUNK - 3) % 3 !== 0, false, false, false, false, (ROWS_PER_CHUNK + 2) % 3 !== 0]);
    expect(r.rows.at(0)).toEqual(list[0]); // the rest untouched
  });

  it(`keeps at most ${MAX_STORED_BYTES / 2 ** 20} MiB in all: large answers push the oldest out`, () => {
    const store = new ResultStore();
    const big = MAX_RESULT_BYTES - 65_536; // (room for the rest of each entry)
    const first = put(store, 10, 1, 0, big).id;
    const rest = Array.from({ length: MAX_STORED_BYTES / MAX_RESULT_BYTES }, () => put(store, 10, 1, 0, big).id);
    expect(() => store.get(first, 1, 0)).toThrow(/not found|expired/i);
    for (const id of rest) expect(store.get(id, 1, 0).id).toBe(id);
    expect(store.bytes()).toBeLessThanOrEqual(MAX_STORED_BYTES);
  });

  it(`packs original lines read since back in only up to ${MAX_KEPT_RAW_BYTES / 2 ** 20} MiB an answer; the rest stay unread`, () => {
    const n = 2 * ROWS_PER_CHUNK;
    const list = Array.from({ length: n }, (_, i) => ({ ...cand(i), raw: '' }));
    list.forEach((c, i) => withRawKey(c, [1000 + i, 1_700_000_000_000, 1024]));
    const answer = { query: {}, mappings: list, truncated: false, days_used: [], days_missing: [], timezone: 'UTC' } as unknown as SubscriberAnswer;
    const store = new ResultStore();
    const r = store.put({ kind: 'subscriber', owner: 1, user: 'ana', case: CASE, input: {}, rows: list, truncated: false, answer }, 0);
    const before = r.rows.bytes;
    const all = r.rows.all();
    const line = 64 * 1024;
    for (const c of all) {
      c.raw = 'x'.repeat(line); // a planted 64 KB line, as fillRaw leaves it
      (c as unknown as Record<symbol, unknown>)[Object.getOwnPropertySymbols(c)[0]!] = undefined;
    }
    r.rows.update(0, all);
    const kept = MAX_KEPT_RAW_BYTES / line;
    const again = r.rows.all();
    expect(again.filter((c) => !rawPending(c))).toHaveLength(kept);
    expect(again.slice(0, kept).every((c) => c.raw.length === line)).toBe(true);
    expect(again.slice(kept).every((c) => rawPending(c) && c.raw === '')).toBe(true);
    expect(r.rows.bytes - before).toBeLessThanOrEqual(MAX_KEPT_RAW_BYTES + kept * 16);
    expect(store.bytes()).toBeGreaterThanOrEqual(r.rows.bytes);
  });
});
