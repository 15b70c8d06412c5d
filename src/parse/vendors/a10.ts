// A10 Thunder CGN (ACOS cgnv6 logging): CEF and ASCII formats, several logs per datagram (batched logging is on
// by default, so every marker in the message is parsed).
//
// CEF:   CEF:0|A10|CFW|6.0.0-P1|CGN 100|Nat Port Allocated|5|proto=UDP src=… spt=… sourceTranslatedAddress=…
//        sourceTranslatedPort=… [dst=… dpt=…]      100/101 port allocated/freed, 102/103 session created/deleted,
//        106/107 port batch allocated/freed with the last port in cn3.
// ASCII: NAT-UDP-C: SRC:sp<-->NAT:np to DST:dp                  (port mapping; event C/B create, D/F free, U update)
//        NAT-TCP-C: SRC:sp<->DST:dp, REMOTE:rp<-->NAT:np         (session: forward and reverse tuples)
//        FIXED-NAT-PORTS SRC->NAT:lo-hi                           (deterministic NAT block)
// Sources: veesix-networks/cgn-ec-consumer handlers a10.py, a10_cef.py and their tests; A10 aXAPI cgnv6 logging
// template (batched-logging-disable).

import { protoName } from '../ip.js';
import type { EventKind, NatRecord } from '../types.js';
import { cefParam, epIp, epPort, ipOf, portOf, scanIpPort, skipSp } from '../fields.js';
import { blockRecord, natRecord, type VendorInput, type VendorParser, type VendorVerdict } from '../vendor.js';

const VENDOR = 'a10';

const EPOCH_S_OR_MS = /^\d{10,13}$/;

function cefOne(s: string, at: number, end: number, time: number | null, host: string | null, out: NatRecord[]): boolean | 'skip' {
  const seg = s.slice(at, end);
  // CEF:0|A10|Product|Version|Class|Name|Severity|ext
  let p = 0;
  for (let k = 0; k < 4; k++) {
    p = seg.indexOf('|', p) + 1;
    if (p === 0) return false;
  }
  const classEnd = seg.indexOf('|', p);
  if (classEnd < 0) return false;
  const cls = seg.slice(p, classEnd).trim(); // `CGN 100`
  const num = cls.slice(cls.lastIndexOf(' ') + 1);
  let ext = classEnd;
  for (let k = 0; k < 2; k++) {
    ext = seg.indexOf('|', ext + 1);
    if (ext < 0) return false;
  }
  ext++;
  const protoRaw = cefParam(seg, 'proto', ext);
  const proto = protoRaw === null ? null : protoName(protoRaw);
  const src = ipOf(cefParam(seg, 'src', ext));
  const nat = ipOf(cefParam(seg, 'sourceTranslatedAddress', ext));
  const nport = portOf(cefParam(seg, 'sourceTranslatedPort', ext));
  const rt = cefParam(seg, 'rt', ext);
  const t = rt !== null && EPOCH_S_OR_MS.test(rt) ? (rt.length === 13 ? Number(rt) : Number(rt) * 1000) : time;
  switch (num) {
    case '100': case '101': case '102': case '103': {
      if (src === null || nat === null) return false;
      const event: EventKind = num === '100' ? 'mapping_create' : num === '101' ? 'mapping_delete' : num === '102' ? 'session_create' : 'session_close';
      out.push(natRecord(
        VENDOR, event, proto, src, portOf(cefParam(seg, 'spt', ext)), nat, nport,
        ipOf(cefParam(seg, 'dst', ext)), portOf(cefParam(seg, 'dpt', ext)), t, host,
      ));
      return true;
    }
    case '106': case '107': {
      const last = portOf(cefParam(seg, 'cn3', ext));
      if (src === null || nat === null) return false;
      out.push(blockRecord(VENDOR, num === '106' ? 'block_alloc' : 'block_release', proto, src, nat, nport, last, t, host));
      return true;
    }
    default:
      return 'skip';
  }
}

function asciiEvent(letter: string, session: boolean): EventKind | null {
  switch (letter) {
    case 'C': case 'B': case 'A': return session ? 'session_create' : 'mapping_create';
    case 'D': case 'F': case 'W': return session ? 'session_close' : 'mapping_delete';
    default: return null;
  }
}

/** One `NAT-PROTO-E: …` log at `at`; returns true, 'skip' (update / not NAT) or false (malformed). */
function asciiOne(s: string, at: number, time: number | null, host: string | null, out: NatRecord[]): boolean | 'skip' {
  const d1 = s.indexOf('-', at + 4);
  const colon = s.indexOf(':', at);
  if (d1 < 0 || colon < d1) return false;
  const proto = protoName(s.slice(at + 4, d1));
  const letter = s.slice(d1 + 1, colon);
  let p = skipSp(s, colon + 1);
  p = scanIpPort(s, p, 58);
  if (p < 0) return false;
  const src = epIp, sport = epPort;
  p = skipSp(s, p);
  if (s.startsWith('<-->', p) || s.startsWith('->', p)) {
    // port mapping: SRC<-->NAT to DST
    p = skipSp(s, p + (s.charCodeAt(p) === 60 ? 4 : 2));
    p = looseEndpoint(s, p);
    if (p < 0) return false;
    const nat = lIp, nport = lPort;
    let dst: string | null = null;
    let dport = -1;
    if (s.startsWith(' to ', p)) {
      const q = scanIpPort(s, skipSp(s, p + 4), 58);
      if (q > 0) {
        dst = epIp;
        dport = epPort;
      }
    }
    const event = asciiEvent(letter, false);
    if (event === null) return 'skip';
    if (nat === null) return false;
    out.push(natRecord(VENDOR, event, proto, src, sport < 0 ? null : sport, nat, nport < 0 ? null : nport, dst, dport < 0 ? null : dport, time, host));
    return true;
  }
  if (!s.startsWith('<->', p)) return false;
  // session: SRC<->DST, A<-->B  (reverse tuple: remote<-->nat; some releases print nat<-->remote)
  p = scanIpPort(s, skipSp(s, p + 3), 58);
  if (p < 0) return false;
  const dst = epIp, dport = epPort;
  if (s.charCodeAt(p) === 44) p++;
  p = scanIpPort(s, skipSp(s, p), 58);
  if (p < 0) return false;
  const a = epIp, ap = epPort;
  p = skipSp(s, p);
  if (!s.startsWith('<-->', p)) return false;
  p = scanIpPort(s, skipSp(s, p + 4), 58);
  if (p < 0) return false;
  const b = epIp, bp = epPort;
  const remoteFirst = a === dst && ap === dport;
  const nat = remoteFirst ? b : a;
  const nport = remoteFirst ? bp : ap;
  const event = asciiEvent(letter, true);
  if (event === null) return 'skip';
  if (nat === src && nport === sport) return 'skip';
  out.push(natRecord(VENDOR, event, proto, src, sport < 0 ? null : sport, nat, nport < 0 ? null : nport, dst, dport < 0 ? null : dport, time, host));
  return true;
}

// Registers of looseEndpoint.
let lIp: string | null = null;
let lPort = -1;

/** `IP:port`, tolerating a space after the colon (`150.150.150.150: 10000`, seen in A10's own examples). */
function looseEndpoint(s: string, i: number): number {
  let p = scanIpPort(s, i, 58);
  if (p >= 0) {
    lIp = epIp;
    lPort = epPort;
    return p;
  }
  p = scanIpPort(s, i, -1);
  if (p < 0 || s.charCodeAt(p) !== 58) return -1;
  lIp = epIp;
  const q = skipSp(s, p + 1);
  let e = q;
  while (e < s.length && s.charCodeAt(e) >= 48 && s.charCodeAt(e) <= 57) e++;
  const port = portOf(s.slice(q, e));
  if (port === null) return -1;
  lPort = port;
  return e;
}

function fixedOne(s: string, at: number, time: number | null, host: string | null, out: NatRecord[]): boolean {
  // FIXED-NAT-PORTS SRC->NAT:lo-hi
  let p = skipSp(s, at + 15);
  p = scanIpPort(s, p, -1);
  if (p < 0 || !s.startsWith('->', p)) return false;
  const src = epIp;
  p = scanIpPort(s, p + 2, -1);
  if (p < 0 || s.charCodeAt(p) !== 58) return false;
  const nat = epIp;
  const dash = s.indexOf('-', p);
  if (dash < 0) return false;
  let e = dash + 1;
  while (e < s.length && s.charCodeAt(e) >= 48 && s.charCodeAt(e) <= 57) e++;
  const lo = portOf(s.slice(p + 1, dash));
  const hi = portOf(s.slice(dash + 1, e));
  if (src === null || nat === null || lo === null || hi === null) return false;
  out.push(blockRecord(VENDOR, 'block_alloc', null, src, nat, lo, hi, time, host));
  return true;
}

function nextAscii(s: string, from: number): number {
  let i = s.indexOf('NAT-', from);
  while (i >= 0) {
    if (s.startsWith('TCP-', i + 4) || s.startsWith('UDP-', i + 4) || s.startsWith('ICMP-', i + 4) || s.startsWith('OTHERS-', i + 4) || s.startsWith('GRE-', i + 4)) {
      if (i === 0 || s.charCodeAt(i - 1) !== 37) return i; // not Cisco `%NAT-`
    }
    i = s.indexOf('NAT-', i + 4);
  }
  return -1;
}

export const a10: VendorParser = {
  name: VENDOR,
  describes: 'Thunder CGN (ACOS cgnv6): CEF CGN 100/101/102/103/106/107, ASCII NAT-<proto>-<event> and FIXED-NAT-PORTS, batched',
  detect(h) {
    const s = h.line;
    return s.indexOf('CEF:0|A10|', h.restStart) >= 0 || nextAscii(s, h.restStart) >= 0 || s.indexOf('FIXED-NAT-PORTS', h.restStart) >= 0;
  },
  parse({ h }: VendorInput): VendorVerdict {
    const s = h.line;
    const out: NatRecord[] = [];
    let skipped = 0;
    let at = s.indexOf('CEF:0|A10|', h.restStart);
    if (at >= 0) {
      while (at >= 0) {
        const next = s.indexOf('CEF:0|A10|', at + 10);
        const r = cefOne(s, at, next < 0 ? s.length : next, h.time, h.host, out);
        if (r === false) return null;
        if (r === 'skip') skipped++;
        at = next;
      }
    } else if ((at = s.indexOf('FIXED-NAT-PORTS', h.restStart)) >= 0) {
      while (at >= 0) {
        if (!fixedOne(s, at, h.time, h.host, out)) return null;
        at = s.indexOf('FIXED-NAT-PORTS', at + 15);
      }
    } else {
      at = nextAscii(s, h.restStart);
      while (at >= 0) {
        const r = asciiOne(s, at, h.time, h.host, out);
        if (r === false) return null;
        if (r === 'skip') skipped++;
        at = nextAscii(s, at + 4);
      }
    }
    if (out.length === 0) return skipped > 0 ? 'session_update' : null;
    return out;
  },
};
