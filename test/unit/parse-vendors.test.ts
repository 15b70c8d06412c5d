// The shared vendor conformance suite: every fixture line in test/fixtures/vendors/*.jsonl runs through
// parseMessage and the `megalog parse` JSON shape, and must give exactly the expected value.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMessage, VENDORS, IGNORE_REASONS } from '../../src/parse/chain.js';
import { parseLineToJson } from '../../src/commands/parse.js';
import type { ParseContext } from '../../src/parse/types.js';

interface Fixture {
  source: string;
  line: string;
  received: string;
  expect: unknown;
  timezone?: string;
  vendor?: string;
  note?: string;
}

const DIR = join(import.meta.dirname, '..', 'fixtures', 'vendors');
const files = readdirSync(DIR).filter((f) => f.endsWith('.jsonl')).sort();

function load(file: string): Fixture[] {
  return readFileSync(join(DIR, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as Fixture;
      } catch (err) {
        throw new Error(`${file}:${i + 1}: ${(err as Error).message}`);
      }
    });
}

function ctxFor(f: Fixture): ParseContext {
  return {
    receivedAt: Date.parse(f.received),
    peer: null,
    device: f.vendor ? { name: 'fixture', vendor: f.vendor, timezone: null } : null,
    timezone: f.timezone ?? 'UTC',
  };
}

describe('vendor fixtures', () => {
  it('has a fixture file for every registered vendor', () => {
    const names = new Set(files.map((f) => f.replace(/\.jsonl$/, '')));
    for (const v of VENDORS) expect(names, `fixture file for ${v.name}`).toContain(v.name);
  });

  for (const file of files) {
    const vendor = file.replace(/\.jsonl$/, '');
    const fixtures = load(file);
    describe(vendor, () => {
      it('fixtures name their source and include at least one record', () => {
        for (const f of fixtures) expect(f.source, f.line).toMatch(/\S/);
        // A source must be one a reader can follow (URL, project + path, or document title), not an internal search-index id.
        for (const f of fixtures) expect(f.source, f.line).not.toMatch(/code index id/i);
        expect(fixtures.some((f) => f.expect !== null && typeof f.expect === 'object' && !('ignored' in (f.expect as object)))).toBe(true);
      });
      fixtures.forEach((f, i) => {
        it(`line ${i + 1}: ${f.note ?? f.line.slice(0, 70)}`, () => {
          const ctx = ctxFor(f);
          const r = parseMessage(f.line, ctx);
          if (f.expect === 'unparsed') {
            expect(r.kind, JSON.stringify(r)).toBe('unparsed');
          } else if (f.expect !== null && typeof f.expect === 'object' && 'ignored' in (f.expect as object)) {
            expect(r).toMatchObject({ kind: 'ignored', vendor, reason: (f.expect as { ignored: string }).ignored });
            expect(IGNORE_REASONS).toContain((r as { reason: string }).reason);
          } else {
            expect(r.kind, JSON.stringify(r)).toBe('records');
            if (r.kind === 'records') expect(r.vendor).toBe(vendor);
            expect(parseLineToJson(f.line, ctx)).toEqual(f.expect);
          }
        });
      });
    });
  }
});
