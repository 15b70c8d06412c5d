// MikroTik RouterOS firewall log lines (`action=log`), in the default, syslog (BSD/ISO) and CEF remote formats.
//
// Body shape (RouterOS v6 and v7; the prefix and interface names may contain spaces, `<pppoe-user>`…):
//   [topics ][prefix ]CHAIN: in:IF out:IF, [connection-state:S[,snat|,dnat] ][src-mac M, ]proto P[ (flags)],
//   SRC[:sp]->DST[:dp], [NAT (PRIV[:pp]->PUB[:np])->DST[:dp], | NAT REMOTE[:rp]->(PUB[:np]->PRIV[:pp]), ]len N
// A rule in chain=srcnat logs before translation: no `NAT` annotation, so no public address → `no_translation`.
// The `(a->b)` group marks the translated side: a source group is SNAT; a destination group is either the reply
// direction of SNAT (`remote->(public->private)`) or an inbound DNAT, told apart by connection-state when present.
// Sources: MikroTik manual "Log"; mfilippov/nat-event-logger tests; syslog-ng issue 3248; SC4S issue 1272.

import { protoName, scanIP, scanEnd, scanPort } from '../ip.js';
import type { NatRecord } from '../types.js';
import { routerOsLogin } from '../login.js';
import { natRecord, type VendorInput, type VendorParser, type VendorVerdict } from '../vendor.js';

const VENDOR = 'mikrotik';

// Parse results of the last address scan (module registers: the chain is synchronous).
let aIp: string | null = null;
let aPort = -1;

/** `IP[:port]` or `[IPv6]:port` at i; sets aIp/aPort and returns the end index, or -1. */
function scanEndpoint(s: string, i: number): number {
  const ip = scanIP(s, i);
  if (ip === null) return -1;
  let p = scanEnd;
  aIp = ip;
  aPort = -1;
  if (s.charCodeAt(p) === 58) {
    const port = scanPort(s, p + 1);
    if (port < 0) return -1;
    aPort = port;
    p = scanEnd;
  }
  return p;
}

function isNameChar(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122) || c === 45 || c === 95;
}

function isArrow(s: string, i: number): boolean {
  return s.charCodeAt(i) === 45 && s.charCodeAt(i + 1) === 62;
}

/** Finds `chain: in:` from `from`; returns the index of `: in:` or -1. */
function findChainMarker(s: string, from: number): number {
  return s.indexOf(': in:', from);
}

function chainStartsWith(s: string, colon: number, word: string): boolean {
  const start = colon - word.length;
  if (start < 0 || !s.startsWith(word, start)) return false;
  return start === 0 || s.charCodeAt(start - 1) === 32;
}

/** Unescape a CEF extension value (`\=` and `\\`), only when it has escapes. */
function cefValue(s: string, i: number): string {
  // The value runs to the next ` key=`: remember the last space, end there at an unescaped `=` (one pass).
  let e = s.length;
  let lastSpace = -1;
  for (let k = i; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === 32) lastSpace = k;
    else if (c === 61 && s.charCodeAt(k - 1) !== 92 && lastSpace > i) {
      e = lastSpace;
      break;
    }
  }
  const v = s.slice(i, e);
  return v.indexOf('\\') < 0 ? v : v.replace(/\\([=\\])/g, '$1');
}

/**
 * The subscriber named by the interface of the inside side: `in:` for a forward line, `out:` for the
 * reply direction (`replyDir`). `in:IF out:IF,` — names may hold spaces, so `in:` runs to ` out:`.
 */
function subscriberOf(s: string, colon: number, pp: number, replyDir: boolean): string | null {
  const inAt = colon + 5;
  const outKey = s.indexOf(' out:', inAt);
  if (outKey < 0 || outKey > pp) return replyDir ? null : routerOsLogin(s.slice(inAt, pp).replace(/[, ]+$/, ''));
  if (!replyDir) return routerOsLogin(s.slice(inAt, outKey));
  const outAt = outKey + 5;
  let e = s.indexOf(', ', outAt);
  if (e < 0 || e > pp) e = pp;
  return routerOsLogin(s.slice(outAt, e).trimEnd());
}

function parseBody(s: string, base: number, time: number | null, host: string | null): VendorVerdict {
  const colon = findChainMarker(s, base);
  if (colon < 0) return null;
  // `proto ` after the interfaces (interface names may hold spaces but not this word followed by a name).
  const out = colon + 5;
  let pp = s.indexOf('proto ', out);
  while (pp > 0 && s.charCodeAt(pp - 1) !== 32 && s.charCodeAt(pp - 1) !== 44) pp = s.indexOf('proto ', pp + 6);
  if (pp < 0) return null;
  // protocol name: up to `,` or ` (`
  let p = pp + 6;
  let proto: string;
  if (s.startsWith('TCP', p) && !isNameChar(s.charCodeAt(p + 3))) proto = 'tcp';
  else if (s.startsWith('UDP', p) && !isNameChar(s.charCodeAt(p + 3))) proto = 'udp';
  else if (s.startsWith('ICMP', p) && !isNameChar(s.charCodeAt(p + 4))) proto = 'icmp';
  else {
    let e = p;
    while (e < s.length) {
      const c = s.charCodeAt(e);
      if (c === 44 || c === 32) break;
      e++;
    }
    if (e === p) return null;
    proto = protoName(s.slice(p, e));
  }
  p = s.indexOf(',', p);
  if (p < 0) return null;
  // The packet's own addresses are not needed: the NAT annotation repeats both sides of the translation.
  const nat = s.indexOf(', NAT ', p);
  if (nat < 0) return s.indexOf('->', p) > 0 ? 'no_translation' : null;
  const portless = proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp' && proto !== 'udplite';
  p = nat + 6;
  let srcIp: string | null, srcPort: number, natIp: string | null, natPort: number, dstIp: string | null, dstPort: number;
  const replyDir = s.charCodeAt(p) !== 40;
  if (!replyDir) {
    // (PRIV->PUB)->DST  or  (PRIV->PUB)->(DST->DST')
    p = scanEndpoint(s, p + 1);
    if (p < 0 || !isArrow(s, p)) return null;
    srcIp = aIp;
    srcPort = aPort;
    p = scanEndpoint(s, p + 2);
    if (p < 0 || s.charCodeAt(p) !== 41 || !isArrow(s, p + 1)) return null;
    natIp = aIp;
    natPort = aPort;
    p += 3;
    const grouped = s.charCodeAt(p) === 40;
    p = scanEndpoint(s, grouped ? p + 1 : p);
    if (p < 0) return null;
    dstIp = aIp;
    dstPort = aPort;
    if (grouped && (!isArrow(s, p) || scanEndpoint(s, p + 2) < 0)) return null;
    if (srcIp === natIp && srcPort === natPort) return grouped ? 'dnat_only' : 'no_translation';
  } else {
    // REMOTE->(PUB->PRIV): reply direction of SNAT, or DNAT of an inbound connection.
    p = scanEndpoint(s, p);
    if (p < 0 || !isArrow(s, p) || s.charCodeAt(p + 2) !== 40) return null;
    dstIp = aIp;
    dstPort = aPort;
    p = scanEndpoint(s, p + 3);
    if (p < 0 || !isArrow(s, p)) return null;
    natIp = aIp;
    natPort = aPort;
    p = scanEndpoint(s, p + 2);
    if (p < 0 || s.charCodeAt(p) !== 41) return null;
    srcIp = aIp;
    srcPort = aPort;
    // connection-state flags (between the chain and proto), when present, tell DNAT from the SNAT reply.
    const cs = s.indexOf('connection-state:', colon);
    if (cs > 0 && cs < pp) {
      let e = cs + 17;
      while (e < pp && s.charCodeAt(e) !== 32) e++;
      const st = s.slice(cs + 17, e);
      if (st.indexOf('dnat') >= 0 && st.indexOf('snat') < 0) return 'dnat_only';
    }
  }
  const rec: NatRecord = natRecord(
    VENDOR, 'session_create', proto,
    srcIp, portless || srcPort < 0 ? null : srcPort,
    natIp, portless || natPort < 0 ? null : natPort,
    dstIp, portless || dstPort < 0 ? null : dstPort,
    time, host,
  );
  rec.login = subscriberOf(s, colon, pp, replyDir);
  return [rec];
}

/** Whether the token at i is a RouterOS topic list (`system,info,account`, `dhcp,debug`): lowercase words and
 *  commas, with a severity word. Such lines come from RouterOS whatever they say. */
function topicsAt(s: string, i: number): boolean {
  let e = i;
  let commas = 0;
  while (e < s.length && e - i < 64) {
    const c = s.charCodeAt(e);
    if (c === 32) break;
    if (c === 44) commas++;
    else if (!((c >= 97 && c <= 122) || c === 45)) return false;
    e++;
  }
  if (commas === 0 || e >= s.length || s.charCodeAt(e) !== 32) return false;
  const t = s.slice(i, e);
  return t.indexOf(',info') >= 0 || t.indexOf(',warning') >= 0 || t.indexOf(',error') >= 0 || t.indexOf(',debug') >= 0 || t.indexOf(',critical') >= 0;
}

export const mikrotik: VendorParser = {
  name: VENDOR,
  describes: 'RouterOS v6/v7 firewall `action=log` lines (forward/postrouting with NAT, reply direction), default, syslog and CEF formats',
  detect(h) {
    const s = h.line;
    return s.indexOf(': in:', h.restStart) >= 0 || s.startsWith('CEF:0|MikroTik|', h.msgStart) || topicsAt(s, h.restStart);
  },
  parse({ h }: VendorInput): VendorVerdict {
    const s = h.line;
    if (s.startsWith('CEF:0|MikroTik|', h.msgStart)) {
      // CEF:0|Vendor|Product|Version|Class|Topics|Severity|ext — topics in field 6, message in msg=.
      let p = h.msgStart;
      for (let k = 0; k < 5; k++) {
        p = s.indexOf('|', p) + 1;
        if (p === 0) return null;
      }
      const topicsEnd = s.indexOf('|', p);
      if (topicsEnd < 0) return null;
      if (!s.startsWith('firewall', p)) return 'not_nat_event';
      const m = s.indexOf('msg=', topicsEnd);
      if (m < 0) return 'not_nat_event';
      const msg = cefValue(s, m + 4);
      const v = parseBody(msg, 0, h.time, h.host);
      return v ?? 'not_nat_event';
    }
    const v = parseBody(s, h.restStart, h.time, h.host);
    if (v === null) return topicsAt(s, h.restStart) && !s.startsWith('firewall', h.restStart) ? 'not_nat_event' : null;
    if (typeof v === 'string' && v === 'no_translation') {
      // srcnat/input/output/prerouting lines are logged before or without translation.
      const colon = findChainMarker(s, h.restStart);
      if (chainStartsWith(s, colon, 'dstnat')) return 'dnat_only';
    }
    return v;
  },
};
