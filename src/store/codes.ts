// Small integer codes and compact address encodings shared by the stores and the query layer.
import { isIPv4, isIPv6 } from 'node:net';
import { EVENT_KINDS, type EventKind } from '../parse/types.js';

const PROTO_NUM: Record<string, number> = { icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmpv6: 58, 'ipv6-icmp': 58, sctp: 132, udplite: 136 };
const PROTO_NAME = new Map<number, string>(Object.entries(PROTO_NUM).map(([k, v]) => [v, k]));
PROTO_NAME.set(58, 'icmpv6');
export const PROTO_NONE = 511;
export const PROTO_OTHER = 510;

export function protoCode(p: string | null): number {
  if (p == null) return PROTO_NONE;
  const n = PROTO_NUM[p];
  if (n !== undefined) return n;
  return /^\d{1,3}$/.test(p) && Number(p) < 256 ? Number(p) : PROTO_OTHER;
}

export function protoName(c: number): string | null {
  if (c === PROTO_NONE) return null;
  if (c === PROTO_OTHER) return 'other';
  return PROTO_NAME.get(c) ?? String(c);
}

export function eventCode(e: EventKind): number {
  return EVENT_KINDS.indexOf(e);
}

export function eventName(c: number): EventKind {
  return EVENT_KINDS[c] ?? 'session_create';
}

/** IPv4 → integer; IPv6 → 16-byte Buffer; anything else → null. */
export function ipToDb(ip: string | null): number | Buffer | null {
  if (ip == null) return null;
  if (isIPv4(ip)) {
    let n = 0;
    let part = 0;
    for (let i = 0; i < ip.length; i++) {
      const c = ip.charCodeAt(i);
      if (c === 46) {
        n = n * 256 + part;
        part = 0;
      } else part = part * 10 + (c - 48);
    }
    return n * 256 + part;
  }
  if (isIPv6(ip)) return ipv6ToBuffer(ip);
  return null;
}

/** ipToDb with a fast path for plain dotted-quad IPv4, without isIPv4 (the commit paths: 3 calls a record). */
export function ipToDbFast(ip: string | null): number | Buffer | null {
  if (ip == null) return null;
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return ipToDb(ip);
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3 && !(digits > 0 && part === 0)) {
      part = part * 10 + (c - 48);
      if (part > 255) return ipToDb(ip);
      digits++;
    } else return ipToDb(ip);
  }
  if (dots !== 3 || digits === 0) return ipToDb(ip);
  return n * 256 + part;
}

/** A map key for an address as the store keeps it (IPv4 number, IPv6 bytes). */
export function ipKey(ip: number | Buffer): string {
  return typeof ip === 'number' ? String(ip) : ip.toString('hex');
}

export function ipFromDb(v: unknown): string | null {
  if (typeof v === 'number' || typeof v === 'bigint') {
    const n = Number(v);
    return `${Math.floor(n / 16777216) & 255}.${Math.floor(n / 65536) & 255}.${Math.floor(n / 256) & 255}.${n & 255}`;
  }
  if (v instanceof Uint8Array && v.length === 16) {
    const parts: string[] = [];
    for (let i = 0; i < 16; i += 2) parts.push(((v[i]! << 8) | v[i + 1]!).toString(16));
    return compressV6(parts);
  }
  return null;
}

function ipv6ToBuffer(ip: string): Buffer {
  const buf = Buffer.alloc(16);
  let s = ip.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = ipToDb(v4[1]!) as number;
    s = s.slice(0, -v4[1]!.length) + `${Math.floor(n / 65536).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':').map((x) => parseInt(x, 16)) : [];
  const t = tail ? tail.split(':').map((x) => parseInt(x, 16)) : [];
  const words = tail !== undefined ? [...h, ...new Array(Math.max(0, 8 - h.length - t.length)).fill(0), ...t] : h;
  for (let i = 0; i < 8; i++) buf.writeUInt16BE((words[i] ?? 0) & 0xffff, i * 2);
  return buf;
}

function compressV6(parts: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return parts.join(':');
  return `${parts.slice(0, best).join(':')}::${parts.slice(best + bestLen).join(':')}`;
}

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

let lastDay = { start: NaN, name: '' };

/** UTC day of a time, as `YYYY-MM-DD` (computed from a number: never from input text). */
export function dayOf(ms: number): string {
  // Called once a record on the commit path, nearly always for the same day as the last call.
  const start = Math.floor(ms / DAY_MS) * DAY_MS;
  if (start !== lastDay.start) lastDay = { start, name: new Date(start).toISOString().slice(0, 10) };
  return lastDay.name;
}

export function dayStart(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

export const DAY_FILE_RE = /^(\d{4}-\d{2}-\d{2})\.db$/;

/** Summary class of a nat row's protocol (code % 1024). */
export function portClass(proto: number): 0 | 1 | 2 {
  return proto === 6 ? 0 : proto === 17 ? 1 : 2;
}

/** Classes a protocol filter reads (rows of protocol `want` or none; null: all). */
export function classesFor(want: number | null): (0 | 1 | 2)[] {
  if (want == null) return [0, 1, 2];
  const c = portClass(want);
  return want === PROTO_NONE || c === 2 ? [2] : [c, 2];
}

/** Whether a nat row is a port block (a range, or a block event without one). */
export function isBlockRow(blockEnd: number | null, code: number): boolean {
  const event = Math.floor((code % 65536) / 1024);
  return blockEnd != null || event === 2 || event === 3;
}
