// Cisco: ASA/FTD (%ASA-6-305011/305012, 305009/305010, 302013/302015), IOS/IOS-XE (%IPNAT-6-[NAT_]CREATED/DELETED,
// %NAT-6-LOG_TRANSLATION inside %IOSXE-6-PLATFORM) and IOS XR CGN bracketed records. Three registry entries.
//
// ASA:    %ASA-6-305011: Built dynamic TCP translation from inside:10.0.0.8/51000 to outside(rule):203.0.113.8/32000
//         %ASA-6-305012: Teardown dynamic UDP translation from IF:IP/P to IF:IP/P duration 0:00:30
//         %ASA-6-305009: Built dynamic translation from IF:IP to IF:IP          (NAT without ports)
//         %ASA-6-302013: Built outbound TCP connection N for IF:D/dp (D'/dp') to IF:S/sp (S'/sp')
//         No destination in 3050xx; ICMP ids sit in the port slots; interfaces may read `Outside(rule)`.
// IOS:    %IPNAT-6-CREATED: tcp IL:p IG:p OL:p OG:p          (inside local/global, outside local/global)
//         %IPNAT-6-NAT_CREATED: Created tcp IL:p IG:p OL:p OG:p  (NAT_DELETED: Deleted …), often with no syslog
//         header at all (buffer, file, or a relay that strips it): `[seq: ][*|.]Mmm dd HH:MM:SS.mmm[ TZ]: %IPNAT…`,
//         an uptime clock `HH:MM:SS[.mmm]:` (no date: the receive time stands), or `%IPNAT…` alone
//         %NAT-6-LOG_TRANSLATION: Created Translation UDP IL:p IG:p OL:p OG:p VRF
// IOS XR: <PRI>1 2023 May 31 11:30:00 host - - NAT44 - [Event L4 SrcIP VRF SrcIPv6 XlatIP SrcPort First Last [Dst
//         DstPort]][…]   `-` for absent fields, several records per message; UserbasedA/W = port block.
// Sources: Cisco ASA syslog reference; ipspace.net "NAT translation logging"; rsyslog tests; Cisco IOS XR CGN
// configuration guide "Syslog Message Format"; public parsers quoted in the fixtures.

import { protoName } from '../ip.js';
import type { EventKind, NatRecord } from '../types.js';
import { epIp, epPort, ipOf, portOf, scanIpPort, skipSp, tokEnd } from '../fields.js';
import { blockRecord, natRecord, type VendorInput, type VendorParser, type VendorVerdict } from '../vendor.js';

const ASA = 'cisco-asa';
const IOS = 'cisco-ios';
const XR = 'cisco-xr';

// ───────────────────────────── ASA ─────────────────────────────

/** `IF[(…)]:IP[/PORT]` at i; sets epIp/epPort via scanIpPort, returns end or -1. */
function asaEndpoint(s: string, i: number): number {
  let p = i;
  let depth = 0;
  while (p < s.length) {
    const c = s.charCodeAt(p);
    if (c === 40) depth++;
    else if (c === 41) depth--;
    else if (c === 58 && depth === 0) break;
    else if (c === 32 && depth === 0) return -1;
    p++;
  }
  if (p >= s.length) return -1;
  return scanIpPort(s, p + 1, 47);
}

/** `(IP/PORT)` at i (mapped address in 30201x); returns end or -1. */
function asaMapped(s: string, i: number): number {
  if (s.charCodeAt(i) !== 40) return -1;
  const e = scanIpPort(s, i + 1, 47);
  if (e < 0 || s.charCodeAt(e) !== 41) return -1;
  return e + 1;
}

function asaXlate(s: string, p: number, id: string, time: number | null, host: string | null): VendorVerdict {
  // Built|Teardown dynamic|static [PROTO] translation from X to Y
  const built = s.startsWith('Built ', p);
  if (!built && !s.startsWith('Teardown ', p)) return null;
  p = skipSp(s, tokEnd(s, p));
  p = skipSp(s, tokEnd(s, p)); // dynamic / static
  let proto: string | null = null;
  if (!s.startsWith('translation ', p)) {
    const e = tokEnd(s, p);
    proto = protoName(s.slice(p, e));
    p = skipSp(s, e);
  }
  if (!s.startsWith('translation from ', p)) return null;
  p = asaEndpoint(s, p + 17);
  if (p < 0) return null;
  const src = epIp, sport = epPort;
  // skip a `(user)` identity suffix
  if (s.charCodeAt(p) === 40) p = s.indexOf(')', p) + 1;
  p = skipSp(s, p);
  if (!s.startsWith('to ', p)) return null;
  p = asaEndpoint(s, p + 3);
  if (p < 0) return null;
  const nat = epIp, nport = epPort;
  if (src === nat && sport === nport) return 'no_translation';
  const portless = id === '305009' || id === '305010';
  const event: EventKind = portless ? (built ? 'mapping_create' : 'mapping_delete') : built ? 'session_create' : 'session_close';
  return [natRecord(
    ASA, event, proto, src, portless || sport < 0 ? null : sport, nat, portless || nport < 0 ? null : nport, null, null, time, host,
  )];
}

function asaConnection(s: string, p: number, time: number | null, host: string | null): VendorVerdict {
  // Built outbound|inbound PROTO connection ID for IF:F/fp (F'/fp') to IF:L/lp (L'/lp')
  p += 6;
  const outbound = s.startsWith('outbound ', p);
  if (!outbound && !s.startsWith('inbound ', p)) return 'not_nat_event';
  p = skipSp(s, tokEnd(s, p));
  const pe = tokEnd(s, p);
  const proto = protoName(s.slice(p, pe));
  const f = s.indexOf(' for ', pe);
  if (f < 0) return null;
  p = asaEndpoint(s, f + 5);
  if (p < 0) return null;
  const far = epIp, farPort = epPort;
  p = asaMapped(s, skipSp(s, p));
  if (p < 0) return null;
  const t = s.indexOf(' to ', p);
  if (t < 0) return null;
  p = asaEndpoint(s, t + 4);
  if (p < 0) return null;
  const local = epIp, localPort = epPort;
  p = asaMapped(s, skipSp(s, p));
  if (p < 0) return null;
  const mapped = epIp, mappedPort = epPort;
  if (local === mapped && localPort === mappedPort) return 'no_translation';
  if (!outbound) return 'dnat_only';
  return [natRecord(
    ASA, 'session_create', proto, local, localPort < 0 ? null : localPort, mapped, mappedPort < 0 ? null : mappedPort,
    far, farPort < 0 ? null : farPort, time, host,
  )];
}

function asaMarker(s: string, from: number): number {
  let at = s.indexOf('%ASA-', from);
  if (at < 0) at = s.indexOf('%FTD-', from);
  if (at < 0) at = s.indexOf('%PIX-', from);
  return at;
}

export const ciscoAsa: VendorParser = {
  name: ASA,
  describes: 'ASA / Firepower (FTD) 305011/305012 xlate built/teardown, 305009/305010 (no ports), 302013/302015 with mapped addresses',
  detect(h) {
    return asaMarker(h.line, h.restStart) >= 0;
  },
  parse({ h }: VendorInput): VendorVerdict {
    const s = h.line;
    const at = asaMarker(s, h.restStart);
    if (at < 0) return null;
    // %ASA-6-305011: …
    const dash = s.indexOf('-', at + 5);
    if (dash < 0) return null;
    const colon = s.indexOf(':', dash);
    if (colon < 0) return null;
    const id = s.slice(dash + 1, colon);
    const p = skipSp(s, colon + 1);
    switch (id) {
      case '305011': case '305012': case '305009': case '305010':
        return asaXlate(s, p, id, h.time, h.host);
      case '302013': case '302015':
        return s.startsWith('Built ', p) ? asaConnection(s, p, h.time, h.host) : null;
      case '302014': case '302016': case '302020': case '302021':
        return 'no_translation';
      default:
        if (s.startsWith('Deny ', p) || s.indexOf(' denied ', p) >= 0) return 'deny';
        if (id.startsWith('106') || id === '710003' || id === '733100' || id === '419002') return 'deny';
        return 'not_nat_event';
    }
  },
};

// ───────────────────────────── IOS / IOS-XE ─────────────────────────────

function iosMarker(s: string, from: number): number {
  const a = s.indexOf('%NAT-6-LOG_TRANSLATION:', from);
  if (a >= 0) return a;
  return s.indexOf('%IPNAT-', from);
}

export const ciscoIos: VendorParser = {
  name: IOS,
  describes: 'IOS %IPNAT-6-CREATED/DELETED, IOS-XE %IPNAT-6-NAT_CREATED/NAT_DELETED (also without a syslog header) and %NAT-6-LOG_TRANSLATION Created/Deleted Translation',
  detect(h) {
    return iosMarker(h.line, h.restStart) >= 0;
  },
  parse({ h }: VendorInput): VendorVerdict {
    const s = h.line;
    const at = iosMarker(s, h.restStart);
    if (at < 0) return null;
    let p = skipSp(s, s.indexOf(':', at) + 1);
    let created: boolean;
    if (s.startsWith('%NAT-6', at)) {
      created = s.startsWith('Created ', p);
      if (!created && !s.startsWith('Deleted ', p)) return 'not_nat_event';
      p = skipSp(s, tokEnd(s, p));
      if (s.startsWith('Translation ', p)) p = skipSp(s, p + 12);
    } else {
      const tag = s.slice(at + 7, s.indexOf(':', at));
      if (tag.endsWith('CREATED')) created = true;
      else if (tag.endsWith('DELETED')) created = false;
      else return 'not_nat_event';
      // IOS-XE `%IPNAT-6-NAT_CREATED: Created tcp …` repeats the verb before the protocol.
      if (s.startsWith('Created ', p) || s.startsWith('Deleted ', p)) p = skipSp(s, p + 8);
    }
    const pe = tokEnd(s, p);
    const proto = protoName(s.slice(p, pe));
    p = skipSp(s, pe);
    const ips: (string | null)[] = [null, null, null, null];
    const ports = [-1, -1, -1, -1];
    for (let k = 0; k < 4; k++) {
      p = scanIpPort(s, p, 58);
      if (p < 0) return null;
      ips[k] = epIp;
      ports[k] = epPort;
      p = skipSp(s, p);
    }
    const [il, ig, ol, og] = ips;
    if (il === ig && ports[0] === ports[1]) return ol !== og || ports[2] !== ports[3] ? 'dnat_only' : 'no_translation';
    return [natRecord(
      IOS, created ? 'session_create' : 'session_close', proto,
      il, ports[0] < 0 ? null : ports[0], ig, ports[1] < 0 ? null : ports[1], og, ports[3] < 0 ? null : ports[3],
      h.time, h.host,
    )];
  },
};

// ───────────────────────────── IOS XR CGN ─────────────────────────────

const fields = new Array<string>(11);

function dashNull(v: string | undefined): string | null {
  return v === undefined || v === '-' || v === '' ? null : v;
}

function xrRecord(body: string, time: number | null, host: string | null, out: NatRecord[]): boolean | 'skip' {
  // split on spaces into the fixed slots
  let n = 0;
  let p = 0;
  while (p < body.length && n < 11) {
    p = skipSp(body, p);
    if (p >= body.length) break;
    const e = tokEnd(body, p);
    fields[n++] = body.slice(p, e);
    p = e;
  }
  if (n < 9) return false;
  const ev = fields[0];
  const l4 = dashNull(fields[1]);
  const proto = l4 === null ? null : protoName(l4);
  const v4 = dashNull(fields[2]);
  const v6 = dashNull(fields[4]);
  const src = v6 !== null ? ipOf(v6) : ipOf(v4);
  const nat = ipOf(dashNull(fields[5]));
  if (src === null || nat === null) return false;
  const first = portOf(dashNull(fields[7]));
  const last = portOf(dashNull(fields[8]));
  if (ev === 'UserbasedA' || ev === 'UserbasedW') {
    out.push(blockRecord(XR, ev === 'UserbasedA' ? 'block_alloc' : 'block_release', proto, src, nat, first, last, time, host));
    return true;
  }
  if (ev.startsWith('SessionbasedA') || ev.startsWith('SessionbasedW')) {
    const dst = n > 9 ? ipOf(dashNull(fields[9])) : null;
    const dport = n > 10 ? portOf(dashNull(fields[10])) : null;
    out.push(natRecord(
      XR, ev.startsWith('SessionbasedA') ? 'session_create' : 'session_close', proto,
      src, portOf(dashNull(fields[6])), nat, first, dst, dport, time, host,
    ));
    return true;
  }
  return 'skip';
}

function xrMarker(s: string, from: number): number {
  let at = s.indexOf('[Userbased', from);
  if (at < 0) at = s.indexOf('[Sessionbased', from);
  if (at < 0) at = s.indexOf('[Portblockrunout', from);
  return at;
}

export const ciscoXr: VendorParser = {
  name: XR,
  describes: 'IOS XR CGN (CRS/ASR 9000 VSM) NAT44 and DS-Lite syslog: UserbasedA/W port blocks, SessionbasedA/W(D) sessions, several per message',
  detect(h) {
    return xrMarker(h.line, h.restStart) >= 0;
  },
  parse({ h }: VendorInput): VendorVerdict {
    const s = h.line;
    let at = xrMarker(s, h.restStart);
    if (at < 0) return null;
    const out: NatRecord[] = [];
    let skipped = 0;
    while (at >= 0 && at < s.length && s.charCodeAt(at) === 91) {
      const close = s.indexOf(']', at);
      if (close < 0) break;
      const r = xrRecord(s.slice(at + 1, close), h.time, h.host, out);
      if (r === false) return null; // a malformed record: do not half-parse the message
      if (r === 'skip') skipped++;
      at = skipSp(s, close + 1);
    }
    if (out.length === 0) return skipped > 0 ? 'not_nat_event' : null;
    return out;
  },
};
