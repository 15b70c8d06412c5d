// Fortinet FortiGate: `<PRI>` followed directly by key=value pairs (values quoted when they hold text).
// Traffic logs are written at session end: `eventtime` (s, µs or ns) is the end, `duration` (s) gives the start,
// so an end log yields the creation and the close of the mapping. `action="start"` logs (log at session start)
// yield the creation only. trandisp snat / snat+dnat carry transip/transport; dnat alone is `dnat_only`,
// noop `no_translation`; deny actions `deny`. IP pool PBA event logs (saddr, nat, portbegin, portend) give blocks.
// Sources: FortiOS Log Message Reference (traffic forward logs; 22016 LOG_ID_IPPOOLPBA_DEALLOCATE); sample lines
// quoted in public parsers and tests (see fixtures).

import { protoName } from '../ip.js';
import type { NatRecord } from '../types.js';
import { decimalEpochMs, ipOf, kvParam, portOf } from '../fields.js';
import { wallToUtc } from '../time.js';
import { loginOf } from '../login.js';
import { blockRecord, natRecord, type VendorInput, type VendorParser, type VendorVerdict } from '../vendor.js';

const VENDOR = 'fortinet';

const DATE_RE = /^\d{4}-\d\d-\d\d$/;
const TIME_RE = /^\d\d:\d\d:\d\d$/;
const TZ_RE = /^[+-]\d{4}$/;
const DURATION_RE = /^\d{1,9}$/;

/** date=YYYY-MM-DD time=HH:MM:SS [tz="+0300"] → ms; zone-less values in the device zone. */
function dateTime(s: string, from: number, zone: string): number | null {
  const d = kvParam(s, 'date', from);
  const t = kvParam(s, 'time', from);
  if (d === null || t === null || !DATE_RE.test(d) || !TIME_RE.test(t)) return null;
  const y = Number(d.slice(0, 4)), mo = Number(d.slice(5, 7)) - 1, da = Number(d.slice(8, 10));
  const h = Number(t.slice(0, 2)), mi = Number(t.slice(3, 5)), se = Number(t.slice(6, 8));
  const tz = kvParam(s, 'tz', from);
  if (tz !== null && TZ_RE.test(tz)) {
    const off = (tz.charCodeAt(0) === 45 ? -1 : 1) * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(3, 5)));
    return Date.UTC(y, mo, da, h, mi, se) - off * 60_000;
  }
  return wallToUtc(zone, y, mo, da, h, mi, se, 0);
}

function traffic(s: string, from: number, time: number | null, host: string | null): VendorVerdict {
  const action = kvParam(s, 'action', from) ?? '';
  if (action === 'deny' || action === 'blocked' || action === 'block' || action === 'dropped' || action === 'ip-conn') {
    return action === 'ip-conn' ? 'no_translation' : 'deny';
  }
  const disp = kvParam(s, 'trandisp', from);
  const src = ipOf(kvParam(s, 'srcip', from));
  const nat = ipOf(kvParam(s, 'transip', from));
  if (disp === 'dnat') return 'dnat_only';
  if (nat === null || src === null || (disp !== null && disp !== 'snat' && disp !== 'snat+dnat')) return 'no_translation';
  const sport = portOf(kvParam(s, 'srcport', from));
  const nport = portOf(kvParam(s, 'transport', from));
  if (nat === src && nport === sport) return 'no_translation';
  const pr = kvParam(s, 'proto', from);
  const proto = pr === null ? null : protoName(pr);
  const dst = ipOf(kvParam(s, 'dstip', from));
  const dport = portOf(kvParam(s, 'dstport', from));
  // An authenticated firewall user (`user`), else the name FSSO or a captive portal saw (`unauthuser`).
  const login = loginOf(kvParam(s, 'user', from)) ?? loginOf(kvParam(s, 'unauthuser', from));
  const out: NatRecord[] = [];
  if (action === 'start') out.push(natRecord(VENDOR, 'session_create', proto, src, sport, nat, nport, dst, dport, time, host));
  else {
    const dur = kvParam(s, 'duration', from);
    if (dur !== null && DURATION_RE.test(dur) && time !== null) {
      out.push(natRecord(VENDOR, 'session_create', proto, src, sport, nat, nport, dst, dport, time - Number(dur) * 1000, host));
    }
    out.push(natRecord(VENDOR, 'session_close', proto, src, sport, nat, nport, dst, dport, time, host));
  }
  for (const r of out) r.login = login;
  return out;
}

function pba(s: string, from: number, time: number | null, host: string | null): VendorVerdict {
  const src = ipOf(kvParam(s, 'saddr', from));
  const nat = ipOf(kvParam(s, 'nat', from));
  const lo = portOf(kvParam(s, 'portbegin', from));
  const hi = portOf(kvParam(s, 'portend', from));
  if (src === null || nat === null) return null;
  const logid = kvParam(s, 'logid', from) ?? '';
  const desc = (kvParam(s, 'logdesc', from) ?? '').toLowerCase();
  const release = logid.endsWith('22016') || desc.indexOf('deallocate') >= 0 || desc.indexOf('release') >= 0;
  return [blockRecord(VENDOR, release ? 'block_release' : 'block_alloc', null, src, nat, lo, hi, time, host)];
}

export const fortinet: VendorParser = {
  name: VENDOR,
  describes: 'FortiGate traffic logs (forward, session end and start) with trandisp/transip/transport; IP pool PBA events',
  detect(h) {
    const s = h.line;
    return s.indexOf('logid=', h.restStart) >= 0 && (s.indexOf('devid=', h.restStart) >= 0 || s.indexOf('type=', h.restStart) >= 0);
  },
  parse({ h, zone }: VendorInput): VendorVerdict {
    const s = h.line;
    const from = h.restStart;
    const time = decimalEpochMs(kvParam(s, 'eventtime', from)) ?? dateTime(s, from, zone) ?? h.time;
    const type = kvParam(s, 'type', from);
    if (type === 'traffic') return traffic(s, from, time, h.host ?? kvParam(s, 'devname', from));
    if (s.indexOf('portbegin=', from) >= 0 && s.indexOf('saddr=', from) >= 0) return pba(s, from, time, h.host ?? kvParam(s, 'devname', from));
    return type === null ? null : 'not_nat_event';
  },
};
