// Juniper: SRX / MX-SPC3 (`RT_FLOW`, `RT_NAT`, text and structured RFC 5424) and the MX services cards: MS-MPC
// (`JSERVICES_*`) and the older MS-DPC / MS-PIC (`MSVCS_LOG_*`, `ASP_*`). Two registry entries, one file: they
// share the tag grammar and the epoch-in-hex habit.
//
// SRX text:  RT_FLOW_SESSION_CREATE: session created S/sp->D/dp [0xT] SVC NS/nsp->ND/ndp [0xT] SRCTYPE SRCRULE
//            DSTTYPE DSTRULE PROTO …   (close: `session closed REASON: …`, REASON may hold spaces; rule types are
//            `N/A` or two words such as `source rule`)
// SRX SD:    RT_FLOW_SESSION_CREATE[_USF] [junos@2636… source-address="…" nat-source-address="…" protocol-id="6" …]
// PBA text:  RT_SRC_NAT_PBA_ALLOC: Subscriber S used/maximum [u/m] blocks, allocates port block [lo-hi] from P
//            in source pool X lsys_id: 0 epoch 0x6a44007a        (RELEASE: `releases`; INTERIM: refresh)
// PBA SD:    RT_SRC_NAT_PBA_ALLOC [internal-ip="…" block-port-low="…" block-port-high="…" reflexive-ip="…"
//            epoch-time-64="624b0492"]
// MS-MPC:    host{sset}[jservices-nat]: JSERVICES_NAT_PORT_BLOCK_ALLOC: S -> P:lo-hi 0xEPOCH  (RELEASE, ACTIVE)
//            JSERVICES_SESSION_OPEN: application:X, IF S:sp [N:np] -> [DNAT] D:dp (PROTO …)   (CLOSE alike)
// MS-DPC:    {sset}MSVCS_LOG_SESSION_OPEN: App:none, IF S:sp [N:np] -> D:dp (PROTO)   (CLOSE alike; `App:…, IF`
//            absent in older releases; `[N]` without a port for basic NAT; `-> D:dp [X]` = destination NAT; the
//            interface may be followed by rsyslog's `#012` where the card wrote a line feed)
//            {sset}[FWNAT]: ASP_SFW_CREATE_ACCEPT_FLOW: proto 6 (TCP) application: any, IF:S:sp -> D:dp, creating
//            forward or watch flow ; source address and port translate to N:np   (ASP_SFW_DELETE_FLOW: `(null)(null)S:sp`)
// Sources: napalm-logs junos fixtures; cgn-ec-consumer handlers/juniper.py; Juniper "System Log Error Messages for
// Next Gen Services"; Juniper toby CGNAT unit tests and library (cgnat.py `_get_syslogs`); Juniper "Exporting Syslog
// Messages to an External Host Without Flow Monitoring Formats" (MSVCS_LOG_*); Junos 13.1 "Log Generation" (ASP_*).

import { protoName } from '../ip.js';
import type { EventKind } from '../types.js';
import { epIp, epPort, hexEpochMs, ipOf, portOf, quotedParam, scanIpPort, skipSp, tokEnd } from '../fields.js';
import { loginOf } from '../login.js';
import { blockRecord, natRecord, type VendorInput, type VendorParser, type VendorVerdict } from '../vendor.js';

const SRX = 'juniper-srx';
const MX = 'juniper-mx';

const PROTO_NUM = /^\d{1,3}$/;

function isHexTag(s: string, i: number): boolean {
  return s.charCodeAt(i) === 48 && (s.charCodeAt(i + 1) | 32) === 120;
}

/** Skip a rule type (`N/A`, or `word rule`) and a rule name; returns the index after them. */
function skipRule(s: string, p: number): number {
  p = skipSp(s, p);
  let e = tokEnd(s, p);
  const next = skipSp(s, e);
  if (!(e - p === 3 && s.startsWith('N/A', p)) && s.startsWith('rule', next) && (next + 4 >= s.length || s.charCodeAt(next + 4) === 32)) {
    e = next + 4;
  }
  p = skipSp(s, e);
  return tokEnd(s, p);
}

function srxText(s: string, at: number, create: boolean, time: number | null, host: string | null): VendorVerdict {
  let p: number;
  if (create) {
    p = s.indexOf('session created ', at);
    if (p < 0) return null;
    p += 16;
  } else {
    p = s.indexOf('session closed ', at);
    if (p < 0) return null;
    p = s.indexOf(': ', p + 15);
    if (p < 0) return null;
    p += 2;
  }
  p = scanIpPort(s, p, 47);
  if (p < 0 || s.charCodeAt(p) !== 45 || s.charCodeAt(p + 1) !== 62) return null;
  const src = epIp, sport = epPort;
  p = scanIpPort(s, p + 2, 47);
  if (p < 0) return null;
  const dst = epIp, dport = epPort;
  p = skipSp(s, p);
  if (isHexTag(s, p)) p = skipSp(s, tokEnd(s, p));
  p = skipSp(s, tokEnd(s, p)); // service name
  p = scanIpPort(s, p, 47);
  if (p < 0 || s.charCodeAt(p) !== 45 || s.charCodeAt(p + 1) !== 62) return null;
  const nat = epIp, nport = epPort;
  p = scanIpPort(s, p + 2, 47);
  if (p < 0) return null;
  const ndst = epIp, ndport = epPort;
  p = skipSp(s, p);
  if (isHexTag(s, p)) p = tokEnd(s, p);
  p = skipRule(s, p);
  p = skipRule(s, p);
  p = skipSp(s, p);
  const pe = tokEnd(s, p);
  const protoNum = s.slice(p, pe);
  const proto = PROTO_NUM.test(protoNum) ? protoName(protoNum) : null;
  return session(SRX, create ? 'session_create' : 'session_close', proto, src, sport, nat, nport, dst, dport, ndst, ndport, time, host);
}

function session(
  vendor: string, event: EventKind, proto: string | null,
  src: string | null, sport: number, nat: string | null, nport: number,
  dst: string | null, dport: number, ndst: string | null, ndport: number,
  time: number | null, host: string | null,
): VendorVerdict {
  if (src === null || nat === null) return null;
  if (src === nat && sport === nport) return ndst !== null && (ndst !== dst || ndport !== dport) ? 'dnat_only' : 'no_translation';
  const portless = proto === 'icmp' || proto === 'ipv6-icmp' ? false : proto !== null && proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp';
  return [natRecord(
    vendor, event, proto, src, portless || sport < 0 ? null : sport, nat, portless || nport < 0 ? null : nport,
    dst, portless || dport < 0 ? null : dport, time, host,
  )];
}

function srxStructured(s: string, from: number, create: boolean, time: number | null, host: string | null): VendorVerdict {
  const src = ipOf(quotedParam(s, 'source-address', from));
  const nat = ipOf(quotedParam(s, 'nat-source-address', from));
  if (src === null || nat === null) return null;
  const sport = portOf(quotedParam(s, 'source-port', from)) ?? -1;
  const nport = portOf(quotedParam(s, 'nat-source-port', from)) ?? -1;
  const dst = ipOf(quotedParam(s, 'destination-address', from));
  const dport = portOf(quotedParam(s, 'destination-port', from)) ?? -1;
  const ndst = ipOf(quotedParam(s, 'nat-destination-address', from));
  const ndport = portOf(quotedParam(s, 'nat-destination-port', from)) ?? -1;
  const pid = quotedParam(s, 'protocol-id', from);
  const proto = pid !== null && pid !== '' ? protoName(pid) : null;
  const v = session(SRX, create ? 'session_create' : 'session_close', proto, src, sport, nat, nport, dst, dport, ndst, ndport, time, host);
  // The user firewall's identity (`username`, or `source-identity` on newer releases), `N/A` when none.
  if (Array.isArray(v)) v[0]!.login = loginOf(quotedParam(s, 'username', from)) ?? loginOf(quotedParam(s, 'source-identity', from));
  return v;
}

function pbaEvent(tag: string): EventKind | null {
  if (tag.endsWith('ALLOC') || tag.endsWith('INTERIM') || tag.endsWith('ACTIVE')) return 'block_alloc';
  if (tag.endsWith('RELEASE')) return 'block_release';
  return null;
}

function srxPba(s: string, at: number, tag: string, time: number | null, host: string | null): VendorVerdict {
  const event = pbaEvent(tag);
  if (event === null) return 'not_nat_event';
  // structured form
  const internal = quotedParam(s, 'internal-ip', at);
  if (internal !== null) {
    const src = ipOf(internal);
    const nat = ipOf(quotedParam(s, 'reflexive-ip', at));
    const lo = portOf(quotedParam(s, 'block-port-low', at));
    const hi = portOf(quotedParam(s, 'block-port-high', at));
    if (src === null || nat === null || lo === null || hi === null) return null;
    const t = hexEpochMs(quotedParam(s, 'epoch-time-64', at)) ?? time;
    return [blockRecord(SRX, event, null, src, nat, lo, hi, t, host)];
  }
  // text form
  let p = s.indexOf('Subscriber ', at);
  if (p < 0) return null;
  const srcEnd = tokEnd(s, p + 11);
  const src = ipOf(s.slice(p + 11, srcEnd));
  p = s.indexOf('port block [', srcEnd);
  if (p < 0) return null;
  p += 12;
  const dash = s.indexOf('-', p);
  const close = s.indexOf(']', p);
  if (dash < 0 || close < dash) return null;
  const lo = portOf(s.slice(p, dash));
  const hi = portOf(s.slice(dash + 1, close));
  p = s.indexOf(' from ', close);
  if (p < 0) return null;
  const nat = ipOf(s.slice(p + 6, tokEnd(s, p + 6)));
  if (src === null || nat === null || lo === null || hi === null) return null;
  const ep = s.indexOf(' epoch ', p);
  const t = ep > 0 ? (hexEpochMs(s.slice(ep + 7, tokEnd(s, ep + 7))) ?? time) : time;
  return [blockRecord(SRX, event, null, src, nat, lo, hi, t, host)];
}

/** Tag (`RT_FLOW_SESSION_CREATE`, …) starting at i, up to `:`, space or `[`. */
function tagAt(s: string, i: number): string {
  let e = i;
  while (e < s.length) {
    const c = s.charCodeAt(e);
    if (c === 58 || c === 32 || c === 91) break;
    e++;
  }
  return s.slice(i, e);
}

export const juniperSrx: VendorParser = {
  name: SRX,
  describes: 'SRX and MX-SPC3: RT_FLOW_SESSION_CREATE/CLOSE (text and structured), RT_NAT RT_SRC_NAT_PBA_ALLOC/INTERIM/RELEASE',
  detect(h) {
    const s = h.line;
    if (h.msgid !== null) return h.msgid.startsWith('RT_FLOW_') || h.msgid.startsWith('RT_SRC_NAT') || h.msgid.startsWith('RT_NAT');
    return s.indexOf('RT_FLOW_', h.restStart) >= 0 || s.indexOf('RT_SRC_NAT_', h.restStart) >= 0 || s.indexOf('RT_NAT_', h.restStart) >= 0;
  },
  parse({ h }: VendorInput): VendorVerdict {
    const s = h.line;
    let at: number;
    let tag: string;
    if (h.msgid !== null && (h.msgid.startsWith('RT_FLOW_') || h.msgid.startsWith('RT_SRC_NAT') || h.msgid.startsWith('RT_NAT'))) {
      tag = h.msgid;
      at = h.restStart;
    } else {
      at = s.indexOf('RT_FLOW_SESSION_', h.restStart);
      if (at < 0) at = s.indexOf('RT_SRC_NAT_', h.restStart);
      if (at < 0) at = s.indexOf('RT_NAT_', h.restStart);
      if (at < 0) return null;
      tag = tagAt(s, at);
    }
    if (tag.startsWith('RT_FLOW_SESSION_CREATE') || tag.startsWith('RT_FLOW_SESSION_CLOSE')) {
      const create = tag.startsWith('RT_FLOW_SESSION_CREATE');
      const structured = s.indexOf('source-address="', at) >= 0;
      return structured ? srxStructured(s, at, create, h.time, h.host) : srxText(s, at, create, h.time, h.host);
    }
    if (tag.startsWith('RT_FLOW_SESSION_DENY') || tag.startsWith('RT_FLOW_SESSION_REJECT')) return 'deny';
    if (tag.startsWith('RT_SRC_NAT_PBA_')) return srxPba(s, at, tag, h.time, h.host);
    if (tag === 'RT_NAT_RULE_MATCH') return 'no_translation';
    if (tag.startsWith('RT_FLOW') || tag.startsWith('RT_SRC_NAT') || tag.startsWith('RT_NAT')) return 'not_nat_event';
    return null;
  },
};

function jservicesPba(s: string, at: number, tag: string, time: number | null, host: string | null): VendorVerdict {
  const event = pbaEvent(tag);
  if (event === null) return 'not_nat_event';
  let p = skipSp(s, s.indexOf(':', at) + 1);
  p = scanIpPort(s, p, -1);
  if (p < 0) return null;
  const src = epIp;
  p = skipSp(s, p);
  if (!s.startsWith('->', p)) return null;
  p = skipSp(s, p + 2);
  // P:lo-hi
  const e = tokEnd(s, p);
  const tok = s.slice(p, e);
  const colon = tok.lastIndexOf(':');
  const dash = tok.lastIndexOf('-');
  if (colon < 0 || dash < colon) return null;
  const nat = ipOf(tok.slice(0, colon));
  const lo = portOf(tok.slice(colon + 1, dash));
  const hi = portOf(tok.slice(dash + 1));
  if (nat === null || lo === null || hi === null) return null;
  const ep = skipSp(s, e);
  const t = hexEpochMs(s.slice(ep, tokEnd(s, ep))) ?? time;
  return [blockRecord(MX, event, null, src, nat, lo, hi, t, host)];
}

/** Index of the first byte of the token ending at `e` (tokens split at spaces and control characters). */
function tokenStart(s: string, from: number, e: number): number {
  while (e > from && s.charCodeAt(e - 1) > 32) e--;
  return e;
}

/** Longest `ip:port` text (an IPv6 address with embedded IPv4, a colon and five digits), with room to spare. */
const MAX_ENDPOINT_CHARS = 64;

/**
 * The source endpoint ending at `e`: a bare `S:sp`, or glued behind an interface (`ge-1/3/5.0:S:sp`,
 * `(null)(null)S:sp`). Tries the token start, then each position after a `:` or `)` within the last
 * MAX_ENDPOINT_CHARS (so a long run of colons stays linear); sets epIp/epPort.
 */
function sourceEndingAt(s: string, from: number, e: number): boolean {
  const b = tokenStart(s, from, e);
  for (let k = Math.max(b, e - MAX_ENDPOINT_CHARS); k < e; k++) {
    if (k !== b) {
      const c = s.charCodeAt(k - 1);
      if (c !== 58 && c !== 41) continue;
    }
    if (scanIpPort(s, k, 58) === e) return true;
  }
  return false;
}

function trimEnd(s: string, from: number, e: number): number {
  while (e > from && s.charCodeAt(e - 1) === 32) e--;
  return e;
}

/**
 * Services-card session line after its tag, MS-MPC and MS-DPC alike:
 * `[application:X, | App:X,] [IF] S:sp [N[:np]] -> [X] D:dp [Y] (PROTO …)`. The bracket after the source is its
 * translation; a bracket beside the destination is a destination translation.
 */
function servicesSession(s: string, at: number, open: boolean, time: number | null, host: string | null): VendorVerdict {
  let p = s.indexOf(':', at);
  if (p < 0) return null;
  p = skipSp(s, p + 1);
  const arrow = s.indexOf('->', p);
  if (arrow < 0) return null;
  const comma = s.indexOf(', ', p);
  if (comma >= 0 && comma < arrow) p = comma + 2;
  // source side, read from the arrow backwards: `… S:sp [N:np]`
  let e = trimEnd(s, p, arrow);
  let nat: string | null = null;
  let nport = -1;
  if (s.charCodeAt(e - 1) === 93) {
    const lb = s.lastIndexOf('[', e - 1);
    if (lb < p || scanIpPort(s, lb + 1, 58) !== e - 1) return null;
    nat = epIp;
    nport = epPort;
    e = trimEnd(s, p, lb);
  }
  if (!sourceEndingAt(s, p, e)) return null;
  const src = epIp, sport = epPort;
  // destination side: `[X] D:dp [Y] (PROTO`
  let q = skipSp(s, arrow + 2);
  let dnat = false;
  if (s.charCodeAt(q) === 91) {
    const close = s.indexOf(']', q);
    if (close < 0) return null;
    dnat = true;
    q = skipSp(s, close + 1);
  }
  q = scanIpPort(s, q, 58);
  if (q < 0) return null;
  const dst = epIp, dport = epPort;
  q = skipSp(s, q);
  if (s.charCodeAt(q) === 91) dnat = true;
  let proto: string | null = null;
  const paren = s.indexOf('(', q);
  if (paren >= 0) {
    let pe = paren + 1;
    while (pe < s.length && s.charCodeAt(pe) !== 32 && s.charCodeAt(pe) !== 41) pe++;
    if (pe > paren + 1) proto = protoName(s.slice(paren + 1, pe));
  }
  if (nat === null) return dnat ? 'dnat_only' : 'no_translation';
  return session(MX, open ? 'session_create' : 'session_close', proto, src, sport, nat, nport, dst, dport, null, -1, time, host);
}

/**
 * MS-DPC / MS-PIC stateful-firewall flow line carrying its NAT:
 * `proto 6 (TCP) application: any, IF:S:sp -> D:dp, creating forward or watch flow ; source address and port
 * translate to N:np`. Without a `source address … translate to` clause the flow was not source-translated.
 */
function aspFlow(s: string, at: number, open: boolean, time: number | null, host: string | null): VendorVerdict {
  let p = s.indexOf(':', at);
  if (p < 0) return null;
  p = skipSp(s, p + 1);
  let proto: string | null = null;
  if (s.startsWith('proto ', p)) {
    const ns = p + 6;
    const ne = tokEnd(s, ns);
    const num = s.slice(ns, ne);
    if (PROTO_NUM.test(num)) proto = protoName(num);
  }
  const arrow = s.indexOf('->', p);
  if (arrow < 0) return null;
  const comma = s.indexOf(', ', p);
  if (comma >= 0 && comma < arrow) p = comma + 2;
  if (!sourceEndingAt(s, p, trimEnd(s, p, arrow))) return null;
  const src = epIp, sport = epPort;
  let q = scanIpPort(s, skipSp(s, arrow + 2), 58);
  if (q < 0) return null;
  const dst = epIp, dport = epPort;
  const sa = s.indexOf('source address', q);
  const tr = sa < 0 ? -1 : s.indexOf(' translate to ', sa);
  if (tr < 0) return s.indexOf(' translate to ', q) >= 0 ? 'dnat_only' : 'no_translation';
  q = scanIpPort(s, skipSp(s, tr + 14), 58);
  if (q < 0) return null;
  return session(MX, open ? 'session_create' : 'session_close', proto, src, sport, epIp, epPort, dst, dport, null, -1, time, host);
}

/** Where the first services-card marker starts (`JSERVICES_`, `MSVCS_LOG_`, `ASP_SFW_`, `ASP_NAT_`), or -1. */
function mxMarker(s: string, from: number): number {
  let at = s.indexOf('JSERVICES_', from);
  if (at >= 0) return at;
  at = s.indexOf('MSVCS_LOG_', from);
  if (at >= 0) return at;
  at = s.indexOf('ASP_SFW_', from);
  if (at >= 0) return at;
  return s.indexOf('ASP_NAT_', from);
}

function isDenyTag(tag: string): boolean {
  return tag.indexOf('REJECT') >= 0 || tag.indexOf('DENY') >= 0 || tag.indexOf('DISCARD') >= 0 || tag.indexOf('DROP') >= 0;
}

export const juniperMx: VendorParser = {
  name: MX,
  describes: 'MX services cards: MS-MPC/MS-MIC JSERVICES_SESSION_OPEN/CLOSE, JSERVICES_NAT_PORT_BLOCK_ALLOC/RELEASE/ACTIVE; MS-DPC/MS-PIC MSVCS_LOG_SESSION_OPEN/CLOSE, ASP_SFW_CREATE_ACCEPT_FLOW/DELETE_FLOW with their source translation',
  detect(h) {
    return mxMarker(h.line, h.restStart) >= 0;
  },
  parse({ h }: VendorInput): VendorVerdict {
    const s = h.line;
    const at = mxMarker(s, h.restStart);
    if (at < 0) return null;
    const tag = tagAt(s, at);
    if (tag.startsWith('JSERVICES_NAT_PORT_BLOCK_')) return jservicesPba(s, at, tag, h.time, h.host);
    if (tag === 'JSERVICES_SESSION_OPEN' || tag === 'MSVCS_LOG_SESSION_OPEN') return servicesSession(s, at, true, h.time, h.host);
    if (tag === 'JSERVICES_SESSION_CLOSE' || tag === 'MSVCS_LOG_SESSION_CLOSE') return servicesSession(s, at, false, h.time, h.host);
    if (tag === 'ASP_SFW_CREATE_ACCEPT_FLOW') return aspFlow(s, at, true, h.time, h.host);
    if (tag === 'ASP_SFW_DELETE_FLOW') return aspFlow(s, at, false, h.time, h.host);
    if (tag === 'JSERVICES_NAT_RULE_MATCH' || tag === 'ASP_NAT_RULE_MATCH') return 'no_translation';
    if ((tag.startsWith('JSERVICES_SFW_') || tag.startsWith('ASP_SFW_')) && isDenyTag(tag)) return 'deny';
    return 'not_nat_event';
  },
};
