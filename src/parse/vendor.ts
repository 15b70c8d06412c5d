// The vendor parser plug-in interface (rsyslog's pm* modules: a parser says "not mine" and the next one tries).
import type { EventKind, NatRecord, ParseContext } from './types.js';
import { IGNORE_REASONS, type IgnoreReason } from '../core/counters.js';
import type { SyslogHeader } from './syslog.js';

export { IGNORE_REASONS, type IgnoreReason };

/** A vendor's verdict: records, an ignore reason, or null ("not mine", the chain goes on). */
export type VendorVerdict = NatRecord[] | IgnoreReason | null;

/** What a vendor parser gets besides the header. */
export interface VendorInput {
  /** The parsed header (its `line` is the cleaned message). */
  h: SyslogHeader;
  /** Zone for zone-less body times (device zone, else the configured one). */
  zone: string;
  ctx: ParseContext;
}

export interface VendorParser {
  /** Record `vendor` value and registry key (`mikrotik`, `juniper-srx`, …). */
  readonly name: string;
  /** Products and message types, for the vendor table and `megalog parse --help`. */
  readonly describes: string;
  /** Cheap test (a marker substring): may this message be ours? Must not allocate. */
  detect(h: SyslogHeader): boolean;
  /** Full parse. May throw on a malformed line: the chain catches it and counts the line unparsed. */
  parse(input: VendorInput): VendorVerdict;
}

/** Build a record with every field in a fixed order (one hidden class for the hot path). */
export function natRecord(
  vendor: string, event: EventKind, proto: string | null,
  srcIp: string | null, srcPort: number | null,
  natIp: string | null, natPort: number | null,
  dstIp: string | null, dstPort: number | null,
  time: number | null, host: string | null,
): NatRecord {
  return {
    vendor, event, proto, src_ip: srcIp, src_port: srcPort, nat_ip: natIp, nat_port: natPort,
    nat_port_start: null, nat_port_end: null, dst_ip: dstIp, dst_port: dstPort, time, host, login: null,
  };
}

/** A port-block record (`nat_port_start`/`nat_port_end`, no single port, no destination). */
export function blockRecord(
  vendor: string, event: EventKind, proto: string | null,
  srcIp: string | null, natIp: string | null, start: number | null, end: number | null,
  time: number | null, host: string | null,
): NatRecord {
  return {
    vendor, event, proto, src_ip: srcIp, src_port: null, nat_ip: natIp, nat_port: null,
    nat_port_start: start, nat_port_end: end, dst_ip: null, dst_port: null, time, host, login: null,
  };
}

/** detect() for a vendor known by one marker in the message body. */
export function hasMarker(marker: string): (h: SyslogHeader) => boolean {
  return (h) => h.line.indexOf(marker, h.restStart) >= 0;
}
