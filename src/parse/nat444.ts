// The `SCENE:EventType [L4 PRIV PRIV6 PUB PRIVPORT PUBPORT - DST DPORT]` family shared by Huawei NE40E/NE8000 CGN
// flow syslog and Hillstone (and seen from other Chinese-market CGNs). `-` (or an en dash) marks an absent field;
// NAT64/DS-Lite put the IPv6 inside address in the third slot. Used by vendors/huawei.ts and vendors/hillstone.ts.
import { protoName } from './ip.js';
import type { EventKind, NatRecord } from './types.js';
import { ipOf, portOf, skipSp, tokEnd } from './fields.js';
import { natRecord, type VendorVerdict } from './vendor.js';

const SCENES = ['NAT444:', 'NAT64:', 'DSLITE:', 'NAT44:'];

/** Index of the scene marker (`NAT444:` …) from `from`, or -1. */
export function findScene(s: string, from: number): number {
  for (let k = 0; k < SCENES.length; k++) {
    const i = s.indexOf(SCENES[k], from);
    if (i >= 0) return i;
  }
  return -1;
}

/** Whether the event word after the scene starts with a capital letter (Huawei) or not (Hillstone). */
export function sceneEventCapitalised(s: string, scene: number): boolean {
  const c = s.indexOf(':', scene) + 1;
  const ch = s.charCodeAt(c);
  return ch >= 65 && ch <= 90;
}

function absent(v: string | undefined): string | null {
  return v === undefined || v === '-' || v === '\u2013' || v === '' ? null : v;
}

const slots = new Array<string>(10);

/** Parse the event and its bracketed record(s) at `scene`. */
export function parseScene(vendor: string, s: string, scene: number, time: number | null, host: string | null): VendorVerdict {
  const colon = s.indexOf(':', scene);
  const evEnd = tokEnd(s, colon + 1);
  const ev = s.slice(colon + 1, evEnd).toLowerCase();
  let event: EventKind;
  if (ev === 'sessionbaseda' || ev === 'sessiona' || ev === 'sessionbasedad') event = 'session_create';
  else if (ev === 'sessionbasedw' || ev === 'sessionw' || ev === 'sessionbasedwd') event = 'session_close';
  else return ev.indexOf('runout') >= 0 || ev.indexOf('alarm') >= 0 ? 'not_nat_event' : null;
  const out: NatRecord[] = [];
  let p = skipSp(s, evEnd);
  while (p < s.length && s.charCodeAt(p) === 91) {
    const close = s.indexOf(']', p);
    if (close < 0) return null;
    let n = 0;
    let q = p + 1;
    while (q < close && n < 10) {
      q = skipSp(s, q);
      if (q >= close) break;
      let e = q;
      while (e < close && s.charCodeAt(e) !== 32) e++;
      slots[n++] = s.slice(q, e);
      q = e;
    }
    if (n < 6) return null;
    const l4 = absent(slots[0]);
    const proto = l4 === null ? null : protoName(l4);
    const v6 = absent(slots[2]);
    const src = v6 !== null ? ipOf(v6) : ipOf(absent(slots[1]));
    const nat = ipOf(absent(slots[3]));
    if (src === null || nat === null) return null;
    const sport = portOf(absent(slots[4]));
    const nport = portOf(absent(slots[5]));
    const dst = n > 7 ? ipOf(absent(slots[7])) : null;
    const dport = n > 8 ? portOf(absent(slots[8])) : null;
    out.push(natRecord(vendor, event, proto, src, sport, nat, nport, dst, dport, time, host));
    p = skipSp(s, close + 1);
    if (s.charCodeAt(p) === 46) p++; // trailing `.`
  }
  return out.length > 0 ? out : null;
}
