// RADIUS accounting packets (RFC 2866, attributes of RFC 2865, 2869, 3162): decode one datagram
// into a session event, check and make Request/Response Authenticators. Every packet is hostile:
// the Length field is checked against the datagram, each attribute's length against what is left,
// and each value against its type; anything that does not hold is `malformed`, never an exception.
//
//   packet    := u8 code | u8 identifier | u16be length (20..4096) | 16 authenticator | attribute*
//   attribute := u8 type | u8 length (≥ 2, includes these two bytes) | value[length − 2]
//
// Accounting-Request authenticator (RFC 2866 §3): MD5(code | id | length | 16 × 0 | attributes | secret).
// Accounting-Response authenticator:               MD5(code | id | length | request auth | attributes | secret).
import { createHash, timingSafeEqual } from 'node:crypto';

export const CODE_ACCOUNTING_REQUEST = 4;
export const CODE_ACCOUNTING_RESPONSE = 5;
export const MIN_PACKET_BYTES = 20;
/** RFC 2865 §3: the largest packet. Longer datagrams are malformed. */
export const MAX_PACKET_BYTES = 4096;
/** Longest text kept from a string attribute (an attribute holds at most 253 bytes anyway). */
const MAX_TEXT = 253;

/** Acct-Status-Type values we keep (RFC 2866 §5.1), by name. */
export const STATUS_TYPES = { 1: 'start', 2: 'stop', 3: 'interim', 7: 'on', 8: 'off' } as const;
export type SessionStatus = (typeof STATUS_TYPES)[keyof typeof STATUS_TYPES];
/** Code of each status in a day file (radius_event.status): RFC 2866's own numbers. */
export const STATUS_CODE: Record<SessionStatus, number> = { start: 1, stop: 2, interim: 3, on: 7, off: 8 };

const A = {
  USER_NAME: 1,
  NAS_IP: 4,
  FRAMED_IP: 8,
  CALLING_STATION: 31,
  NAS_IDENTIFIER: 32,
  STATUS_TYPE: 40,
  DELAY_TIME: 41,
  SESSION_ID: 44,
  SESSION_TIME: 46,
  EVENT_TIMESTAMP: 55,
  NAS_IPV6: 95,
  FRAMED_IPV6_PREFIX: 97,
  DELEGATED_IPV6_PREFIX: 123,
} as const;

/** One session event: what MegaLog keeps of an Accounting-Request. */
export interface SessionEvent {
  status: SessionStatus;
  /** When it happened, ms since the epoch: Event-Timestamp, else receive time − Acct-Delay-Time. */
  time: number;
  login: string | null;
  framed_ip: string | null;
  /** Framed-IPv6-Prefix (else Delegated-IPv6-Prefix) as `addr/len`. */
  framed_ipv6_prefix: string | null;
  /** Calling-Station-Id, as a MAC `aa:bb:cc:dd:ee:ff` when it is one, else as sent. */
  mac: string | null;
  /** NAS-Identifier, else NAS-IP-Address / NAS-IPv6-Address. */
  nas: string | null;
  nas_ip: string | null;
  session_id: string;
  /** Acct-Session-Time, seconds (interim and stop). */
  session_time: number | null;
}

export interface Packet {
  code: number;
  id: number;
  /** The packet's own length (bytes after it in the datagram are padding, RFC 2865 §3). */
  length: number;
  authenticator: Buffer;
  attrs: { type: number; value: Buffer }[];
}

export type Malformed = { malformed: string };

/** Split a datagram into a packet; every length is checked. */
export function decodePacket(buf: Buffer): Packet | Malformed {
  if (buf.length < MIN_PACKET_BYTES) return { malformed: 'short' };
  if (buf.length > MAX_PACKET_BYTES) return { malformed: 'long' };
  const length = buf.readUInt16BE(2);
  if (length < MIN_PACKET_BYTES || length > buf.length) return { malformed: 'length' };
  const attrs: Packet['attrs'] = [];
  let at = MIN_PACKET_BYTES;
  while (at < length) {
    if (length - at < 2) return { malformed: 'attribute header' };
    const len = buf[at + 1]!;
    if (len < 2 || at + len > length) return { malformed: 'attribute length' };
    attrs.push({ type: buf[at]!, value: buf.subarray(at + 2, at + len) });
    at += len;
  }
  return { code: buf[0]!, id: buf[1]!, length, authenticator: buf.subarray(4, 20), attrs };
}

/** Whether an Accounting-Request's authenticator was made with `secret` (constant time). */
export function requestAuthenticatorOk(buf: Buffer, p: Packet, secret: Buffer): boolean {
  const h = createHash('md5');
  h.update(buf.subarray(0, 4));
  h.update(Buffer.alloc(16));
  h.update(buf.subarray(20, p.length));
  h.update(secret);
  return timingSafeEqual(h.digest(), p.authenticator);
}

/** An Accounting-Request signed with `secret` (tests and the detail-file import build packets with it). */
export function encodeRequest(id: number, attrs: { type: number; value: Buffer }[], secret: Buffer): Buffer {
  const body = Buffer.concat(attrs.map((a) => Buffer.concat([Buffer.from([a.type, a.value.length + 2]), a.value])));
  const buf = Buffer.alloc(20 + body.length);
  buf[0] = CODE_ACCOUNTING_REQUEST;
  buf[1] = id & 0xff;
  buf.writeUInt16BE(buf.length, 2);
  body.copy(buf, 20);
  createHash('md5').update(buf).update(secret).digest().copy(buf, 4); // authenticator field is zero while hashing
  return buf;
}

/** The Accounting-Response (no attributes) to request `p`. */
export function encodeResponse(p: Packet, secret: Buffer): Buffer {
  const out = Buffer.alloc(20);
  out[0] = CODE_ACCOUNTING_RESPONSE;
  out[1] = p.id;
  out.writeUInt16BE(20, 2);
  p.authenticator.copy(out, 4);
  createHash('md5').update(out).update(secret).digest().copy(out, 4);
  return out;
}

/** Whether `resp` is a valid Accounting-Response to `req` under `secret` (tests, and a NAS's view). */
export function responseOk(resp: Buffer, req: Packet, secret: Buffer): boolean {
  if (resp.length < 20 || resp[0] !== CODE_ACCOUNTING_RESPONSE || resp[1] !== req.id) return false;
  const copy = Buffer.from(resp.subarray(0, resp.readUInt16BE(2)));
  req.authenticator.copy(copy, 4);
  return createHash('md5').update(copy).update(secret).digest().equals(resp.subarray(4, 20));
}

/**
 * The session event an Accounting-Request carries, or why it is malformed. `recvMs` anchors
 * Acct-Delay-Time when there is no Event-Timestamp. Does not check the authenticator.
 */
export function sessionEventOf(buf: Buffer, recvMs: number): SessionEvent | Malformed {
  const p = decodePacket(buf);
  if ('malformed' in p) return p;
  if (p.code !== CODE_ACCOUNTING_REQUEST) return { malformed: 'not accounting-request' };
  return eventOfAttrs(p.attrs, recvMs);
}

/** The session event of a list of attributes (a packet's, or a detail file block's). */
export function eventOfAttrs(attrs: Packet['attrs'], recvMs: number): SessionEvent | Malformed {
  let status: SessionStatus | null = null;
  let eventTs: number | null = null;
  let delay = 0;
  const ev: Omit<SessionEvent, 'status' | 'time' | 'session_id'> & { session_id: string | null } = {
    login: null,
    framed_ip: null,
    framed_ipv6_prefix: null,
    mac: null,
    nas: null,
    nas_ip: null,
    session_id: null,
    session_time: null,
  };
  let nasId: string | null = null;
  let delegated: string | null = null;
  for (const { type, value: v } of attrs) {
    switch (type) {
      case A.USER_NAME:
        ev.login = text(v);
        break;
      case A.NAS_IP:
        if (v.length !== 4) return { malformed: 'NAS-IP-Address' };
        ev.nas_ip = ipv4(v);
        break;
      case A.NAS_IPV6:
        if (v.length !== 16) return { malformed: 'NAS-IPv6-Address' };
        ev.nas_ip ??= ipv6(v);
        break;
      case A.FRAMED_IP:
        if (v.length !== 4) return { malformed: 'Framed-IP-Address' };
        ev.framed_ip = ipv4(v);
        break;
      case A.FRAMED_IPV6_PREFIX:
      case A.DELEGATED_IPV6_PREFIX: {
        const pfx = prefix6(v);
        if (pfx == null) return { malformed: type === A.FRAMED_IPV6_PREFIX ? 'Framed-IPv6-Prefix' : 'Delegated-IPv6-Prefix' };
        if (type === A.FRAMED_IPV6_PREFIX) ev.framed_ipv6_prefix = pfx;
        else delegated = pfx;
        break;
      }
      case A.CALLING_STATION:
        ev.mac = macOf(text(v));
        break;
      case A.NAS_IDENTIFIER:
        nasId = text(v);
        break;
      case A.SESSION_ID:
        ev.session_id = text(v);
        break;
      case A.STATUS_TYPE: {
        if (v.length !== 4) return { malformed: 'Acct-Status-Type' };
        const s = STATUS_TYPES[v.readUInt32BE(0) as keyof typeof STATUS_TYPES];
        if (!s) return { malformed: 'Acct-Status-Type value' };
        status = s;
        break;
      }
      case A.DELAY_TIME:
        if (v.length !== 4) return { malformed: 'Acct-Delay-Time' };
        delay = v.readUInt32BE(0);
        break;
      case A.SESSION_TIME:
        if (v.length !== 4) return { malformed: 'Acct-Session-Time' };
        ev.session_time = v.readUInt32BE(0);
        break;
      case A.EVENT_TIMESTAMP:
        if (v.length !== 4) return { malformed: 'Event-Timestamp' };
        eventTs = v.readUInt32BE(0) * 1000;
        break;
      default:
        break; // other attributes (vendor-specific included) are kept in the packet only
    }
  }
  if (status == null) return { malformed: 'no Acct-Status-Type' };
  if (ev.session_id == null && status !== 'on' && status !== 'off') return { malformed: 'no Acct-Session-Id' };
  ev.framed_ipv6_prefix ??= delegated;
  ev.nas = nasId ?? ev.nas_ip;
  // A delay of more than a day is not a retransmission timer, it is garbage: keep the receive time.
  const time = eventTs ?? (delay <= 86_400 ? recvMs - delay * 1000 : recvMs);
  return { ...ev, status, time, session_id: ev.session_id ?? '' };
}

/** Attribute numbers by name, for the FreeRADIUS detail file import (sources/radius-detail.ts). */
export const ATTRIBUTE = A;

function text(v: Buffer): string {
  // Control characters would only serve to forge lines in a report: shown as U+FFFD.
  return v.subarray(0, MAX_TEXT).toString('utf8').replace(/[\u0000-\u001f\u007f]/g, '\ufffd');
}

function ipv4(v: Buffer): string {
  return `${v[0]}.${v[1]}.${v[2]}.${v[3]}`;
}

function ipv6(v: Buffer): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(v.readUInt16BE(i));
  // The longest run of two or more zero groups becomes "::" (RFC 5952 §4.2).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** RFC 3162 §2.3: reserved, prefix length (≤ 128), then the prefix's significant bytes. */
function prefix6(v: Buffer): string | null {
  if (v.length < 2 || v.length > 18) return null;
  const bits = v[1]!;
  if (bits > 128 || v.length - 2 < Math.ceil(bits / 8)) return null;
  const addr = Buffer.alloc(16);
  v.copy(addr, 0, 2, Math.min(v.length, 2 + Math.ceil(bits / 8)));
  return `${ipv6(addr)}/${bits}`;
}

/** A MAC in any of the usual spellings (aa-bb-…, aa:bb:…, aabb.ccdd.eeff, aabbccddeeff) as aa:bb:cc:dd:ee:ff; other ids as sent. */
export function macOf(s: string): string {
  const hex = s.replace(/[-:.]/g, '');
  if (/^[0-9a-fA-F]{12}$/.test(hex) && /^(?:[0-9a-fA-F]{2}([-:])(?:[0-9a-fA-F]{2}\1){4}[0-9a-fA-F]{2}|[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}|[0-9a-fA-F]{12})$/.test(s)) {
    return hex.toLowerCase().replace(/(..)(?!$)/g, '$1:');
  }
  return s;
}
