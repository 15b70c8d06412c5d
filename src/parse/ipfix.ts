// IPFIX (RFC 7011, version 10) and NetFlow v9 (RFC 3954) NAT event logging (RFC 8158), as the big
// CGN boxes export it: NAT44 session create/delete, port block allocate/release, address bindings.
//
// Data records only mean something with the template that describes them, and an exporter sends a
// template once in a while, not with every packet. So that a spooled message can be decoded alone
// (after a restart, on replay, as evidence), the receiver spools each packet with the templates its
// data sets use and it does not carry itself:
//
//   spooled := u8 1 | u16 context_len | context | packet
//   context := template sets (v10: set id 2 and 3; v9: flowset id 0 and 1) holding those templates,
//              their records byte for byte as the exporter sent them
//   packet  := the datagram as received (the evidence, unchanged)
//
// Code points (IANA IPFIX information elements; NetFlow v9 and Cisco NSEL use the same numbers):
// 8 sourceIPv4Address, 27 sourceIPv6Address, 7 sourceTransportPort, 12/11 destination address/port,
// 4 protocolIdentifier, 225 postNATSourceIPv4Address, 227 postNAPTSourceTransportPort, 230 natEvent,
// 233 firewallEvent (Cisco NSEL, when natEvent is absent), 361/362/364 portRangeStart/End/NumPorts,
// 322/323/324 observationTime s/ms/µs, 152 flowStartMilliseconds.
// natEvent: RFC 8158's values, except that 3 and 4 are NAT64 create/delete only with an IPv6 source:
// exporters built on the earlier draft (Cisco CGN) send 3 for "pool exhausted", which is no mapping.
// Every byte is input from outside: lengths are checked before each read, and a bad set ends the
// decoding of that packet with what was read before it.
import { parseIP } from './ip.js';
import type { EventKind, NatRecord, ParseResult } from './types.js';

export const IPFIX_VENDOR = 'ipfix';

interface Field {
  id: number;
  /** 0 for IANA elements. */
  pen: number;
  /** 65535: variable length (IPFIX only). */
  len: number;
}

interface Template {
  fields: Field[];
  /** Options templates describe metadata, not NAT events: their data records are skipped. */
  options: boolean;
  /** The template record's bytes as the exporter sent them. */
  raw: Buffer;
}

/** Templates an exporter defined, per (sender, version, observation domain), bounded. */
export class TemplateCache {
  private readonly byKey = new Map<string, Map<number, Template>>();
  constructor(private readonly maxExporters = 1024, private readonly maxPerExporter = 4096) {}

  scope(key: string, create: boolean): Map<number, Template> | undefined {
    let m = this.byKey.get(key);
    if (!m && create) {
      if (this.byKey.size >= this.maxExporters) this.byKey.delete(this.byKey.keys().next().value as string);
      this.byKey.set(key, (m = new Map()));
    }
    return m;
  }

  put(key: string, id: number, t: Template | null): void {
    const m = this.scope(key, t !== null)!;
    if (!m) return;
    m.delete(id);
    if (!t) return;
    if (m.size >= this.maxPerExporter) m.delete(m.keys().next().value as number);
    m.set(id, t);
  }
}

export interface DecodedPacket {
  version: 9 | 10;
  domain: number;
  /** Export time of the packet, ms since the epoch. */
  exportMs: number;
  records: NatRecord[];
  /** Data records of known templates that were no NAT mapping (options, pool exhausted, quota…). */
  ignored: number;
  /** Template ids the data sets used: with `learned`, what makes the packet self-contained. */
  used: Set<number>;
  /** Data sets whose template was unknown (skipped). */
  unknown: number;
  /** Why decoding stopped early, if it did. */
  error: string | null;
}

/** 'ipfix' | 'netflow9' when the bytes start like such a packet, else null. */
export function packetVersion(b: Buffer): 9 | 10 | null {
  if (b.length < 16) return null;
  const v = b.readUInt16BE(0);
  if (v === 10 && b.readUInt16BE(2) <= b.length && b.readUInt16BE(2) >= 16) return 10;
  if (v === 9 && b.length >= 20) return 9;
  return null;
}

/**
 * Decode one packet from `exporter`, learning its templates into `cache` and reading its data sets
 * with what the cache holds. Never throws on bad bytes.
 */
export function decodePacket(b: Buffer, exporter: string, cache: TemplateCache): DecodedPacket | null {
  const version = packetVersion(b);
  if (!version) return null;
  const headerLen = version === 10 ? 16 : 20;
  const end = version === 10 ? b.readUInt16BE(2) : b.length;
  const exportMs = b.readUInt32BE(version === 10 ? 4 : 8) * 1000;
  const domain = b.readUInt32BE(version === 10 ? 12 : 16);
  const key = `${exporter}|${version}|${domain}`;
  const out: DecodedPacket = { version, domain, exportMs, records: [], ignored: 0, used: new Set(), unknown: 0, error: null };
  let at = headerLen;
  while (at + 4 <= end) {
    const setId = b.readUInt16BE(at);
    const setLen = b.readUInt16BE(at + 2);
    if (setLen < 4 || at + setLen > end) {
      out.error = `set at byte ${at}: length ${setLen} runs past the packet`;
      break;
    }
    const body = b.subarray(at + 4, at + setLen);
    const isTemplate = version === 10 ? setId === 2 || setId === 3 : setId === 0 || setId === 1;
    if (isTemplate) {
      const err = learnTemplates(body, version, version === 10 ? setId === 3 : setId === 1, key, cache);
      if (err) {
        out.error = err;
        break;
      }
    } else if (setId >= 256) {
      const t = cache.scope(key, false)?.get(setId);
      if (!t) out.unknown++;
      else {
        out.used.add(setId);
        readData(body, t, out, exportMs);
      }
    }
    at += setLen;
  }
  return out;
}

function learnTemplates(body: Buffer, version: 9 | 10, options: boolean, key: string, cache: TemplateCache): string | null {
  let at = 0;
  while (at + 4 <= body.length) {
    const start = at;
    const id = body.readUInt16BE(at);
    let count = body.readUInt16BE(at + 2);
    at += 4;
    if (id < 256) return at - 4 === 0 ? `template id ${id} below 256` : null; // padding at the end of the set
    if (options) {
      if (version === 10) {
        if (count === 0) {
          cache.put(key, id, null); // withdrawal
          continue;
        }
        if (at + 2 > body.length) return 'options template cut short';
        at += 2; // scope field count: the fields follow all the same
      } else {
        // v9: option scope length and option length, in bytes of 4-byte field specifiers
        const scopeLen = count;
        if (at + 2 > body.length) return 'options template cut short';
        const optLen = body.readUInt16BE(at);
        at += 2;
        count = (scopeLen + optLen) / 4;
        if (!Number.isInteger(count)) return `options template ${id}: lengths not a multiple of 4`;
      }
    } else if (count === 0) {
      cache.put(key, id, null); // withdrawal (IPFIX)
      continue;
    }
    if (count > 512) return `template ${id}: ${count} fields`;
    const fields: Field[] = [];
    for (let i = 0; i < count; i++) {
      if (at + 4 > body.length) return `template ${id} cut short`;
      let fid = body.readUInt16BE(at);
      const len = body.readUInt16BE(at + 2);
      at += 4;
      let pen = 0;
      if (version === 10 && fid & 0x8000) {
        if (at + 4 > body.length) return `template ${id} cut short`;
        fid &= 0x7fff;
        pen = body.readUInt32BE(at);
        at += 4;
      }
      if (len === 0 || (len === 65535 && version === 9)) return `template ${id}: field ${fid} of length ${len}`;
      fields.push({ id: fid, pen, len });
    }
    cache.put(key, id, { fields, options, raw: Buffer.from(body.subarray(start, at)) });
  }
  return null;
}

const F = { SRC4: 8, SRC6: 27, SPORT: 7, DST4: 12, DPORT: 11, PROTO: 4, NAT4: 225, NATPORT: 227, NAT_EVENT: 230, FW_EVENT: 233, RANGE_START: 361, RANGE_END: 362, RANGE_NUM: 364, OBS_S: 322, OBS_MS: 323, OBS_US: 324, START_MS: 152 } as const;
const ipv4Of = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
/** Canonical text of 16 address bytes (parse/ip.ts's form: compressed, lowercase). */
function ipv6Of(b: Buffer): string | null {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return parseIP(groups.join(':'));
}
const PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 47: 'gre', 58: 'icmpv6' };

/** An unsigned big-endian number of up to 8 bytes (beyond 2^53 rounded: times and ports never are). */
function uint(b: Buffer, at: number, len: number): number {
  let v = 0;
  for (let i = 0; i < len; i++) v = v * 256 + b[at + i]!;
  return v;
}

function readData(body: Buffer, t: Template, out: DecodedPacket, exportMs: number): void {
  let at = 0;
  const minLen = t.fields.reduce((n, f) => n + (f.len === 65535 ? 1 : f.len), 0);
  while (at + minLen <= body.length && minLen > 0) {
    const v = new Map<number, { at: number; len: number }>();
    for (const f of t.fields) {
      let len = f.len;
      if (len === 65535) {
        if (at + 1 > body.length) return;
        len = body[at]!;
        at++;
        if (len === 255) {
          if (at + 2 > body.length) return;
          len = body.readUInt16BE(at);
          at += 2;
        }
      }
      if (at + len > body.length) return;
      if (f.pen === 0 && !v.has(f.id)) v.set(f.id, { at, len });
      at += len;
    }
    if (t.options) {
      out.ignored++;
      continue;
    }
    const rec = natRecord(body, v, exportMs);
    if (rec) out.records.push(rec);
    else out.ignored++;
  }
}

function natRecord(b: Buffer, v: Map<number, { at: number; len: number }>, exportMs: number): NatRecord | null {
  const num = (id: number): number | null => {
    const f = v.get(id);
    return f && f.len <= 8 ? uint(b, f.at, f.len) : null;
  };
  const v4 = (id: number): string | null => {
    const f = v.get(id);
    return f && f.len === 4 ? ipv4Of(uint(b, f.at, 4)) : null;
  };
  const src6 = v.get(F.SRC6);
  const srcIp = v4(F.SRC4) ?? (src6 && src6.len === 16 ? ipv6Of(b.subarray(src6.at, src6.at + 16)) : null);
  const natIp = v4(F.NAT4);
  if (!natIp) return null;
  let event: EventKind | null;
  const nat = num(F.NAT_EVENT);
  if (nat !== null) event = natEventKind(nat, src6 !== undefined && v4(F.SRC4) === null);
  else {
    const fw = num(F.FW_EVENT); // Cisco NSEL: 1 created, 2 deleted
    event = fw === 1 ? 'session_create' : fw === 2 ? 'session_close' : null;
  }
  if (!event) return null;
  const block = event === 'block_alloc' || event === 'block_release';
  const start = num(F.RANGE_START);
  let rangeEnd = num(F.RANGE_END);
  if (block && rangeEnd === null && start !== null && num(F.RANGE_NUM)) rangeEnd = start + num(F.RANGE_NUM)! - 1;
  if (block && (start === null || rangeEnd === null || rangeEnd < start || rangeEnd > 65535)) return null;
  const obsUs = num(F.OBS_US);
  const time = num(F.OBS_MS) ?? num(F.START_MS) ?? (num(F.OBS_S) !== null ? num(F.OBS_S)! * 1000 : null) ?? (obsUs !== null ? Math.floor(obsUs / 1000) : null) ?? exportMs;
  const proto = num(F.PROTO);
  const mapping = event === 'mapping_create' || event === 'mapping_delete';
  return {
    vendor: IPFIX_VENDOR,
    event,
    proto: proto === null ? null : PROTO[proto] ?? String(proto),
    src_ip: srcIp,
    src_port: block || mapping ? null : num(F.SPORT),
    nat_ip: natIp,
    nat_port: block || mapping ? null : num(F.NATPORT),
    nat_port_start: block ? start : null,
    nat_port_end: block ? rangeEnd : null,
    dst_ip: v4(F.DST4),
    dst_port: num(F.DPORT),
    time,
    host: null,
    login: null,
  };
}

/** RFC 8158 natEvent → our event; null for what maps nothing (exhausted, quota, threshold…). */
function natEventKind(e: number, ipv6Source: boolean): EventKind | null {
  switch (e) {
    case 1:
      return 'session_create';
    case 2:
      return 'session_close';
    case 3:
      return ipv6Source ? 'session_create' : null; // NAT64 create, or the draft's "pool exhausted"
    case 4:
      return ipv6Source ? 'session_close' : null;
    case 5:
    case 7:
    case 12:
    case 14:
      return 'mapping_create'; // BIB / address binding create
    case 6:
    case 8:
    case 13:
    case 15:
      return 'mapping_delete';
    case 16:
    case 18:
      return 'block_alloc';
    case 17:
    case 19:
      return 'block_release';
    default:
      return null;
  }
}

/**
 * The spooled form of a packet (see the header): the templates it uses and does not carry, ahead of
 * the packet itself. `decoded` is decodePacket's answer for it, `cache` the exporter's templates.
 */
export function selfContained(packet: Buffer, exporter: string, decoded: DecodedPacket, cache: TemplateCache): Buffer {
  const own = ownTemplateIds(packet, decoded.version);
  const scope = cache.scope(`${exporter}|${decoded.version}|${decoded.domain}`, false);
  const plain: Buffer[] = [];
  const opts: Buffer[] = [];
  for (const id of decoded.used) {
    if (own.has(id)) continue;
    const t = scope?.get(id);
    if (t) (t.options ? opts : plain).push(t.raw);
  }
  const sets: Buffer[] = [];
  const set = (id: number, recs: Buffer[]) => {
    if (!recs.length) return;
    const body = Buffer.concat(recs);
    const h = Buffer.alloc(4);
    h.writeUInt16BE(id, 0);
    h.writeUInt16BE(body.length + 4, 2);
    sets.push(h, body);
  };
  set(decoded.version === 10 ? 2 : 0, plain);
  set(decoded.version === 10 ? 3 : 1, opts);
  const context = Buffer.concat(sets);
  const head = Buffer.alloc(3);
  head[0] = 1;
  head.writeUInt16BE(context.length, 1);
  return Buffer.concat([head, context, packet]);
}

/** Template ids defined inside the packet itself. */
function ownTemplateIds(b: Buffer, version: 9 | 10): Set<number> {
  const ids = new Set<number>();
  const end = version === 10 ? b.readUInt16BE(2) : b.length;
  for (let at = version === 10 ? 16 : 20; at + 4 <= end; ) {
    const setId = b.readUInt16BE(at);
    const setLen = b.readUInt16BE(at + 2);
    if (setLen < 4 || at + setLen > end) break;
    if (version === 10 ? setId === 2 || setId === 3 : setId === 0 || setId === 1) {
      const cache = new TemplateCache(1, 4096);
      learnTemplates(b.subarray(at + 4, at + setLen), version, version === 10 ? setId === 3 : setId === 1, 'x', cache);
      for (const id of cache.scope('x', false)?.keys() ?? []) ids.add(id);
    }
    at += setLen;
  }
  return ids;
}

/** Most NAT records one packet gives (a 64 KiB packet of the smallest records holds ~2,900). */
export const MAX_PACKET_RECORDS = 1024;

/**
 * What the pipeline makes of a spooled IPFIX message (parse/message.ts): its NAT records; a packet
 * of templates or of events that map nothing is kept as ignored (not_nat_event); bytes that are no
 * such packet are kept as unparsed.
 */
export function parseSpooledIpfix(m: Buffer): ParseResult {
  const d = decodeSpooled(m);
  if (!d) return { kind: 'unparsed', time: null, host: null };
  if (!d.records.length) return { kind: 'ignored', vendor: IPFIX_VENDOR, reason: 'not_nat_event', time: d.exportMs, host: null };
  return { kind: 'records', vendor: IPFIX_VENDOR, records: d.records.slice(0, MAX_PACKET_RECORDS), time: d.records[0]!.time, host: null };
}

/** A spooled IPFIX message as text for the console and the report: what it is, then its bytes in hex. */
export function ipfixText(m: Buffer): string | null {
  const parts = unspool(m);
  const version = parts ? packetVersion(parts.packet) : null;
  if (!parts || !version) return null;
  const p = parts.packet;
  const domain = p.readUInt32BE(version === 10 ? 12 : 16);
  const at = new Date(p.readUInt32BE(version === 10 ? 4 : 8) * 1000).toISOString();
  return `${version === 10 ? 'IPFIX' : 'NetFlow v9'} packet, ${p.length} bytes, ${version === 10 ? 'observation domain' : 'source id'} ${domain}, exported ${at}${parts.context.length ? `, with ${parts.context.length} bytes of its exporter's templates` : ''}: ${p.toString('hex')}${parts.context.length ? ` templates: ${parts.context.toString('hex')}` : ''}`;
}

/** Split a spooled message into its template context and the packet (null: not one). */
export function unspool(m: Buffer): { context: Buffer; packet: Buffer } | null {
  if (m.length < 3 || m[0] !== 1) return null;
  const len = m.readUInt16BE(1);
  if (3 + len > m.length) return null;
  return { context: m.subarray(3, 3 + len), packet: m.subarray(3 + len) };
}

/** Decode a spooled message alone: its context's templates, then the packet. */
export function decodeSpooled(m: Buffer): DecodedPacket | null {
  const parts = unspool(m);
  if (!parts) return null;
  const version = packetVersion(parts.packet);
  if (!version) return null;
  const cache = new TemplateCache(1, 4096);
  const domain = parts.packet.readUInt32BE(version === 10 ? 12 : 16);
  const key = `spooled|${version}|${domain}`;
  if (parts.context.length) {
    for (let at = 0; at + 4 <= parts.context.length; ) {
      const setId = parts.context.readUInt16BE(at);
      const setLen = parts.context.readUInt16BE(at + 2);
      if (setLen < 4 || at + setLen > parts.context.length) return null;
      learnTemplates(parts.context.subarray(at + 4, at + setLen), version, version === 10 ? setId === 3 : setId === 1, key, cache);
      at += setLen;
    }
  }
  return decodePacket(parts.packet, 'spooled', cache);
}
