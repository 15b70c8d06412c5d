// Palo Alto PAN-OS TRAFFIC logs (CSV over syslog; quoted fields may hold commas). Positions (0-based) from the
// PAN-OS syslog field descriptions: 3 type, 4 subtype (start/end/drop/deny), 6 generated time, 7 source,
// 8 destination, 9 NAT source, 10 NAT destination, 24 source port, 25 destination port, 26 NAT source port,
// 27 NAT destination port, 12 source user, 29 protocol, 30 action, 35 session start time, 36 elapsed seconds.
// A session end log yields the creation (start time) and the close (generated time). NAT source 0.0.0.0 means no
// source translation (typical of denies). Times are firewall-local: read in the device zone.
// Sources: PAN-OS syslog field descriptions; real TRAFFIC lines quoted in public parsers (see fixtures).

import { protoName } from '../ip.js';
import type { NatRecord } from '../types.js';
import { ipOf, portOf } from '../fields.js';
import { wallToUtc } from '../time.js';
import { loginOf } from '../login.js';
import { natRecord, type VendorInput, type VendorParser, type VendorVerdict } from '../vendor.js';

const VENDOR = 'paloalto';
const MAX_FIELDS = 40;

const STAMP_RE = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d$/;

/** Split a CSV line (RFC 4180 quotes) into at most MAX_FIELDS fields, starting at `from`. */
function splitCsv(s: string, from: number, out: string[]): number {
  let n = 0;
  let p = from;
  while (p <= s.length && n < MAX_FIELDS) {
    if (s.charCodeAt(p) === 34) {
      let v = '';
      let q = p + 1;
      for (;;) {
        const e = s.indexOf('"', q);
        if (e < 0) {
          v += s.slice(q);
          q = s.length;
          break;
        }
        v += s.slice(q, e);
        if (s.charCodeAt(e + 1) === 34) {
          v += '"';
          q = e + 2;
          continue;
        }
        q = e + 1;
        break;
      }
      out[n++] = v;
      const c = s.indexOf(',', q);
      if (c < 0) break;
      p = c + 1;
    } else {
      const c = s.indexOf(',', p);
      out[n++] = c < 0 ? s.slice(p) : s.slice(p, c);
      if (c < 0) break;
      p = c + 1;
    }
  }
  return n;
}

/** `YYYY/MM/DD HH:MM:SS` in `zone` → ms, or null. */
function panTime(v: string | undefined, zone: string): number | null {
  if (v === undefined || !STAMP_RE.test(v)) return null;
  return wallToUtc(zone, Number(v.slice(0, 4)), Number(v.slice(5, 7)) - 1, Number(v.slice(8, 10)),
    Number(v.slice(11, 13)), Number(v.slice(14, 16)), Number(v.slice(17, 19)), 0);
}

const fields: string[] = new Array(MAX_FIELDS);

export const paloalto: VendorParser = {
  name: VENDOR,
  describes: 'PAN-OS TRAFFIC CSV (start/end, NAT source IP/port), other PAN-OS log types recognised and ignored',
  detect(h) {
    const s = h.line;
    return s.indexOf(',TRAFFIC,', h.restStart) >= 0 || s.indexOf(',THREAT,', h.restStart) >= 0 || s.indexOf(',SYSTEM,', h.restStart) >= 0;
  },
  parse({ h, zone }: VendorInput): VendorVerdict {
    const s = h.line;
    const n = splitCsv(s, h.msgStart, fields);
    if (n < 5) return null;
    const type = fields[3];
    if (type !== 'TRAFFIC') return type === 'THREAT' || type === 'SYSTEM' || type === 'CONFIG' ? 'not_nat_event' : null;
    if (n < 31) return null;
    const subtype = fields[4];
    const action = fields[30];
    if (subtype === 'deny' || subtype === 'drop' || action === 'deny' || action === 'drop' || action.startsWith('reset') || action === 'drop-icmp') return 'deny';
    const src = ipOf(fields[7]);
    const nat = ipOf(fields[9]);
    if (src === null) return null;
    if (nat === null || nat === '0.0.0.0' || nat === '::') {
      const ndst = ipOf(fields[10]);
      return ndst !== null && ndst !== '0.0.0.0' && ndst !== ipOf(fields[8]) ? 'dnat_only' : 'no_translation';
    }
    const proto = fields[29] ? protoName(fields[29]) : null;
    const sport = portOf(fields[24]);
    const nport = portOf(fields[26]);
    if (nat === src && nport === sport) return 'no_translation';
    const dst = ipOf(fields[8]);
    const dport = portOf(fields[25]);
    const generated = panTime(fields[6], zone) ?? h.time;
    const out: NatRecord[] = [];
    if (subtype === 'start') out.push(natRecord(VENDOR, 'session_create', proto, src, sport, nat, nport, dst, dport, generated, h.host));
    else {
      const start = n > 35 ? panTime(fields[35], zone) : null;
      if (start !== null) out.push(natRecord(VENDOR, 'session_create', proto, src, sport, nat, nport, dst, dport, start, h.host));
      out.push(natRecord(VENDOR, 'session_close', proto, src, sport, nat, nport, dst, dport, generated, h.host));
    }
    const login = loginOf(fields[12]);
    for (const r of out) r.login = login;
    return out;
  },
};
