// The normalized NAT record and the parser plug-in interface (docs/architecture.md, "Contracts").
import type { DeviceConfig } from '../config/load.js';

export type EventKind =
  | 'session_create'
  | 'session_close'
  | 'block_alloc'
  | 'block_release'
  | 'mapping_create'
  | 'mapping_delete';

export const EVENT_KINDS: readonly EventKind[] = [
  'session_create', 'session_close', 'block_alloc', 'block_release', 'mapping_create', 'mapping_delete',
];

/** One translation fact. Addresses are canonical text (IPv4 dotted, IPv6 compressed lowercase). */
export interface NatRecord {
  vendor: string;
  event: EventKind;
  /** Lowercase protocol name (tcp, udp, icmp, gre, …) or null when the message has none. */
  proto: string | null;
  src_ip: string | null;
  src_port: number | null;
  nat_ip: string | null;
  nat_port: number | null;
  nat_port_start: number | null;
  nat_port_end: number | null;
  dst_ip: string | null;
  dst_port: number | null;
  /** Event time, ms since the Unix epoch (UTC); null when the line carries no time. */
  time: number | null;
  /** Header HOSTNAME (informational; the device is the sender address). */
  host: string | null;
  /**
   * What the line says about the subscriber: a PPP login (MikroTik `<pppoe-NAME>` → NAME), a VLAN
   * name, a firewall user. Attacker-controlled text, bounded by parse/login.ts (loginOf). Optional so
   * that hand-built records need not name it; parsers always set it (null: the line names nobody).
   */
  login?: string | null;
}

/**
 * Records read in place, field by field, from columns (the committer's handoff, spool/handoff.ts): a
 * store reads them without an object, a string or a parsed address a record. Record j of the set;
 * a number field is NaN for null.
 */
export interface RecordColumns {
  time(j: number): number;
  srcPort(j: number): number;
  natPort(j: number): number;
  natPortStart(j: number): number;
  natPortEnd(j: number): number;
  dstPort(j: number): number;
  /** An address: a dotted-quad IPv4 as its 32-bit integer, any other text as is, or null. */
  srcIp(j: number): number | string | null;
  natIp(j: number): number | string | null;
  dstIp(j: number): number | string | null;
  /** Index of the event in EVENT_KINDS. */
  event(j: number): number;
  proto(j: number): string | null;
  login(j: number): string | null;
}

/** What the chain knows about a message besides its bytes. */
export interface ParseContext {
  /** When MegaLog received it, ms since epoch: anchors year inference for year-less headers. */
  receivedAt: number;
  /** Sender address (device), or null (import, stdin). */
  peer: string | null;
  /** Per-device settings from the config (vendor pin, time zone), if any. */
  device: DeviceConfig | null;
  /** Zone for zone-less header times when the device has none. */
  timezone: string;
}

/**
 * The chain's verdict on one message:
 * - `records`: one or more translations;
 * - `ignored`: a vendor recognised the line, and it carries no translation (deny, alarm, DNAT-only…);
 * - `unparsed`: nobody recognised it.
 * Every outcome is kept by the committer; only `records` become rows of the forensic index.
 */
/** What the chain made of a message; `host` is the sender its syslog header names (null without one). */
export type ParseResult =
  | { kind: 'records'; vendor: string; records: NatRecord[]; time: number | null; host: string | null }
  | { kind: 'ignored'; vendor: string; reason: string; time: number | null; host: string | null }
  | { kind: 'unparsed'; time: number | null; host: string | null };
