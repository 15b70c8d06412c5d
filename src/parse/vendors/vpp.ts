// FD.io VPP NAT plugin syslog (RFC 5424 with SD params after draft-ietf-behave-syslog-nat-logging):
//   <134>1 2018-11-12T11:25:30.252715Z 172.16.4.1 NAT 5901 SADD [nsess SSUBIX="0" SVLAN="0" IATYP="IPv4"
//   ISADDR="172.16.1.2" ISPORT="6303" XATYP="IPv4" XSADDR="10.0.0.3" XSPORT="16253" PROTO="6" XDADDR=… XDPORT=…]
// MSGID SADD/SDEL (session), APMADD/APMDEL (address and port mapping); SV6ENC, when present, is the DS-Lite B4
// address and identifies the subscriber. Sources: VPP syslog library docs (extras/syslog); the draft.

import { protoName } from '../ip.js';
import type { EventKind } from '../types.js';
import { ipOf, portOf, quotedParam } from '../fields.js';
import { hasMarker, natRecord, type VendorInput, type VendorParser, type VendorVerdict } from '../vendor.js';

const VENDOR = 'vpp';

function eventOf(id: string): EventKind | null {
  switch (id) {
    case 'SADD': return 'session_create';
    case 'SDEL': return 'session_close';
    case 'APMADD': return 'mapping_create';
    case 'APMDEL': return 'mapping_delete';
    default: return null;
  }
}

export const vpp: VendorParser = {
  name: VENDOR,
  describes: 'FD.io VPP NAT44/DS-Lite/NAT64 syslog: SADD/SDEL sessions, APMADD/APMDEL mappings (RFC 5424 SD)',
  detect: hasMarker('XSADDR="'),
  parse({ h }: VendorInput): VendorVerdict {
    const s = h.line;
    const from = h.restStart;
    let id = h.msgid;
    if (id === null) {
      for (const k of ['SADD', 'SDEL', 'APMADD', 'APMDEL']) if (s.indexOf(` ${k} `, from) >= 0) id = k;
    }
    const event = id === null ? null : eventOf(id);
    if (event === null) return 'not_nat_event';
    const b4 = ipOf(quotedParam(s, 'SV6ENC', from));
    const src = b4 ?? ipOf(quotedParam(s, 'ISADDR', from));
    const nat = ipOf(quotedParam(s, 'XSADDR', from));
    if (src === null || nat === null) return null;
    const pr = quotedParam(s, 'PROTO', from);
    const proto = pr === null ? null : protoName(pr);
    const dst = ipOf(quotedParam(s, 'XDADDR', from) ?? quotedParam(s, 'IDADDR', from));
    const dport = portOf(quotedParam(s, 'XDPORT', from) ?? quotedParam(s, 'IDPORT', from));
    return [natRecord(
      VENDOR, event, proto, src, portOf(quotedParam(s, 'ISPORT', from)), nat, portOf(quotedParam(s, 'XSPORT', from)),
      dst, dport, h.time, h.host,
    )];
  },
};
