// IPFIX and NetFlow v9 packets built by hand from RFC 7011 / RFC 3954 and RFC 8158's NAT templates,
// for the decoder's unit tests and the listener's scenario test.
export type Spec = [ie: number, len: number, pen?: number];

export const u16 = (n: number) => Buffer.from([n >> 8, n & 255]);
export const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
export const u64 = (n: number) => Buffer.concat([u32(Math.floor(n / 2 ** 32)), u32(n % 2 ** 32)]);
export const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));

export function set(id: number, body: Buffer): Buffer {
  return Buffer.concat([u16(id), u16(body.length + 4), body]);
}
export function template(id: number, fields: Spec[], v9 = false): Buffer {
  return Buffer.concat([u16(id), u16(fields.length), ...fields.map(([ie, len, pen]) => (pen !== undefined && !v9 ? Buffer.concat([u16(ie | 0x8000), u16(len), u32(pen)]) : Buffer.concat([u16(ie), u16(len)])))]);
}
export function ipfix(sets: Buffer[], domain = 7, exportSec = 1_772_700_000): Buffer {
  const body = Buffer.concat(sets);
  return Buffer.concat([u16(10), u16(body.length + 16), u32(exportSec), u32(1), u32(domain), body]);
}
export function netflow9(sets: Buffer[], sourceId = 3, unixSecs = 1_772_700_000): Buffer {
  return Buffer.concat([u16(9), u16(sets.length), u32(123_456), u32(unixSecs), u32(1), u32(sourceId), ...sets]);
}

// RFC 8158 §4.1: NAT44 session create/delete; §4.6: port block allocation/de-allocation.
export const SESSION: Spec[] = [[230, 1], [323, 8], [8, 4], [225, 4], [4, 1], [7, 2], [227, 2], [12, 4], [11, 2]];
export const BLOCK: Spec[] = [[230, 1], [323, 8], [8, 4], [225, 4], [361, 2], [362, 2]];
export const T0 = Date.parse('2026-03-05T13:11:00Z');

export const session = (event: number, t: number, src: string, sport: number, nat: string, nport: number, dst: string, dport: number) =>
  Buffer.concat([Buffer.from([event]), u64(t), ip4(src), ip4(nat), Buffer.from([6]), u16(sport), u16(nport), ip4(dst), u16(dport)]);
export const block = (event: number, t: number, src: string, nat: string, lo: number, hi: number) => Buffer.concat([Buffer.from([event]), u64(t), ip4(src), ip4(nat), u16(lo), u16(hi)]);

