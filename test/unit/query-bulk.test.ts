// Bulk requests, exports and the court report, against the ground-truth day files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkLookup, parseBulkLine } from '../../src/query/bulk.js';
import { csvCell, csvRow } from '../../src/core/csv.js';
import { forensicLookup, type QueryConfig } from '../../src/query/engine.js';
import { buildWorld, Z } from '../fixtures/query/world.js';

let dir: string;
let cfg: QueryConfig;
const TZ = 'America/Sao_Paulo';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'megalog-qbulk-'));
  cfg = { cold_storage_dir: buildWorld(dir), timezone: TZ };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bulkLookup', () => {
  it('reads every line shape a court order uses, one answer per line, errors per line', () => {
    const text = [
      'ip;porta;data',
      '203.0.113.7:40312 2026-03-05T10:11:12-03:00',
      '203.0.113.7 40312 2026-03-05 10:11:12',
      '203.0.113.7,40312,05/03/2026 10:11:12',
      '"203.0.113.7";"40000";"2026-03-05T12:00:20Z"',
      '203.0.113.9 2026-03-05T14:00:15Z',
      '[203.0.113.10]:7000\t2026-03-05T16:00:30Z',
      '',
      '# comment',
      '203.0.113.7:70000 2026-03-05T10:11:12Z',
      '999.1.1.1 80 2026-03-05T10:11:12Z',
      '203.0.113.7 80 next tuesday',
      'garbage',
    ].join('\r\n');
    const b = bulkLookup(text, cfg);
    expect(b.error).toBeUndefined();
    expect(b.results.map((r) => [r.line, r.answer?.verdict ?? r.error?.code])).toEqual([
      [2, 'unique'],
      [3, 'unique'],
      [4, 'unique'],
      [5, 'ambiguous'],
      [6, 'ambiguous'],
      [7, 'unique'],
      [10, 'MEGALOG_ERR_QUERY_BAD_PORT'],
      [11, 'MEGALOG_ERR_QUERY_BAD_IP'],
      [12, 'MEGALOG_ERR_QUERY_BAD_TIME'],
      [13, 'MEGALOG_ERR_QUERY_BULK_BAD_LINE'],
    ]);
    expect(b.results[0]!.answer!.candidates[0]!.src_ip).toBe('100.64.0.10');
    expect(b.results[5]!.answer!.candidates[0]!.src_ip).toBe('2001:db8::1');
    expect(b.summary).toEqual({ lines: 10, answered: 6, errors: 4, verdicts: { unique: 4, ambiguous: 2 } });
    for (const r of b.results.filter((x) => x.error)) {
      expect(r.error!.message_pt.length).toBeGreaterThan(0);
      expect(r.error!.message_en.length).toBeGreaterThan(0);
    }
  });

  it('reads a zone-less time in the configured zone, never as UTC', () => {
    const q = parseBulkLine('203.0.113.7 40312 2026-03-05 10:11:12', TZ);
    expect(q).not.toBe('header');
    expect((q as { at: number }).at).toBe(Z('2026-03-05T13:11:12'));
  });

  it('reads the destination a line gives (-> ip[:port], CSV columns 5 and 6) and narrows that line by it', () => {
    expect(parseBulkLine('203.0.113.20:41000 2026-03-05T12:00:10Z -> 198.51.100.80:443', TZ)).toMatchObject({ natIp: '203.0.113.20', natPort: '41000', dstIp: '198.51.100.80', dstPort: '443' });
    expect(parseBulkLine('203.0.113.20,41000,2026-03-05T12:00:10Z,tcp,198.51.100.81,443', TZ)).toMatchObject({ proto: 'tcp', dstIp: '198.51.100.81', dstPort: '443' });
    expect(parseBulkLine('203.0.113.20 41000 2026-03-05T12:00:10Z', TZ)).toMatchObject({ dstIp: null, dstPort: null });
    const a = bulkLookup('203.0.113.20:41000 2026-03-05T12:00:10Z\n203.0.113.20:41000 2026-03-05T12:00:10Z -> 198.51.100.81\n', cfg);
    expect(a.results.map((l) => [l.answer?.verdict, l.answer?.narrowed?.inside_without ?? null])).toEqual([['ambiguous', null], ['unique', 2]]);
  });

  it('refuses a file that is not UTF-8, and one over 50,000 lines, with one clear error', () => {
    const latin1 = Buffer.from('203.0.113.7 40312 2026-03-05T10:11:12Z # ação\n', 'latin1');
    const b = bulkLookup(latin1, cfg);
    expect(b.error?.code).toBe('MEGALOG_ERR_QUERY_BULK_NOT_UTF8');
    expect(b.error?.message_pt).toMatch(/UTF-8/);
    expect(b.results).toEqual([]);
    const big = bulkLookup('203.0.113.7 40312 2026-03-05T10:11:12Z\n'.repeat(50_001), cfg);
    expect(big.error?.code).toBe('MEGALOG_ERR_QUERY_BULK_TOO_MANY_LINES');
    // UTF-8 bytes with a BOM are fine
    const ok = bulkLookup(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('203.0.113.7 40312 2026-03-05T13:11:12Z\n')]), cfg);
    expect(ok.results[0]!.answer!.verdict).toBe('unique');
  });

  it('answers 50,000 lines, one answer each, with the right verdicts', () => {
    const lines: string[] = [];
    const expected = { unique: 0, errors: 0 };
    for (let i = 0; i < 50_000; i++) {
      if (i % 1000 === 999) {
        lines.push(`198.51.100.1:${65536 + i} 2026-03-05T01:00:00Z`);
        expected.errors++;
      } else {
        // inside the 1024-1535 block, allocated 03-04 22:00Z, released 03-05 02:00Z
        lines.push(`198.51.100.1:${1024 + (i % 512)} ${new Date(Z('2026-03-05T00:00:00') + (i % 7000) * 1000).toISOString()}`);
        expected.unique++;
      }
    }
    const b = bulkLookup(Buffer.from(lines.join('\n')), cfg);
    expect(b.error).toBeUndefined();
    expect(b.results).toHaveLength(50_000);
    expect(b.summary).toEqual({ lines: 50_000, answered: expected.unique, errors: expected.errors, verdicts: { unique: expected.unique } });
    expect(b.results.every((r) => (r.answer ? r.answer.candidates[0]!.src_ip === '100.64.1.1' : r.error!.code === 'MEGALOG_ERR_QUERY_BAD_PORT'))).toBe(true);
  });
});

describe('CSV', () => {
  it('guards cells against formula injection and quotes per RFC 4180', () => {
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    for (const s of ['+1', '-1+2', '@SUM(A1)', '\t=1', '\r=1']) expect(csvCell(s).replace(/^"/, '').startsWith("'")).toBe(true);
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"');
    expect(csvCell(null)).toBe('""');
    expect(csvCell(40312)).toBe('"40312"');
    // the ambiguous scenario's first line was sent as =HYPERLINK(…): it reaches the CSV inert
    const a = forensicLookup({ natIp: '203.0.113.7', natPort: 40000, at: Z('2026-03-05T12:00:20') }, cfg);
    const rows = a.candidates.map((c) => csvRow([c.src_ip, c.start, c.raw]).trimEnd());
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain(`"'=HYPERLINK(""http://evil.example/"")"`);
    for (const r of rows) for (const cell of r.split('","')) expect(cell.replace(/^"/, '')).not.toMatch(/^[=+@]/);
  });
});
