// Validation of what an analyst types: addresses, ports, windows, protocols. Each returns the
// canonical value or throws a QueryError naming the field.
import { isIPv4, isIPv6 } from 'node:net';
import { mappedIPv4 } from '../parse/ip.js';
import { ipFromDb, ipToDb, protoCode, PROTO_OTHER } from '../store/codes.js';
import { QueryError } from './errors.js';

/**
 * Canonical text of an IPv4/IPv6 address (IPv6 compressed lowercase, as stored), or throw. An
 * IPv4-mapped IPv6 address (`::ffff:203.0.113.5`) is its IPv4 address: records keep IPv4 as IPv4, so
 * searching the mapped form would find nothing and answer no_data.
 */
export function parseIp(text: unknown, field = 'ip'): string {
  const s = typeof text === 'string' ? text.trim() : '';
  const bare = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  if (!bare || bare.length > 45 || !(isIPv4(bare) || isIPv6(bare)) || bare.includes('%')) {
    throw new QueryError('MEGALOG_ERR_QUERY_BAD_IP', s, field);
  }
  return ipFromDb(ipToDb(mappedIPv4(bare) ?? bare))!;
}

/** A port 0–65535 given as a number or decimal text; empty/null/undefined → null. */
export function parsePort(v: unknown, field = 'port'): number | null {
  if (v == null || v === '') return null;
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  if (!/^\d{1,5}$/.test(s) || Number(s) > 65535) throw new QueryError('MEGALOG_ERR_QUERY_BAD_PORT', String(v), field);
  return Number(s);
}

/** Whole seconds 0–`max`; empty → `dflt`. */
export function parseWindow(v: unknown, dflt: number, max: number, field = 'window'): number {
  if (v == null || v === '') return dflt;
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  if (!/^\d{1,9}$/.test(s)) throw new QueryError('MEGALOG_ERR_QUERY_BAD_WINDOW', String(v), field);
  const n = Number(s);
  if (n > max) throw new QueryError('MEGALOG_ERR_QUERY_RANGE_TOO_LONG', `${n} s > ${max} s`, field);
  return n;
}

/** Lowercase protocol name or IANA number (tcp, udp, icmp, gre, 6, 17…); empty/`any` → null. */
export function parseProto(v: unknown, field = 'proto'): string | null {
  if (v == null || v === '') return null;
  const s = typeof v === 'string' ? v.trim().toLowerCase() : typeof v === 'number' ? String(v) : '';
  if (s === '' || s === 'any' || s === '*') return null;
  if (!/^[a-z0-9-]{1,12}$/.test(s) || protoCode(s) === PROTO_OTHER || (/^\d+$/.test(s) && Number(s) > 255)) {
    throw new QueryError('MEGALOG_ERR_QUERY_BAD_PROTO', String(v), field);
  }
  return s;
}
