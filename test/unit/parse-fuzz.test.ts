// Property tests: random bytes and mutated vendor lines through the header parser and the whole chain.
// Nothing throws; every input ends as records, ignored (with a declared reason) or unparsed; records are well
// formed; adversarial 64 KiB lines finish (no catastrophic backtracking: the vitest timeout is the bound).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IGNORE_REASONS, parseMessage, VENDORS } from '../../src/parse/chain.js';
import { parseHeader } from '../../src/parse/syslog.js';
import { parseIP } from '../../src/parse/ip.js';
import { EVENT_KINDS, type ParseContext, type ParseResult } from '../../src/parse/types.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'vendors');
const LINES: string[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.jsonl'))
  .flatMap((f) => readFileSync(join(DIR, f), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => (JSON.parse(l) as { line: string }).line));

const VENDOR_NAMES = new Set(VENDORS.map((v) => v.name));
const ctx: ParseContext = { receivedAt: Date.parse('2025-06-01T12:00:00Z'), peer: null, device: null, timezone: 'America/Sao_Paulo' };

function isPort(p: number | null): boolean {
  return p === null || (Number.isInteger(p) && p >= 0 && p <= 65535);
}

/** Every invariant of a ParseResult. */
function checkResult(r: ParseResult): void {
  expect(['records', 'ignored', 'unparsed']).toContain(r.kind);
  expect(r.time === null || Number.isFinite(r.time)).toBe(true);
  if (r.kind === 'ignored') {
    expect(IGNORE_REASONS).toContain(r.reason);
    expect(VENDOR_NAMES.has(r.vendor)).toBe(true);
  }
  if (r.kind === 'records') {
    expect(r.records.length).toBeGreaterThan(0);
    for (const x of r.records) {
      expect(x.vendor).toBe(r.vendor);
      expect(EVENT_KINDS).toContain(x.event);
      expect(x.nat_ip).not.toBeNull();
      expect(parseIP(x.nat_ip as string)).toBe(x.nat_ip);
      if (x.src_ip !== null) expect(parseIP(x.src_ip)).toBe(x.src_ip);
      if (x.dst_ip !== null) expect(parseIP(x.dst_ip)).toBe(x.dst_ip);
      for (const p of [x.src_port, x.nat_port, x.nat_port_start, x.nat_port_end, x.dst_port]) expect(isPort(p)).toBe(true);
      expect(x.time === null || Number.isFinite(x.time)).toBe(true);
      expect(x.proto === null || x.proto === x.proto.toLowerCase()).toBe(true);
    }
  }
}

type Mutation = { kind: 'delete' | 'insert' | 'dup' | 'replace' | 'truncate'; at: number; len: number; text: string };

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('delete', 'insert', 'dup', 'replace', 'truncate'),
  at: fc.nat(),
  len: fc.integer({ min: 1, max: 24 }),
  text: fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.constantFrom(' ', ':', '[', ']', '"', '=', ',', '->', '(', ')', '<', '>', '/', '%', '.', '999', '-1', '65536', '1092', '\u0000', '\uFEFF', '\r\n'),
  ),
});

function mutate(line: string, ms: Mutation[]): string {
  let s = line;
  for (const m of ms) {
    const at = s.length === 0 ? 0 : m.at % (s.length + 1);
    switch (m.kind) {
      case 'delete': s = s.slice(0, at) + s.slice(at + m.len); break;
      case 'insert': s = s.slice(0, at) + m.text + s.slice(at); break;
      case 'dup': s = s.slice(0, at + m.len) + s.slice(at, at + m.len) + s.slice(at + m.len); break;
      case 'replace': s = s.slice(0, at) + m.text + s.slice(at + m.text.length); break;
      case 'truncate': s = s.slice(0, at); break;
    }
  }
  return s;
}

describe('parse fuzz', () => {
  it('header parser never throws on random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: 'binary' }), fc.oneof(fc.constantFrom(ctx.receivedAt, Date.parse('2026-01-01T00:00:01Z')), fc.integer({ min: 0, max: 4_102_444_800_000 })), (s, recv) => {
        const h = parseHeader(s, 'America/Sao_Paulo', recv);
        expect(h.msgStart).toBeGreaterThanOrEqual(0);
        expect(h.msgStart).toBeLessThanOrEqual(h.line.length);
        expect(h.time === null || Number.isFinite(h.time)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('the chain classifies random bytes without throwing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400, unit: 'binary' }), (s) => {
        checkResult(parseMessage(s, ctx));
      }),
      { numRuns: 3000 },
    );
  });

  it('the chain classifies mutated vendor lines without throwing, and records stay well formed', () => {
    fc.assert(
      fc.property(fc.constantFrom(...LINES), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (line, ms) => {
        checkResult(parseMessage(mutate(line, ms), ctx));
      }),
      { numRuns: 6000 },
    );
  });

  it('every prefix of every fixture line (truncated datagrams) classifies cleanly', () => {
    let n = 0;
    for (const line of LINES) {
      for (let k = 0; k <= line.length; k++) {
        checkResult(parseMessage(line.slice(0, k), ctx));
        n++;
      }
    }
    expect(n).toBeGreaterThan(LINES.length);
  });

  it('vendor pins and odd zones never throw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...LINES),
        fc.constantFrom(null, 'mikrotik', 'cisco', 'juniper', 'nope', 'hillstone', 'FORTIGATE'),
        fc.constantFrom('UTC', 'America/Sao_Paulo', 'Asia/Kolkata', 'Not/AZone', 'America/St_Johns'),
        (line, vendor, tz) => {
          checkResult(parseMessage(line, { ...ctx, device: vendor === null ? null : { name: 'd', vendor, timezone: tz }, timezone: tz }));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('adversarial 64 KiB lines finish (no catastrophic backtracking)', { timeout: 30_000 }, () => {
    const K = 64 * 1024;
    const fill = (unit: string, prefix = ''): string => prefix + unit.repeat(Math.ceil((K - prefix.length) / unit.length)).slice(0, K - prefix.length);
    const cases = [
      fill('a'),
      fill(' '),
      fill('='),
      fill('[', '<134>1 2024-01-01T00:00:00Z h a p m '),
      fill('[a b="', '<134>1 2024-01-01T00:00:00Z h a p m '),
      fill(': in:'),
      fill(' proto ', 'firewall,info forward: in:x out:y, '),
      fill(', NAT (', 'firewall,info forward: in:x out:y, proto TCP, 1.1.1.1:1->2.2.2.2:2'),
      fill('1.1.1.1:1->'),
      fill('NAT-TCP-C: 1.1.1.1:1<-->2.2.2.2:2 '),
      fill('NAT-UDP-C: 1.1.1.1:1<-->2.2.2.2:2 '),
      fill('CEF:0|A10|x|y|CGN 100|n|5|src=1.1.1.1 '),
      fill('CEF:0|MikroTik|x|y|1|firewall,info|Low|msg=a=b'),
      fill('[UserbasedA - 1.1.1.1 v - 2.2.2.2 - 1 2]'),
      fill('NAT444:SessionbasedA [6 1.1.1.1 - 2.2.2.2 1 2 -]'),
      fill('LSN_ADD 1.1.1.1%0:1 6 2.2.2.2%0:2 3.3.3.3 4 '),
      fill('logid= type=traffic srcip=1.1.1.1 '),
      fill(',TRAFFIC,'),
      fill('"', '1,2024/01/01 00:00:00,1,TRAFFIC,end,'),
      fill(' src=1.1.1.1', '[NEW] tcp 6 '),
      fill('XSADDR="1.1.1.1" '),
      fill('%ASA-6-305011: Built dynamic TCP translation from a:'),
      fill('RT_FLOW_SESSION_CREATE: session created '),
      fill('JSERVICES_NAT_PORT_BLOCK_ALLOC: '),
      fill('LSN44 SADD 2024 Jan 01 00:00:00:00 UTC '),
      fill('Map 1.1.1.1 [1-2] tmnxNatPlBlockAllocationLsn '),
      fill('1:'),
      fill('Jan  1 00:00:00 h '),
      fill('<1>'),
      fill('::ffff:'),
      fill('\\'),
    ];
    let n = 0;
    for (const line of cases) {
      checkResult(parseMessage(line, ctx));
      parseHeader(line, 'UTC', ctx.receivedAt);
      n++;
    }
    expect(n).toBe(cases.length);
  });
});
