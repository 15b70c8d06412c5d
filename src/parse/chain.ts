// The parse stage: syslog header, then the vendor chain (explicit registry, auto-detection by marker substring,
// optional per-device vendor pin). `parseMessage` is the only entry the pipeline calls; it never throws.
import { configureNokia, type NokiaFlowField } from './vendors/nokia.js';
import { parseHeader, type SyslogHeader } from './syslog.js';
import type { ParseContext, ParseResult } from './types.js';
import { IGNORE_REASONS, type IgnoreReason, type VendorParser, type VendorVerdict } from './vendor.js';
import { mikrotik } from './vendors/mikrotik.js';
import { juniperMx, juniperSrx } from './vendors/juniper.js';
import { ciscoAsa, ciscoIos, ciscoXr } from './vendors/cisco.js';
import { a10 } from './vendors/a10.js';
import { f5 } from './vendors/f5.js';
import { huawei } from './vendors/huawei.js';
import { hillstone } from './vendors/hillstone.js';
import { linuxConntrack } from './vendors/linux-conntrack.js';
import { fortinet } from './vendors/fortinet.js';
import { paloalto } from './vendors/paloalto.js';
import { vpp } from './vendors/vpp.js';
import { nokia } from './vendors/nokia.js';

export type { NatRecord, ParseContext, ParseResult, EventKind } from './types.js';
export { IGNORE_REASONS, type IgnoreReason, type VendorParser } from './vendor.js';

/**
 * Every vendor parser, in detection order: the most common first, and any whose marker is a substring of
 * another's line after the one it could be confused with.
 */
export const VENDORS: readonly VendorParser[] = Object.freeze([
  mikrotik,
  juniperSrx,
  juniperMx,
  ciscoAsa,
  ciscoIos,
  ciscoXr,
  a10,
  f5,
  huawei,
  hillstone,
  linuxConntrack,
  fortinet,
  paloalto,
  vpp,
  nokia,
]);

/** Registry keys accepted by `devices.<addr>.vendor` (family names such as `juniper` or `cisco` pin a group). */
export const VENDOR_NAMES: readonly string[] = Object.freeze(VENDORS.map((v) => v.name));

const ALIASES: Record<string, string> = {
  routeros: 'mikrotik', fortigate: 'fortinet', 'palo-alto': 'paloalto', panos: 'paloalto', 'pan-os': 'paloalto',
  linux: 'linux-conntrack', conntrack: 'linux-conntrack', ulogd: 'linux-conntrack', fdio: 'vpp', 'fd.io': 'vpp',
  'big-ip': 'f5', bigip: 'f5', srx: 'juniper-srx', mx: 'juniper-mx', asa: 'cisco-asa', ios: 'cisco-ios',
  'ios-xe': 'cisco-ios', 'ios-xr': 'cisco-xr', thunder: 'a10', '7750': 'nokia', sros: 'nokia',
};

const pinCache = new Map<string, readonly VendorParser[]>();

/** Parsers a pin allows: exact name, alias, or family prefix (`cisco` → cisco-asa, cisco-ios, cisco-xr). */
export function vendorsForPin(pin: string | null | undefined): readonly VendorParser[] {
  if (!pin) return VENDORS;
  let list = pinCache.get(pin);
  if (list !== undefined) return list;
  const key = pin.trim().toLowerCase();
  const name = ALIASES[key] ?? key;
  list = VENDORS.filter((v) => v.name === name || v.name.startsWith(`${name}-`));
  // An unknown pin is a configuration slip: parse with the whole chain rather than lose the device's lines.
  if (list.length === 0) list = VENDORS;
  if (pinCache.size < 1000) pinCache.set(pin, list);
  return list;
}

const IGNORED_SET: ReadonlySet<string> = new Set<string>(IGNORE_REASONS);

function runVendor(v: VendorParser, h: SyslogHeader, zone: string, ctx: ParseContext): VendorVerdict {
  try {
    const r = v.parse({ h, zone, ctx });
    if (r === null || typeof r === 'string') return r;
    return r.length > 0 ? r : null;
  } catch {
    return null;
  }
}

/**
 * Parse one syslog message as received (with or without `<PRI>`, relay prefixes, trailing CR/LF/NUL).
 * Returns records, an ignore verdict with a reason from IGNORE_REASONS, or unparsed. Never throws.
 */
export function parseMessage(line: string, ctx: ParseContext): ParseResult {
  let h: SyslogHeader;
  const zone = ctx.device?.timezone ?? ctx.timezone;
  try {
    h = parseHeader(typeof line === 'string' ? line : String(line), zone, ctx.receivedAt);
  } catch {
    return { kind: 'unparsed', time: null, host: null };
  }
  const list = ctx.device?.vendor ? vendorsForPin(ctx.device.vendor) : VENDORS;
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    let hit: boolean;
    try {
      hit = v.detect(h);
    } catch {
      hit = false;
    }
    if (!hit) continue;
    const r = runVendor(v, h, zone, ctx);
    if (r === null) continue;
    if (typeof r === 'string') {
      return { kind: 'ignored', vendor: v.name, reason: IGNORED_SET.has(r) ? r : 'not_nat_event', time: h.time, host: h.host };
    }
    return { kind: 'records', vendor: v.name, records: r, time: r[0].time ?? h.time, host: h.host };
  }
  return { kind: 'unparsed', time: h.time, host: h.host };
}

/** Apply the parse-related configuration (process-wide: call once at start-up, in each thread that parses). */
export function configureParsers(cfg: { nokia_flow_fields: readonly string[] }): void {
  if (cfg.nokia_flow_fields.length) configureNokia({ flowFields: cfg.nokia_flow_fields as NokiaFlowField[] });
}
