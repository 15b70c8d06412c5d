// Nokia 7750 SR / VSR (SR OS) large-scale NAT. NOKIA DOES NOT PUBLISH EXAMPLE LINES: this parser follows the
// field descriptions of the documentation and can be re-shaped at start-up with `configureNokia()` — check it
// against your routers with `megalog parse` before relying on it.
//
// Port blocks (log events 2012 tmnxNatPlBlockAllocationLsn / 2013 tmnxNatPlBlockDeAllocationLsn), documented
// fields: outside IP, first and last port, subscriber, inside IP, router; default reading:
//   … tmnxNatPlBlockAllocationLsn-2012 [NAT]: … Map OUTSIDE [FIRST-LAST] … INSIDE at YYYY/MM/DD HH:MM:SS
//   (the inside address is the last address before ` at `; the trailing time, router-local, wins over the header)
// Flow logs (RFC 3164, `<log-prefix>: <seq> NAT [<MDA>]: <message>`; the message is space-separated):
//   LSN44|NAT64 SADD|SDEL YYYY Mon DD hh:mm:ss:cs TZ <fields…>
//   where <fields…> follows `flowFields` (default: proto inside-ip inside-port outside-ip outside-port
//   foreign-ip foreign-port). Several events may share one message: each starts at its LSN44/NAT64 word.
// Sources: Nokia "Multiservice ISA and ESA Guide", syslog flow logging (message fields table); Nokia log events
// 2012/2013 (tmnxNatPlBlockAllocationLsn). Documentation only.

import { protoName } from '../ip.js';
import type { NatRecord } from '../types.js';
import { ipOf, parseIpLoose, portOf, skipSp, tokEnd } from '../fields.js';
import { monthAt, wallToUtc } from '../time.js';
import { blockRecord, natRecord, type VendorInput, type VendorParser, type VendorVerdict } from '../vendor.js';

const VENDOR = 'nokia';

/** Names of the flow-log fields after the event timestamp. `skip` ignores a token. */
export type NokiaFlowField = 'proto' | 'src_ip' | 'src_port' | 'nat_ip' | 'nat_port' | 'dst_ip' | 'dst_port' | 'skip';

export interface NokiaFormat {
  /** Order of the space-separated flow-log fields after `YYYY Mon DD hh:mm:ss:cs TZ`. */
  flowFields: readonly NokiaFlowField[];
  /** Marker words of a port-block allocation / de-allocation event. */
  blockAllocMarkers: readonly string[];
  blockReleaseMarkers: readonly string[];
}

export const NOKIA_DEFAULT_FORMAT: NokiaFormat = Object.freeze({
  flowFields: Object.freeze(['proto', 'src_ip', 'src_port', 'nat_ip', 'nat_port', 'dst_ip', 'dst_port'] as NokiaFlowField[]),
  blockAllocMarkers: Object.freeze(['tmnxNatPlBlockAllocationLsn', 'tmnxNatPlBlockAllocationL2Aw', '-2012 ']),
  blockReleaseMarkers: Object.freeze(['tmnxNatPlBlockDeAllocationLsn', 'tmnxNatPlBlockDeAllocationL2Aw', '-2013 ']),
});

let format: NokiaFormat = NOKIA_DEFAULT_FORMAT;

/** Replace the Nokia reading (for example from a site's verified sample). Returns the format in force. */
export function configureNokia(f: Partial<NokiaFormat>): NokiaFormat {
  format = Object.freeze({ ...NOKIA_DEFAULT_FORMAT, ...f });
  return format;
}

const STAMP_RE = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d$/;

function findAny(s: string, words: readonly string[], from: number): number {
  for (const w of words) {
    const i = s.indexOf(w, from);
    if (i >= 0) return i;
  }
  return -1;
}

/** ` at YYYY/MM/DD HH:MM:SS` (router-local) → ms in `zone`. */
function trailingTime(s: string, from: number, zone: string): number | null {
  const at = s.lastIndexOf(' at ');
  if (at < from) return null;
  const v = s.slice(at + 4, at + 23);
  if (!STAMP_RE.test(v)) return null;
  return wallToUtc(zone, Number(v.slice(0, 4)), Number(v.slice(5, 7)) - 1, Number(v.slice(8, 10)),
    Number(v.slice(11, 13)), Number(v.slice(14, 16)), Number(v.slice(17, 19)), 0);
}

function block(s: string, from: number, release: boolean, zone: string, time: number | null, host: string | null): VendorVerdict {
  const map = s.indexOf('Map ', from);
  if (map < 0) return null;
  let p = skipSp(s, map + 4);
  const natEnd = tokEnd(s, p);
  const nat = ipOf(s.slice(p, natEnd));
  p = s.indexOf('[', natEnd);
  const close = p < 0 ? -1 : s.indexOf(']', p);
  if (nat === null || close < 0) return null;
  const range = s.slice(p + 1, close);
  const dash = range.indexOf('-');
  const lo = portOf(dash < 0 ? range : range.slice(0, dash));
  const hi = portOf(dash < 0 ? range : range.slice(dash + 1));
  // inside address: the last address-looking token before ` at ` (or the end)
  const at = s.lastIndexOf(' at ');
  const end = at > close ? at : s.length;
  let src: string | null = null;
  for (const tok of s.slice(close + 1, end).split(' ')) {
    const ip = parseIpLoose(tok);
    if (ip !== null) src = ip;
  }
  if (src === null) return null;
  const t = trailingTime(s, close, zone) ?? time;
  return [blockRecord(VENDOR, release ? 'block_release' : 'block_alloc', null, src, nat, lo, hi, t, host)];
}

/** `YYYY Mon DD hh:mm:ss:cs TZ` at p; sets flowTime and returns the index after TZ, or -1. */
let flowTime: number | null = null;
function flowStamp(s: string, p: number, zone: string): number {
  const y = Number(s.slice(p, p + 4));
  if (!(y > 1970) || s.charCodeAt(p + 4) !== 32) return -1;
  const mo = monthAt(s, p + 5);
  if (mo < 0) return -1;
  let q = skipSp(s, p + 8);
  const de = tokEnd(s, q);
  const d = Number(s.slice(q, de));
  q = skipSp(s, de);
  const te = tokEnd(s, q);
  const parts = s.slice(q, te).split(':');
  if (parts.length < 3 || !(d >= 1 && d <= 31)) return -1;
  const h = Number(parts[0]), mi = Number(parts[1]), se = Number(parts[2]);
  const cs = parts.length > 3 ? Number(parts[3]) : 0;
  if (!(Number.isInteger(h) && Number.isInteger(mi) && Number.isInteger(se) && Number.isInteger(cs))) return -1;
  q = skipSp(s, te);
  const ze = tokEnd(s, q);
  const tz = s.slice(q, ze);
  const utc = tz === 'UTC' || tz === 'GMT' || tz === 'Z';
  flowTime = utc ? Date.UTC(y, mo, d, h, mi, se, cs * 10) : wallToUtc(zone, y, mo, d, h, mi, se, cs * 10);
  return ze;
}

function flows(s: string, from: number, zone: string, host: string | null): VendorVerdict {
  const out: NatRecord[] = [];
  let at = nextFlow(s, from);
  while (at >= 0) {
    let p = skipSp(s, tokEnd(s, at));
    const evEnd = tokEnd(s, p);
    const ev = s.slice(p, evEnd);
    if (ev !== 'SADD' && ev !== 'SDEL') return null;
    p = flowStamp(s, skipSp(s, evEnd), zone);
    if (p < 0) return null;
    let proto: string | null = null, src: string | null = null, nat: string | null = null, dst: string | null = null;
    let sport: number | null = null, nport: number | null = null, dport: number | null = null;
    for (const f of format.flowFields) {
      p = skipSp(s, p);
      const e = tokEnd(s, p);
      const tok = s.slice(p, e);
      p = e;
      switch (f) {
        case 'proto': proto = tok ? protoName(tok) : null; break;
        case 'src_ip': src = ipOf(tok); break;
        case 'src_port': sport = portOf(tok); break;
        case 'nat_ip': nat = ipOf(tok); break;
        case 'nat_port': nport = portOf(tok); break;
        case 'dst_ip': dst = ipOf(tok); break;
        case 'dst_port': dport = portOf(tok); break;
        default: break;
      }
    }
    if (src === null || nat === null) return null;
    out.push(natRecord(VENDOR, ev === 'SADD' ? 'session_create' : 'session_close', proto, src, sport, nat, nport, dst, dport, flowTime, host));
    at = nextFlow(s, p);
  }
  return out.length ? out : null;
}

function nextFlow(s: string, from: number): number {
  const a = s.indexOf('LSN44 S', from);
  const b = s.indexOf('NAT64 S', from);
  return a < 0 ? b : b < 0 ? a : Math.min(a, b);
}

export const nokia: VendorParser = {
  name: VENDOR,
  describes: 'SR OS LSN: port-block allocation/de-allocation (events 2012/2013) and LSN44/NAT64 SADD/SDEL flow logs — documentation only, configurable',
  detect(h) {
    const s = h.line;
    return findAny(s, format.blockAllocMarkers, h.restStart) >= 0 || findAny(s, format.blockReleaseMarkers, h.restStart) >= 0 || nextFlow(s, h.restStart) >= 0;
  },
  parse({ h, zone }: VendorInput): VendorVerdict {
    const s = h.line;
    const rel = findAny(s, format.blockReleaseMarkers, h.restStart);
    if (rel >= 0) return block(s, rel, true, zone, h.time, h.host);
    const alloc = findAny(s, format.blockAllocMarkers, h.restStart);
    if (alloc >= 0) return block(s, alloc, false, zone, h.time, h.host);
    return flows(s, h.restStart, zone, h.host);
  },
};
