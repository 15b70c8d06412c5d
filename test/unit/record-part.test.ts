// Packed record parts (src/store/sqlite/part.ts): every column kind round-trips exactly, rows are
// found by port, and a column costs the bits its values need.
import { describe, expect, it } from 'vitest';
import { compareRows, encodePart, mayHold, Part, portFilter } from '../../src/store/sqlite/part.js';
import type { NatRow } from '../../src/store/store.js';

let seed = 11;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed / 2147483648);
const v6 = (k: number) => Buffer.from(`20010db8000000000000000000${k.toString(16).padStart(6, '0')}`, 'hex');

function rows(n: number, shape: 'mixed' | 'sparse'): NatRow[] {
  const out: NatRow[] = [];
  for (let i = 0; i < n; i++) {
    const v6src = shape === 'mixed' && rnd() < 0.1;
    out.push({
      nat_ip: 0xcb007101,
      nat_port: rnd() < 0.02 ? -1 : 1024 + Math.floor(rnd() * 64512),
      t: shape === 'sparse' ? Math.floor(rnd() * 3600) * 1000 : Math.floor(rnd() * 3_600_000),
      id: Math.floor(rnd() * 2 ** 20) + (rnd() < 0.05 ? 3 * 2 ** 32 : 0),
      port_end: null,
      src_ip: rnd() < 0.05 ? null : v6src ? v6(Math.floor(rnd() * 50)) : 0x64400000 + Math.floor(rnd() * (shape === 'sparse' ? 40 : 2 ** 22)),
      src_port: rnd() < 0.1 ? null : Math.floor(rnd() * 65536),
      dst_ip: shape === 'sparse' ? null : Math.floor(rnd() * 2 ** 32),
      dst_port: shape === 'sparse' ? 443 : rnd() < 0.5 ? null : Math.floor(rnd() * 65536),
      code: 65536 + (rnd() < 0.5 ? 6 : 17),
      device: 1 + Math.floor(rnd() * 3),
    });
  }
  return out.sort(compareRows);
}

describe('record parts', () => {
  it.each(['mixed', 'sparse'] as const)('give back every row exactly (%s columns)', (shape) => {
    for (const n of [1, 2, 7, 300, 2048]) {
      const want = rows(n, shape);
      const p = new Part(encodePart(want));
      expect(p.n).toBe(n);
      expect(p.rows(0xcb007101)).toEqual(want);
    }
  });

  it('finds the rows of a port by binary search', () => {
    const want = rows(1000, 'mixed');
    const p = new Part(encodePart(want));
    for (const port of [-1, 1024, want[500]!.nat_port, 65535, 70000]) {
      const at = p.lowerBound(port);
      expect(at).toBe(want.findIndex((r) => r.nat_port >= port) === -1 ? want.length : want.findIndex((r) => r.nat_port >= port));
    }
  });

  it('costs the bits the values need: a sparse hour of one address is a few bytes a record', () => {
    const data = encodePart(rows(2000, 'sparse'));
    // port 16 bits, time 12 (whole seconds), id ≤ 35, inside address 6 (a dictionary of ≤ 40), inside port 17, code 1, device 2
    expect(data.length / 2000).toBeLessThan(12.5);
  });

  it('keeps a port filter that never misses a port of the part and lets few others through', () => {
    for (const n of [1, 5, 256]) {
      const part = rows(n, 'mixed').filter((r) => r.nat_port >= 0);
      const f = portFilter(part);
      const lo = part[0]!.nat_port;
      const hi = part.at(-1)!.nat_port;
      for (const r of part) expect(mayHold(f, lo, hi, r.nat_port)).toBe(true);
      expect(mayHold(f, lo, hi, lo - 1)).toBe(false);
      expect(mayHold(f, lo, hi, hi + 1)).toBe(false);
      if (n === 256) {
        // a part of 256 records over 4,096 ports (a 10 M day's hour of one address): ~10 % pass
        const dense = part.map((r, i) => ({ ...r, nat_port: 20_000 + ((i * 16 + (r.id % 16)) % 4096) })).sort(compareRows);
        const g = portFilter(dense);
        const have = new Set(dense.map((r) => r.nat_port));
        let pass = 0;
        let absent = 0;
        for (let p = 20_000; p < 24_096; p++) {
          if (have.has(p)) continue;
          absent++;
          if (mayHold(g, dense[0]!.nat_port, dense.at(-1)!.nat_port, p)) pass++;
        }
        expect(pass / absent).toBeLessThan(0.2);
      }
    }
  });
});
