// A bulk answer as the worker packs it (src/web/bulk/answer.ts), against real day files: candidates
// capped per line and per answer, bytes capped, original lines never packed (read later by row id),
// the lines past a cap still answered with their verdict, and a cancelled run giving no answer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillRaw, type Candidate, type QueryConfig } from '../../src/query/engine.js';
import { answerBulk, BULK_CAPS, type BulkItem, type PackedBulk } from '../../src/web/bulk/answer.js';
import { JsonChunks } from '../../src/web/routes/json-chunks.js';
import { LINES_PER_CHUNK, PackedRows, ROWS_PER_CHUNK, type BulkLine } from '../../src/web/routes/search-store.js';
import { buildWorld, type Rec } from '../fixtures/query/world.js';
import { parseBulk } from '../../src/web/routes/bulk-parse.js';

const SUBSCRIBERS = 150;
const LINE = 2048;
let dir: string;
let cfg: QueryConfig;

/** 150 subscribers behind 203.0.113.7 within a minute, each line padded to 2 KB. */
function recs(): Rec[] {
  return Array.from({ length: SUBSCRIBERS }, (_, i) => {
    const at = new Date(Date.parse('2026-03-05T10:00:00Z') + i * 100).toISOString();
    const r: Rec = { event: 'session_create', proto: 'tcp', src: `100.64.${1 + (i >> 8)}.${i & 255}`, sport: 5000 + i, nat: '203.0.113.7', port: 40000 + i, at, dev: '192.0.2.1' };
    return { ...r, raw: `<134>bng nat ${r.src}:${r.sport} -> ${r.nat}:${r.port} `.padEnd(LINE, 'p') };
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'megalog-bulk-answer-'));
  cfg = { cold_storage_dir: buildWorld(dir, { recs: recs(), unparsed: [] }), timezone: 'UTC' };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `n` IP-only requests for the address (every candidate of it), one a line, as typed (`pad`ded: a line of a CSV with more columns). */
const items = (n: number, pad = 0): BulkItem[] =>
  Array.from({ length: n }, (_, i) => ({ line: i + 1, input: `203.0.113.7 2026-03-05T10:00:30Z #${i}`.padEnd(pad, ';'), ip: '203.0.113.7', port: '', time: '2026-03-05T10:00:30Z', proto: '' }));
const never = { cancelled: () => false, progress: () => {} };
const linesOf = (a: PackedBulk) => new JsonChunks<BulkLine>(a.lineChunks, a.lineCount, LINES_PER_CHUNK).slice(0, a.lineCount);
const rowsOf = (a: PackedBulk) => new PackedRows(new JsonChunks<Candidate>(a.rowChunks, a.rawKeys.length / 3, ROWS_PER_CHUNK), a.rawKeys);

describe('bulk answer', () => {
  it('keeps at most per_line candidates a line and counts the rest; original lines are read later, by row id', () => {
    const a = answerBulk({ items: items(3), windowSec: 3600, proto: null }, cfg, never)!;
    const lines = linesOf(a);
    expect(lines.map((l) => [l.answer?.verdict, l.found, l.kept, l.first])).toEqual([
      ['ambiguous', SUBSCRIBERS, BULK_CAPS.per_line, 0],
      ['ambiguous', SUBSCRIBERS, BULK_CAPS.per_line, BULK_CAPS.per_line],
      ['ambiguous', SUBSCRIBERS, BULK_CAPS.per_line, 2 * BULK_CAPS.per_line],
    ]);
    expect(a.found).toBe(3 * SUBSCRIBERS);
    expect(a.truncated).toBe(true);
    expect(a.answered).toBe(3);
    expect(a.counts.ambiguous).toBe(3);
    expect(a.rowChunks.join('')).not.toContain('pppp'); // no original line packed
    const rows = rowsOf(a);
    expect(rows).toHaveLength(3 * BULK_CAPS.per_line);
    const c = rows.at(BULK_CAPS.per_line + 7)!;
    expect(c.raw).toBe('');
    fillRaw([c], cfg);
    expect(c.raw).toHaveLength(LINE);
    expect(c.raw).toContain(`${c.src_ip}:${c.src_port} -> 203.0.113.7`);
  });

  it("stops keeping candidates at the answer's cap; the lines after it still get their verdict", () => {
    const caps = { ...BULK_CAPS, rows: 250 };
    const a = answerBulk({ items: items(5), windowSec: 3600, proto: null }, cfg, never, caps)!;
    expect(linesOf(a).map((l) => [l.answer?.verdict, l.kept])).toEqual([
      ['ambiguous', 100],
      ['ambiguous', 100],
      ['ambiguous', 50],
      ['ambiguous', 0],
      ['ambiguous', 0],
    ]);
    expect(a.rawKeys).toHaveLength(750);
    expect(a.unanswered).toBe(0);
    expect(a.truncated).toBe(true);
  });

  it('a line the byte cap cannot hold ends the answer there: the rest are counted as unanswered', () => {
    const caps = { ...BULK_CAPS, bytes: 64 * 1024 };
    const a = answerBulk({ items: items(100, 300), windowSec: 3600, proto: null }, cfg, never, caps)!;
    const bytes = [...a.lineChunks, ...a.rowChunks].reduce((n, s) => n + Buffer.byteLength(s), 0);
    expect(bytes).toBeLessThanOrEqual(caps.bytes);
    expect(a.unanswered).toBeGreaterThan(0);
    expect(a.lineCount + a.unanswered).toBe(100);
    expect(a.truncated).toBe(true);
    // candidates stopped first, with room held back for the lines still to come
    const lines = linesOf(a);
    expect(lines[0]!.kept).toBeGreaterThan(0);
    expect(lines.at(-1)!.kept).toBe(0);
  });

  it('reports each line done, and gives no answer once cancelled', () => {
    let done = 0;
    const a = answerBulk({ items: items(10), windowSec: 3600, proto: null }, cfg, { cancelled: () => done >= 4, progress: (n) => (done = n) });
    expect(a).toBeNull();
    expect(done).toBe(4);
  });

  it('keeps per-line errors as they came, and answers bad input with its message', () => {
    const list: BulkItem[] = [
      { line: 1, input: 'lixo', error: { pt: 'Linha não reconhecida', en: 'Line not understood' } },
      { line: 2, input: '203.0.113.999 2026-03-05T10:00:30Z', ip: '203.0.113.999', port: '', time: '2026-03-05T10:00:30Z', proto: '' },
    ];
    const a = answerBulk({ items: list, windowSec: 60, proto: null }, cfg, never)!;
    const lines = linesOf(a);
    expect(lines[0]!.error?.pt).toBe('Linha não reconhecida');
    expect(lines[1]!.error?.pt).toContain('Endereço IP inválido');
    expect(a.counts.error).toBe(2);
    expect(a.truncated).toBe(false);
  });

  it('reads a destination at the end of a line or in CSV columns 5-6, and each answer says how it narrowed', () => {
    const parsed = parseBulk('203.0.113.7:40003 2026-03-05T10:00:30Z -> 198.18.0.1:443\n203.0.113.7,,2026-03-05T10:00:30Z,tcp,198.18.0.9,443\n203.0.113.7 2026-03-05T10:00:30Z\n');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.requests.map((r) => ('error' in r ? r.error : [r.ip, r.port, r.dstIp, r.dstPort]))).toEqual([
      ['203.0.113.7', '40003', '198.18.0.1', '443'],
      ['203.0.113.7', '', '198.18.0.9', '443'],
      ['203.0.113.7', '', '', ''],
    ]);
    const a = answerBulk({ items: parsed.requests as BulkItem[], windowSec: 3600, proto: null }, cfg, never)!;
    expect(linesOf(a).map((l) => [l.answer?.verdict, l.answer?.narrowed?.inside_without ?? null, l.found])).toEqual([
      ['unique', 1, 1],
      ['no_match', SUBSCRIBERS, 0], // every record went to 198.18.0.1
      ['ambiguous', null, SUBSCRIBERS],
    ]);
  });
});
