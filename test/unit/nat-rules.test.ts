// Deterministic NAT rule sets (src/rules/): the three formats read into the same mappings, bad or
// clashing lines refused with their number, and the rules in force at T answering a search that no
// log covers — or checked against the logs that do.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forensicLookup, type QueryConfig } from '../../src/query/engine.js';
import { overlaps, parseRules, PROTO_ANY, PROTO_TCP, PROTO_UDP } from '../../src/rules/parse.js';
import { RulesDb } from '../../src/rules/store.js';
import { ipToDb } from '../../src/store/codes.js';
import { buildWorld, Z } from '../fixtures/query/world.js';

const ip = (s: string) => ipToDb(s) as number;

const ROUTEROS = `# jan/02/2026 10:00:00 by RouterOS 7.16
/ip firewall nat
add action=jump chain=srcnat jump-target=CGNAT-0 src-address=100.64.0.0-100.64.0.3
add action=netmap chain=CGNAT-0 protocol=tcp src-address=100.64.0.0 to-addresses=198.51.100.9 to-ports=1024-17023
add action=netmap chain=CGNAT-0 protocol=udp src-address=100.64.0.0 to-addresses=198.51.100.9 to-ports=1024-17023
add action=netmap chain=CGNAT-0 src-address=100.64.0.0 to-addresses=198.51.100.9
add action=netmap chain=CGNAT-0 comment="cliente 1" protocol=tcp src-address=100.64.0.1 \\
    to-addresses=198.51.100.9 to-ports=17024-33023
add action=netmap chain=CGNAT-0 disabled=yes protocol=tcp src-address=100.64.0.2 to-addresses=198.51.100.9 to-ports=33024-49023
add action=netmap chain=CGNAT-1 protocol=tcp src-address=100.64.1.0/30 to-addresses=198.51.100.16/30 to-ports=1024-65535
`;

describe('rule formats', () => {
  it('reads a RouterOS export: per-address rules, wrapped lines, prefix netmaps; skips what names no port', () => {
    const p = parseRules(ROUTEROS, 'routeros');
    expect(p.errors).toEqual([]);
    expect(p.skipped).toBe(3); // the jump, the rule without to-ports, the disabled one
    expect(p.rows).toEqual([
      { natIp: ip('198.51.100.9'), portLo: 1024, portHi: 17023, inside: ip('100.64.0.0'), proto: PROTO_TCP, line: 4 },
      { natIp: ip('198.51.100.9'), portLo: 1024, portHi: 17023, inside: ip('100.64.0.0'), proto: PROTO_UDP, line: 5 },
      { natIp: ip('198.51.100.9'), portLo: 17024, portHi: 33023, inside: ip('100.64.0.1'), proto: PROTO_TCP, line: 7 },
      ...[0, 1, 2, 3].map((k) => ({ natIp: ip('198.51.100.16') + k, portLo: 1024, portHi: 65535, inside: ip('100.64.1.0') + k, proto: PROTO_TCP, line: 10 })),
    ]);
  });

  it('reads a table in either column layout and names bad lines', () => {
    const p = parseRules('# inside public ports\n100.64.0.5 198.51.100.9 2000-2999 udp\n100.64.0.6,198.51.100.9,3000,3999\n', 'table');
    expect(p.rows).toEqual([
      { inside: ip('100.64.0.5'), natIp: ip('198.51.100.9'), portLo: 2000, portHi: 2999, proto: PROTO_UDP, line: 2 },
      { inside: ip('100.64.0.6'), natIp: ip('198.51.100.9'), portLo: 3000, portHi: 3999, proto: PROTO_ANY, line: 3 },
    ]);
    const bad = parseRules('100.64.0.5 198.51.100.9 2000-2999\n100.64.0.x 198.51.100.9 1-2\n100.64.0.7 198.51.100.9 9-70000\n100.64.0.8 198.51.100.9 1-2 icmp\n', 'table');
    expect(bad.errors).toEqual([
      'line 2: inside address "100.64.0.x" is not an IPv4 address',
      'line 3: ports "9-70000" is not a port range within 1-65535',
      'line 4: protocol "icmp": only tcp and udp carry ports',
    ]);
  });

  it('expands a formula, sequential and spread, and refuses one that does not fit', () => {
    const seq = parseRules('inside=100.64.0.0/30 public=198.51.100.0/31 ports=1024-5023 block=2000', 'formula').rows;
    expect(seq.map((r) => [r.inside - ip('100.64.0.0'), r.natIp - ip('198.51.100.0'), r.portLo, r.portHi])).toEqual([
      [0, 0, 1024, 3023],
      [1, 0, 3024, 5023],
      [2, 1, 1024, 3023],
      [3, 1, 3024, 5023],
    ]);
    const spread = parseRules('inside=100.64.0.0/30 public=198.51.100.0/31 ports=1024-5023 block=2000 order=spread', 'formula').rows;
    expect(spread.map((r) => [r.inside - ip('100.64.0.0'), r.natIp - ip('198.51.100.0'), r.portLo])).toEqual([
      [0, 0, 1024],
      [1, 1, 1024],
      [2, 0, 3024],
      [3, 1, 3024],
    ]);
    expect(parseRules('inside=100.64.0.0/29 public=198.51.100.0/31 ports=1024-5023 block=2000', 'formula').errors[0]).toMatch(/8 inside addresses need 8 blocks .* hold 4/);
  });

  it('finds two inside addresses given the same public port', () => {
    const p = parseRules('100.64.0.5 198.51.100.9 2000-2999 tcp\n100.64.0.6 198.51.100.9 2500-3499\n100.64.0.7 198.51.100.9 3500-3999 udp\n', 'table');
    expect(overlaps(p.rows)).toEqual(['lines 1 and 2 give the same public port to two inside addresses']);
    expect(overlaps(parseRules('100.64.0.5 198.51.100.9 2000-2999 tcp\n100.64.0.6 198.51.100.9 2000-2999 udp\n', 'table').rows)).toEqual([]);
  });
});

describe('answers from the rules in force', () => {
  let dir: string;
  let cfg: QueryConfig;
  const T1 = Z('2026-03-01T00:00:00');
  const T2 = Z('2026-03-05T14:00:00');
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'megalog-rules-'));
    cfg = { cold_storage_dir: buildWorld(dir), timezone: 'America/Sao_Paulo' };
    const db = RulesDb.open(cfg.cold_storage_dir);
    const add = (text: string, from: number, to: number | null, caseRef: string) =>
      db.add({ imported_at: 0, imported_by: 'test', case_ref: caseRef, format: 'table', file_name: `${caseRef}.txt`, valid_from: from, valid_to: to }, Buffer.from(text), parseRules(text, 'table').rows);
    // The first set: 198.51.100.9 (never in a log) and 203.0.113.7 (logged: 40312 held by 100.64.0.10 at 13:11Z).
    add('# first\n100.64.0.50 198.51.100.9 1024-2047 tcp\n100.64.0.10 203.0.113.7 40000-40999\n', T1, T2, 'CHG-1');
    // From T2 on, the port block moved to another subscriber.
    add('100.64.0.51 198.51.100.9 1024-2047 tcp\n100.64.0.99 203.0.113.7 40000-40999\n', T2, null, 'CHG-2');
    db.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers from the set in force at T when no log covers it, quoting the rule', () => {
    const a = forensicLookup({ natIp: '198.51.100.9', natPort: 1500, at: Z('2026-03-05T10:00:00') }, cfg);
    expect(a.verdict).toBe('unique');
    expect(a.rules).toMatchObject({ basis: 'rules', check: null, inside: ['100.64.0.50'], set: { id: 1, case_ref: 'CHG-1' } });
    expect(a.rules!.set.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a.candidates).toMatchObject([{ src_ip: '100.64.0.50', nat_port_start: 1024, nat_port_end: 2047, proto: 'tcp', kind: 'rules', raw: '100.64.0.50 198.51.100.9 1024-2047 tcp' }]);
    // the rules of the time asked, never today's
    expect(forensicLookup({ natIp: '198.51.100.9', natPort: 1500, at: Z('2026-03-06T10:00:00') }, cfg).candidates[0]!.src_ip).toBe('100.64.0.51');
    // before any set, outside every range, or another protocol: no rule answers
    expect(forensicLookup({ natIp: '198.51.100.9', natPort: 1500, at: Z('2026-02-01T10:00:00') }, cfg)).toMatchObject({ verdict: 'no_data' });
    expect(forensicLookup({ natIp: '198.51.100.9', natPort: 3000, at: Z('2026-03-05T10:00:00') }, cfg).rules).toBeUndefined();
    expect(forensicLookup({ natIp: '198.51.100.9', natPort: 1500, at: Z('2026-03-05T10:00:00'), proto: 'udp' }, cfg).verdict).toBe('no_data');
  });

  it('checks the logs against the rules where both exist', () => {
    const agrees = forensicLookup({ natIp: '203.0.113.7', natPort: 40312, at: Z('2026-03-05T13:11:12') }, cfg);
    expect(agrees).toMatchObject({ verdict: 'unique', rules: { basis: 'logs', check: 'agrees', inside: ['100.64.0.10'] } });
    expect(agrees.candidates[0]).toMatchObject({ src_ip: '100.64.0.10', kind: 'session' });
    // from 15:00Z the logs show 100.64.0.99 on 40312 (reuse); the first set no longer applies, the second agrees
    const later = forensicLookup({ natIp: '203.0.113.7', natPort: 40312, at: Z('2026-03-05T15:02:00') }, cfg);
    expect(later.candidates.map((c) => c.src_ip)).toEqual(['100.64.0.99']);
    expect(later.rules).toMatchObject({ basis: 'logs', check: 'agrees', set: { id: 2 } });
    // 40000 at 12:00:20Z: the logs name .20 and .21, the rules .10
    expect(forensicLookup({ natIp: '203.0.113.7', natPort: 40000, at: Z('2026-03-05T12:00:20') }, cfg).rules).toMatchObject({ basis: 'logs', check: 'disagrees', inside: ['100.64.0.10'] });
  });
});
