// Huawei: USG/Eudemon firewalls (%%01SECLOG/6/SESSION_TEARDOWN(l):k=v,…) and NetEngine 40E/8000 CGN flow syslog
// (`<134>1 2020 Jan 17 11:05:55 host app - NAT444:SessionbasedA [17 10.1.1.2 - 172.16.1.1 0 1025 -]`).
//
// USG: SESSION_TEARDOWN carries SourceIP/SourcePort, SourceNatIP/SourceNatPort, DestinationIP/Port and the epochs
// BeginTime/EndTime (seconds): a teardown yields two records, the creation at BeginTime and the close at EndTime,
// so the mapping's whole interval is kept. SESSION_BUILT yields the creation. The message ends with `.`.
// NE: shared `NAT444:` family (../nat444.ts); a capitalised event word (`SessionbasedA`) is read as Huawei.
// Sources: Huawei USG "Appendix: Meanings of Log Fields" (session logs in syslog format); Huawei NetEngine 8000
// F1A "Flow Syslog Format" (type3 examples).

import { protoName } from '../ip.js';
import type { NatRecord } from '../types.js';
import { decimalEpochMs, ipOf, kvParam, portOf } from '../fields.js';
import { findScene, parseScene, sceneEventCapitalised } from '../nat444.js';
import { natRecord, type VendorInput, type VendorParser, type VendorVerdict } from '../vendor.js';

const VENDOR = 'huawei';

function usg(line: string, at: number, time: number | null, host: string | null): VendorVerdict {
  // %%01SECLOG/6/SESSION_TEARDOWN(l):…   (the message ends with `.`: drop it so the last value reads clean)
  const s = line.charCodeAt(line.length - 1) === 46 ? line.slice(0, -1) : line;
  const kv = kvParam;
  const slash = s.indexOf('/', at);
  const slash2 = slash < 0 ? -1 : s.indexOf('/', slash + 1);
  if (slash2 < 0) return null;
  let e = slash2 + 1;
  while (e < s.length && s.charCodeAt(e) !== 40 && s.charCodeAt(e) !== 58) e++;
  const tag = s.slice(slash2 + 1, e);
  const body = s.indexOf(':', e) + 1;
  if (body === 0) return null;
  const teardown = tag === 'SESSION_TEARDOWN';
  if (!teardown && tag !== 'SESSION_BUILT') {
    if (tag.indexOf('DENY') >= 0 || tag.indexOf('DROP') >= 0) return 'deny';
    return 'not_nat_event';
  }
  const src = ipOf(kv(s, 'SourceIP', body));
  if (src === null) {
    // mtn content format (`Built an udp session, …`) carries no translation
    return s.indexOf('SourceIP=', body) < 0 ? 'no_translation' : null;
  }
  const nat = ipOf(kv(s, 'SourceNatIP', body));
  const sport = portOf(kv(s, 'SourcePort', body));
  const nport = portOf(kv(s, 'SourceNatPort', body));
  if (nat === null || (nat === src && nport === sport)) {
    const dnat = ipOf(kv(s, 'DestinationNatIP', body));
    return dnat !== null && dnat !== ipOf(kv(s, 'DestinationIP', body)) ? 'dnat_only' : 'no_translation';
  }
  const pr = kv(s, 'Protocol', body);
  const proto = pr === null ? null : protoName(pr);
  const dst = ipOf(kv(s, 'DestinationIP', body));
  const dport = portOf(kv(s, 'DestinationPort', body));
  const begin = decimalEpochMs(kv(s, 'BeginTime', body));
  const end = decimalEpochMs(kv(s, 'EndTime', body));
  const out: NatRecord[] = [natRecord(VENDOR, 'session_create', proto, src, sport, nat, nport, dst, dport, begin ?? time, host)];
  if (teardown) out.push(natRecord(VENDOR, 'session_close', proto, src, sport, nat, nport, dst, dport, end ?? time, host));
  if (teardown && begin === null) out.shift();
  return out;
}

export const huawei: VendorParser = {
  name: VENDOR,
  describes: 'USG/Eudemon SECLOG SESSION_TEARDOWN/BUILT (k=v), NE40E/NE8000 CGN flow syslog NAT444/NAT64/DS-Lite SessionbasedA/W',
  detect(h) {
    const s = h.line;
    if (s.indexOf('%%01SECLOG/', h.restStart) >= 0 || s.indexOf('SECLOG/', h.restStart) >= 0) return true;
    const sc = findScene(s, h.restStart);
    return sc >= 0 && sceneEventCapitalised(s, sc);
  },
  parse({ h }: VendorInput): VendorVerdict {
    const s = h.line;
    const at = s.indexOf('SECLOG/', h.restStart);
    if (at >= 0) return usg(s, at, h.time, h.host);
    const sc = findScene(s, h.restStart);
    if (sc < 0) return null;
    return parseScene(VENDOR, s, sc, h.time, h.host);
  },
};
