// F5 BIG-IP CGNAT (LSN pools): the default log format and the Splunk key=value format.
//
// default: LSN_ADD CLIENT%rd:port PROTO XLATE%rd:port DST DPORT     (DST may also read `ip%rd:port`)
//          LSN_DELETE …; LSN_INBOUND_ADD/DELETE (inbound to an existing mapping); LSN_PB_ALLOCATED/RELEASED with
//          XLATE%rd:lo-hi (port block)
// splunk:  lsn_event="LSN_DELETE",start="1562092616047",cli="…",nat="…",duration="8080",pem_subscriber_id="…"
//          (`start` in ms wins over the header; cli/nat may carry %rd and :port; separate *_port keys also read)
// Sources: F5 techdocs "Using CGNAT Logging and Subscriber Traceability"; F5Networks/f5-telemetry-streaming
// tests (CGNAT keys); veesix-networks/cgn-ec-consumer patterns/f5.py and tests/fake_syslog_f5_bigip.py.

import { parseIP, parsePort, protoName } from '../ip.js';
import type { EventKind } from '../types.js';
import { decimalEpochMs, kvParam, skipSp, tokEnd } from '../fields.js';
import { blockRecord, natRecord, type VendorInput, type VendorParser, type VendorVerdict } from '../vendor.js';

const VENDOR = 'f5';

// Registers of the last endpoint read.
let eIp: string | null = null;
let ePort = -1;
let eLast = -1;

/** `ip`, `ip%rd`, `ip%rd:port`, `ip%rd:lo-hi`, `ip:port`, `[v6]:port`; false when the address is bad. */
function endpoint(tok: string): boolean {
  eIp = null;
  ePort = -1;
  eLast = -1;
  let addr = tok;
  let port: string | null = null;
  if (tok.charCodeAt(0) === 91) {
    const close = tok.indexOf(']');
    if (close < 0) return false;
    addr = tok.slice(1, close);
    if (tok.charCodeAt(close + 1) === 58) port = tok.slice(close + 2);
  } else {
    const pct = tok.indexOf('%');
    if (pct >= 0) {
      addr = tok.slice(0, pct);
      const c = tok.indexOf(':', pct);
      if (c >= 0) port = tok.slice(c + 1);
    } else {
      const first = tok.indexOf(':');
      if (first >= 0 && first === tok.lastIndexOf(':')) {
        addr = tok.slice(0, first);
        port = tok.slice(first + 1);
      }
    }
  }
  const pct6 = addr.indexOf('%');
  if (pct6 >= 0) addr = addr.slice(0, pct6);
  eIp = parseIP(addr);
  if (eIp === null) return false;
  if (port !== null && port !== '') {
    const dash = port.indexOf('-');
    if (dash > 0) {
      ePort = parsePort(port.slice(0, dash));
      eLast = parsePort(port.slice(dash + 1));
      if (ePort < 0 || eLast < 0) return false;
    } else {
      ePort = parsePort(port);
      if (ePort < 0) return false;
    }
  }
  return true;
}

const PROTO_NUM = /^\d{1,3}$/;
const PROTO_WORD = /^[a-z]+$/i;

function eventOf(name: string, hasDst: boolean): EventKind | 'inbound' | null {
  switch (name) {
    case 'LSN_ADD': return hasDst ? 'session_create' : 'mapping_create';
    case 'LSN_DELETE': return hasDst ? 'session_close' : 'mapping_delete';
    case 'LSN_PB_ALLOCATED': case 'LSN_PB_ALLOC': return 'block_alloc';
    case 'LSN_PB_RELEASED': case 'LSN_PB_RELEASE': return 'block_release';
    case 'LSN_INBOUND_ADD': case 'LSN_INBOUND_DELETE': return 'inbound';
    default: return null;
  }
}

function splunk(s: string, from: number, time: number | null, host: string | null): VendorVerdict {
  const name = kvParam(s, 'lsn_event', from);
  if (name === null) return null;
  const cli = kvParam(s, 'cli', from) ?? kvParam(s, 'client', from);
  const nat = kvParam(s, 'nat', from) ?? kvParam(s, 'translated', from);
  if (cli === null || nat === null || !endpoint(cli)) return null;
  const src = eIp;
  let sport = ePort;
  if (!endpoint(nat)) return null;
  const xip = eIp;
  let nport = ePort;
  const last = eLast;
  const cp = kvParam(s, 'cli_port', from);
  if (sport < 0 && cp !== null) sport = parsePort(cp);
  const np = kvParam(s, 'nat_port', from);
  if (nport < 0 && np !== null) nport = parsePort(np);
  let dst: string | null = null;
  let dport = -1;
  const d = kvParam(s, 'dst', from) ?? kvParam(s, 'dest', from);
  if (d !== null && endpoint(d)) {
    dst = eIp;
    dport = ePort;
    const dp = kvParam(s, 'dst_port', from);
    if (dport < 0 && dp !== null) dport = parsePort(dp);
  }
  const pr = kvParam(s, 'proto', from) ?? kvParam(s, 'protocol', from);
  const proto = pr !== null && pr !== '' ? protoName(pr) : null;
  const t = decimalEpochMs(kvParam(s, 'start', from)) ?? time;
  const event = eventOf(name, dst !== null);
  if (event === null) return 'not_nat_event';
  if (event === 'inbound') return 'session_update';
  if (event === 'block_alloc' || event === 'block_release') {
    return [blockRecord(VENDOR, event, proto, src, xip, nport < 0 ? null : nport, last < 0 ? null : last, t, host)];
  }
  return [natRecord(VENDOR, event, proto, src, sport < 0 ? null : sport, xip, nport < 0 ? null : nport, dst, dport < 0 ? null : dport, t, host)];
}

function plain(s: string, at: number, time: number | null, host: string | null): VendorVerdict {
  const ne = tokEnd(s, at);
  const name = s.slice(at, ne);
  const toks: string[] = [];
  let p = skipSp(s, ne);
  while (p < s.length && toks.length < 6) {
    const e = tokEnd(s, p);
    toks.push(s.slice(p, e));
    p = skipSp(s, e);
  }
  if (toks.length < 2) return eventOf(name, false) === null ? 'not_nat_event' : null;
  if (!endpoint(toks[0])) return null;
  const src = eIp, sport = ePort;
  // proto is optional (port-block lines carry none)
  let k = 1;
  let proto: string | null = null;
  if (PROTO_NUM.test(toks[1]) || PROTO_WORD.test(toks[1])) {
    proto = toks[1] === '-' ? null : protoName(toks[1]);
    k = 2;
  }
  if (toks[k] === '-') k++;
  if (k >= toks.length || !endpoint(toks[k])) return null;
  const nat = eIp, nport = ePort, last = eLast;
  let dst: string | null = null;
  let dport = -1;
  if (k + 1 < toks.length && endpoint(toks[k + 1])) {
    dst = eIp;
    dport = ePort;
    if (dport < 0 && k + 2 < toks.length) dport = parsePort(toks[k + 2]);
  }
  const event = eventOf(name, dst !== null);
  if (event === null) return 'not_nat_event';
  if (event === 'inbound') return 'session_update';
  if (event === 'block_alloc' || event === 'block_release') {
    return [blockRecord(VENDOR, event, proto, src, nat, nport < 0 ? null : nport, last < 0 ? null : last, time, host)];
  }
  return [natRecord(VENDOR, event, proto, src, sport < 0 ? null : sport, nat, nport < 0 ? null : nport, dst, dport < 0 ? null : dport, time, host)];
}

export const f5: VendorParser = {
  name: VENDOR,
  describes: 'BIG-IP CGNAT (LSN): LSN_ADD/LSN_DELETE, LSN_PB_ALLOCATED/RELEASED, default and Splunk key=value formats',
  detect(h) {
    const s = h.line;
    return s.indexOf('LSN_', h.restStart) >= 0;
  },
  parse({ h }: VendorInput): VendorVerdict {
    const s = h.line;
    const kv = s.indexOf('lsn_event=', h.restStart);
    if (kv >= 0) return splunk(s, kv, h.time, h.host);
    let at = s.indexOf('LSN_', h.restStart);
    while (at > 0 && s.charCodeAt(at - 1) !== 32 && s.charCodeAt(at - 1) !== 58) at = s.indexOf('LSN_', at + 4);
    if (at < 0) return null;
    return plain(s, at, h.time, h.host);
  },
};
