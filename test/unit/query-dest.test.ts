// The destination filter (query/dest.ts): a record is left out only when its line names another destination.
import { describe, expect, it } from 'vitest';
import { destinationFilter, parseDestination } from '../../src/query/dest.js';
import { QueryError } from '../../src/query/errors.js';
import { ipToDb } from '../../src/store/codes.js';
import type { NatRow } from '../../src/store/store.js';

const row = (dst: string | null, port: number | null): NatRow => ({ nat_ip: 1, nat_port: 1, t: 0, id: 0, port_end: null, src_ip: 2, src_port: 3, dst_ip: dst == null ? null : ipToDb(dst), dst_port: port, code: 0, device: 1 });

describe('destination filter', () => {
  it('keeps the records to the destination, and those whose line names none', () => {
    const keep = destinationFilter(parseDestination('198.51.100.80', '443')!);
    expect([row('198.51.100.80', 443), row('198.51.100.81', 443), row('198.51.100.80', 80), row(null, null), row('198.51.100.80', null)].map(keep)).toEqual([true, false, false, true, true]);
  });
  it('compares IPv6 destinations by value, whatever the spelling', () => {
    const keep = destinationFilter(parseDestination('2001:DB8::0:1', null)!);
    expect([row('2001:db8::1', 443), row('2001:db8::2', 443), row('198.51.100.80', 443)].map(keep)).toEqual([true, false, false]);
  });
  it('is absent without a destination, and refuses a bad one naming the field', () => {
    expect(parseDestination('', '')).toBeNull();
    expect(parseDestination(null, undefined)).toBeNull();
    expect(parseDestination(null, '443')).toEqual({ dst_ip: null, dst_port: 443 });
    expect(() => parseDestination('1.2.3', null)).toThrow(QueryError);
    try {
      parseDestination(null, '70000');
    } catch (e) {
      expect((e as QueryError).field).toBe('dst_port');
    }
  });
});
