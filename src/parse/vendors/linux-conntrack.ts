// Linux (accel-ppp + iptables/nftables) NAT through conntrack events: `conntrack -E` (with `-o timestamp`,
// `-o extended`, `-o id`) and ulogd2 NFCT text (`ORIG: SRC=… , REPLY: SRC=…`). SNAT shows as a reply tuple whose
// destination differs from the original source; the translated address is that reply destination.
//
//   [1757235600.250000]    [NEW] tcp 6 120 SYN_SENT src=A dst=B sport=a dport=b [UNREPLIED] src=B dst=N sport=b dport=n
//   [DESTROY] tcp 6 src=… (no timeout or state);  [UPDATE] … → session_update
//   ulogd[1770]: [DESTROY] ORIG: SRC=A DST=B PROTO=TCP SPT=a DPT=b PKTS=… , REPLY: SRC=B DST=N PROTO=TCP SPT=b DPT=n
// Kernel LOG / nftables `log prefix` lines never carry the translated address and are not parsed here.
// Sources: conntrack-tools; public conntrack event parsers quoted in the fixtures; ulogd2 NFCT/PRINTFLOW output.

import { parseIP, parsePort, protoName } from '../ip.js';
import type { EventKind } from '../types.js';
import { decimalEpochMs } from '../fields.js';
import { natRecord, type VendorInput, type VendorParser, type VendorVerdict } from '../vendor.js';

const VENDOR = 'linux-conntrack';

const WS = /\s+/;
const PROTO_WORD = /^[a-z][a-z0-9-]*$/;

interface Tuple {
  src: string | null;
  dst: string | null;
  sport: number;
  dport: number;
  id: number;
}

function emptyTuple(): Tuple {
  return { src: null, dst: null, sport: -1, dport: -1, id: -1 };
}

function eventAt(s: string, from: number): { at: number; kind: string } | null {
  let i = s.indexOf('[', from);
  while (i >= 0) {
    const e = s.indexOf(']', i);
    if (e < 0) return null;
    const k = s.slice(i + 1, e);
    if (k === 'NEW' || k === 'DESTROY' || k === 'UPDATE') return { at: e + 1, kind: k };
    i = s.indexOf('[', i + 1);
  }
  return null;
}

function verdict(kind: string, proto: string | null, o: Tuple, r: Tuple, time: number | null, host: string | null): VendorVerdict {
  if (o.src === null || r.dst === null) return null;
  if (kind === 'UPDATE') return 'session_update';
  const icmp = proto === 'icmp' || proto === 'ipv6-icmp';
  const snat = r.dst !== o.src || (!icmp && r.dport !== o.sport) || (icmp && r.id !== o.id);
  if (!snat) return r.src !== o.dst || r.sport !== o.dport ? 'dnat_only' : 'no_translation';
  const event: EventKind = kind === 'NEW' ? 'session_create' : 'session_close';
  const sport = icmp ? o.id : o.sport;
  const nport = icmp ? r.id : r.dport;
  return [natRecord(
    VENDOR, event, proto, o.src, sport < 0 ? null : sport, r.dst, nport < 0 ? null : nport,
    o.dst, !icmp && o.dport >= 0 ? o.dport : null, time, host,
  )];
}

function conntrackE(s: string, from: number, kind: string, time: number | null, host: string | null): VendorVerdict {
  const toks = s.slice(from).split(WS, 48);
  let proto: string | null = null;
  const tuples = [emptyTuple(), emptyTuple()];
  let t = -1;
  for (const tok of toks) {
    if (tok === '') continue;
    const eq = tok.indexOf('=');
    if (eq < 0) {
      if (proto === null && t < 0 && PROTO_WORD.test(tok) && tok !== 'ipv4' && tok !== 'ipv6') proto = protoName(tok);
      continue;
    }
    const k = tok.slice(0, eq);
    const v = tok.slice(eq + 1);
    if (k === 'src') {
      t++;
      if (t > 1) break;
      tuples[t].src = parseIP(v);
      continue;
    }
    if (t < 0 || t > 1) continue;
    const tu = tuples[t];
    if (k === 'dst' && tu.dst === null) tu.dst = parseIP(v);
    else if (k === 'sport' && tu.sport < 0) tu.sport = parsePort(v);
    else if (k === 'dport' && tu.dport < 0) tu.dport = parsePort(v);
    else if (k === 'id' && tu.id < 0) tu.id = parsePort(v);
  }
  if (t < 1) return null;
  return verdict(kind, proto, tuples[0], tuples[1], time, host);
}

function ulogd(s: string, from: number, kind: string, time: number | null, host: string | null): VendorVerdict {
  const o = s.indexOf('ORIG:', from);
  const r = s.indexOf('REPLY:', o);
  if (o < 0 || r < 0) return null;
  const a = emptyTuple();
  const b = emptyTuple();
  const proto = readUlogd(s, o + 5, r, a);
  readUlogd(s, r + 6, s.length, b);
  return verdict(kind, proto, a, b, time, host);
}

/** Fill `t` from ulogd `KEY=value` tokens in [a, b); returns the protocol. */
function readUlogd(s: string, a: number, b: number, t: Tuple): string | null {
  let proto: string | null = null;
  for (const tok of s.slice(a, b).split(WS, 40)) {
    const eq = tok.indexOf('=');
    if (eq < 0) continue;
    const k = tok.slice(0, eq);
    const v = tok.slice(eq + 1);
    if (k === 'SRC') t.src = parseIP(v);
    else if (k === 'DST') t.dst = parseIP(v);
    else if (k === 'SPT') t.sport = parsePort(v);
    else if (k === 'DPT') t.dport = parsePort(v);
    else if (k === 'PROTO') proto = protoName(v);
    else if (k === 'ID') t.id = parsePort(v);
  }
  return proto;
}

export const linuxConntrack: VendorParser = {
  name: VENDOR,
  describes: 'Linux netfilter conntrack events (conntrack -E, -o timestamp/extended/id) and ulogd2 NFCT text',
  detect(h) {
    const s = h.line;
    const ev = s.indexOf('[NEW]', h.restStart) >= 0 || s.indexOf('[DESTROY]', h.restStart) >= 0 || s.indexOf('[UPDATE]', h.restStart) >= 0;
    return ev && (s.indexOf(' src=', h.restStart) >= 0 || s.indexOf('ORIG: SRC=', h.restStart) >= 0);
  },
  parse({ h }: VendorInput): VendorVerdict {
    const s = h.line;
    const ev = eventAt(s, h.restStart);
    if (ev === null) return null;
    // `-o timestamp`: a leading [sec.usec] wins over the header
    let time = h.time;
    const b = s.indexOf('[', h.restStart);
    if (b >= 0 && b < ev.at) {
      const e = s.indexOf(']', b);
      const t = e > b ? decimalEpochMs(s.slice(b + 1, e)) : null;
      if (t !== null) time = t;
    }
    if (s.indexOf('ORIG: SRC=', ev.at) >= 0) return ulogd(s, ev.at, ev.kind, time, h.host);
    return conntrackE(s, ev.at, ev.kind, time, h.host);
  },
};
