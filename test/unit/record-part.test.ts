// Packed record parts (src/store/sqlite/part.ts): every column kind round-trips exactly, rows are
// found by port, and a column costs the bits its values need.
import { describe, expect, it } from 'vitest';
import { compareRows, encodeCols, encodePart, Part } from '../../src/store/sqlite/part.js';
import { Cols, sortedOrder } from '../../src/store/sqlite/cols.js';
import { decodeSegment, encodeSegment, portSegments, psetSeg, PSET_SEGS, PSET_SPAN, segmentHas, segmentMark } from '../../src/store/sqlite/port-set.js';
import type { NatRow } from '../../src/store/store.js';

let seed = 11;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed / 2147483648);
const v6 = (k: number) => Buffer.from(`20010db8000000000000000000${k.toString(16).padStart(6, '0')}`, 'hex');

function rows(n: number, shape: 'mixed' | 'sparse'): NatRow[] {
  const out: NatRow[] = [];
  for (let i = 0; i < n; i++) {
    const v6src = shape === 'mixed' && rnd() < 0.1;
    const src = rnd() < 0.05 ? null : v6src ? v6(Math.floor(rnd() * 50)) : 0x64400000 + Math.floor(rnd() * (shape === 'sparse' ? 40 : 2 ** 22));
    out.push({
      nat_ip: 0xcb007101,
      nat_port: rnd() < 0.02 ? -1 : 1024 + Math.floor(rnd() * 64512),
      t: shape === 'sparse' ? Math.floor(rnd() * 3600) * 1000 : Math.floor(rnd() * 3_600_000),
      id: Math.floor(rnd() * 2 ** 20) + (rnd() < 0.05 ? 3 * 2 ** 32 : 0),
      port_end: null,
      src_ip: src,
      src_port: rnd() < 0.1 ? null : Math.floor(rnd() * 65536),
      dst_ip: shape === 'sparse' ? null : Math.floor(rnd() * 2 ** 32),
      dst_port: shape === 'sparse' ? 443 : rnd() < 0.5 ? null : Math.floor(rnd() * 65536),
      code: 65536 + (rnd() < 0.5 ? 6 : 17),
      device: 1 + Math.floor(rnd() * 3),
      // the login a line named: one per subscriber (sparse: a PPPoE concentrator), or scattered ids and nulls
      login: shape === 'sparse' ? (typeof src === 'number' ? 1 + (src % 40) : null) : rnd() < 0.3 ? null : 1 + Math.floor(rnd() * 5000),
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

  it.each(['mixed', 'sparse'] as const)('merge as the writer does: parts read back into columns, sorted once, give the same bytes (%s)', (shape) => {
    // Four sorted pieces (as a level merge reads them), read into one set of columns and sorted:
    // the part written from them is the part written from all the rows sorted as objects.
    const pieces = [rows(300, shape), rows(1, shape), rows(700, shape), rows(48, shape)];
    const cols = new Cols(1);
    for (const piece of pieces) new Part(encodePart(piece)).appendTo(cols);
    expect(cols.n).toBe(1049);
    const merged = cols.permuted(sortedOrder(cols));
    const want = pieces.flat().sort(compareRows);
    expect(encodeCols(merged).equals(encodePart(want))).toBe(true);
    expect(new Part(encodeCols(merged, 100, 600)).rows(0xcb007101)).toEqual(want.slice(100, 600));
    // unsorted input (a commit's records in arrival order): the order is (nat_port, t, id)
    const shuffled = Cols.fromRows([...want].sort(() => rnd() - 0.5));
    expect(new Part(encodeCols(shuffled.permuted(sortedOrder(shuffled)))).rows(0xcb007101)).toEqual(want);
  });

  it('merges a piece of 200,000 IPv6 records (an address a row in the side list)', () => {
    const cols = new Cols(1);
    const n = 200_000;
    for (let i = 0; i < n; i++) cols.push(n - i, 1000, i, cols.ip(v6(i % 7)), 1024, cols.ip(v6(9)), 443, 65536 + 6, 1, NaN);
    expect(cols.blobs.length).toBe(2 * n);
    const p = new Part(encodeCols(cols.permuted(sortedOrder(cols))));
    expect(p.n).toBe(n);
    expect(p.row(0xcb007101, 0)).toMatchObject({ nat_port: 1, src_ip: v6((n - 1) % 7), dst_ip: v6(9), login: null });
  });

  it('keeps dictionary columns whose numbers share their low 32 bits, and one part after another of many distinct values', () => {
    // The writer counts a column's distinct values in a reused open-addressing table (part.ts NumMap):
    // numbers equal modulo 2^32 hash alike, and a table used for a wide column and then a narrow one
    // must forget the first.
    for (const n of [3000, 40, 3000, 5]) {
      const want: NatRow[] = [];
      for (let i = 0; i < n; i++) {
        const k = i % 7;
        want.push({ nat_ip: 0xcb007101, nat_port: 1024 + i, t: i * 1000, id: i + k * 2 ** 32, port_end: null, src_ip: 0x64400000 + k * 2 ** 20, src_port: n > 100 ? i : 7, dst_ip: 0x08080808 + (k % 2) * 2 ** 31, dst_port: 443, code: 65536 + 6, device: 1 + (k % 3), login: 1 + k });
      }
      const part = new Part(encodePart(want));
      expect([...part.rows(0xcb007101)]).toEqual(want);
    }
  });

  it('sorts records by (port, time, id) from any number of sorted runs, call after call, into a reused set', () => {
    // sortedOrder and permuted reuse their arrays (the writer's scratch): each call must stand alone.
    const into = new Cols();
    for (const [n, runs] of [[5000, 1], [5000, 37], [3, 3], [4096, 4096], [1, 1], [9000, 2]] as const) {
      const want = rows(n, 'mixed');
      const cols = new Cols();
      // `runs` sorted runs: rows dealt round-robin keep each run sorted
      for (let r = 0; r < runs; r++) for (let i = r; i < n; i += runs) {
        const x = want[i]!;
        cols.push(x.nat_port, x.t, x.id, cols.ip(x.src_ip), x.src_port ?? NaN, cols.ip(x.dst_ip), x.dst_port ?? NaN, x.code, x.device, x.login ?? NaN);
      }
      const sorted = cols.permuted(sortedOrder(cols), into);
      expect(sorted).toBe(into);
      expect(new Part(encodeCols(sorted)).rows(0xcb007101)).toEqual(want);
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
    const sparse = rows(2000, 'sparse');
    const data = encodePart(sparse);
    // port 16 bits, time 12 (whole seconds), id ≤ 35, inside address 6 (a dictionary of ≤ 40), inside port 17, code 1, device 2,
    // login 6 (a dictionary of ≤ 40, with null)
    expect(data.length / 2000).toBeLessThan(13.5);
    const without = encodePart(sparse.map((r) => ({ ...r, login: null })));
    // one login per inside address (a PPPoE concentrator): the login is kept per address, not per row
    expect((data.length - without.length) / 2000).toBeLessThan(0.25);
  });

  it('keeps logins exactly whether or not each inside address has one login (kind 5 or a plain column)', () => {
    const base = rows(600, 'mixed');
    const byAddress = base.map((r) => ({ ...r, login: typeof r.src_ip === 'number' ? 1 + (r.src_ip % 97) : null }));
    const conflict = byAddress.map((r, i) => (i === 300 ? { ...r, login: (r.login ?? 0) + 1 } : r));
    const v6login = byAddress.map((r) => (Buffer.isBuffer(r.src_ip) ? { ...r, login: 5 } : r));
    for (const want of [byAddress, conflict, v6login]) {
      const p = new Part(encodePart(want));
      expect(p.rows(0xcb007101)).toEqual(want);
    }
  });

  it('keeps each closed hour\'s exact port set: every port found, no other, in the fewest bytes of gaps or bitmap', () => {
    for (const n of [0, 1, 5, 300, 3000, 20_000]) {
      const ports = rows(n, 'mixed').map((r) => r.nat_port);
      const have = new Set(ports.filter((p) => p >= 0));
      const segs = portSegments(ports);
      expect(segs).toHaveLength(PSET_SEGS);
      const wrong: number[] = [];
      for (let p = 0; p < 65536; p++) if (segmentHas(segs[psetSeg(p)]!, p % PSET_SPAN) !== have.has(p)) wrong.push(p);
      expect(wrong).toEqual([]);
      segs.forEach((seg, i) => {
        const offs = decodeSegment(seg);
        expect(offs).toEqual([...have].filter((p) => psetSeg(p) === i).map((p) => p % PSET_SPAN).sort((a, b) => a - b));
        // the mask a reader builds from it marks exactly those offsets
        const masks = new Uint32Array(PSET_SPAN).fill(1);
        segmentMark(seg, masks, 4);
        expect([...masks.keys()].filter((o) => masks[o] === 5)).toEqual(offs);
        expect(masks.every((m) => m === 1 || m === 5)).toBe(true);
        // gaps of ~1 byte while sparse, never more than the 512-byte bitmap
        expect(seg.length).toBeLessThanOrEqual(Math.min(512, 2 * offs.length));
      });
    }
    // the largest offset, and gaps that need two bytes
    expect(decodeSegment(encodeSegment([0, 200, 4095]))).toEqual([0, 200, 4095]);
    expect(segmentHas(encodeSegment([4095]), 4095)).toBe(true);
    expect(segmentHas(encodeSegment([4095]), 4094)).toBe(false);
  });
});
