// Deterministic NAT rule sets (RFC 7422's idea: an inside address always gets the same public address
// and port range, so the mapping is a formula or a table, not a log). Three ways an ISP writes them
// down, each turned into the same rows: (public address, port range, protocol) → inside address, with
// the line of the source that says so (the evidence an answer quotes).
//
//   routeros  the text of `/ip firewall nat export`: `action=netmap` or `action=src-nat` rules with
//             `to-ports`, as the CGNAT scripts Brazilian ISPs run generate them (one rule per inside
//             address and protocol, or a netmap of a prefix onto a prefix of the same size, address by
//             address). Rules without `to-ports` (ICMP, "everything else") name no port: skipped.
//   table     one mapping a line: `inside public first-last [tcp|udp]` (spaces, tabs or commas; `#`
//             starts a comment), e.g. exported from the generator's spreadsheet.
//   formula   one block a line: `inside=100.64.0.0/22 public=203.0.113.0/28 ports=1024-65535
//             block=2000 [order=sequential|spread]`. sequential fills a public address before the next
//             (inside k: address ⌊k / per⌋, ports first + (k mod per)·block; Juniper's deterministic
//             NAPT); spread deals the inside addresses round the public ones (address k mod n, ports
//             first + ⌊k / n⌋·block; the nftables and VyOS CGNAT generators).
// Addresses are IPv4 (NAT44). Every line is input from outside: bounded, and a bad line is an error
// naming its number, never a guess.
import { ipToDb } from '../store/codes.js';

export const RULE_FORMATS = ['routeros', 'table', 'formula'] as const;
export type RuleFormat = (typeof RULE_FORMATS)[number];

/** Protocol of a rule row: a port range is per protocol; 0 = TCP and UDP alike. */
export const PROTO_ANY = 0;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

export interface RuleRow {
  natIp: number;
  portLo: number;
  portHi: number;
  inside: number;
  proto: number;
  /** 1-based line of the source that gave this row. */
  line: number;
}

export interface ParsedRules {
  rows: RuleRow[];
  /** Lines that could not be read, with their number: an import with any is refused. */
  errors: string[];
  /** Lines read and left out on purpose (no port range, disabled, another action), counted. */
  skipped: number;
}

/** Most rows one rule set may expand to (a /10 of subscribers, one row each and protocol). */
export const MAX_RULE_ROWS = 8_388_608;
/** Longest source line read (RouterOS wraps long rules; a joined rule stays far below). */
const MAX_LINE = 4096;

export function parseRules(text: string, format: RuleFormat): ParsedRules {
  const out: ParsedRules = { rows: [], errors: [], skipped: 0 };
  const lines = format === 'routeros' ? joinContinuations(text) : text.split(/\r?\n/).map((t, i) => ({ t, n: i + 1 }));
  for (const { t, n } of lines) {
    if (out.errors.length >= 20) break;
    const line = t.trim();
    if (!line || line.startsWith('#')) continue;
    if (line.length > MAX_LINE) {
      out.errors.push(`line ${n}: longer than ${MAX_LINE} characters`);
      continue;
    }
    try {
      if (format === 'routeros') routerosLine(line, n, out);
      else if (format === 'table') tableLine(line, n, out);
      else formulaLine(line, n, out);
    } catch (err) {
      out.errors.push(`line ${n}: ${(err as Error).message}`);
    }
    if (out.rows.length > MAX_RULE_ROWS) {
      out.errors.push(`more than ${MAX_RULE_ROWS} mappings: split the rule set`);
      break;
    }
  }
  return out;
}

/** RouterOS export lines, a rule wrapped with a trailing backslash joined back into one. */
function joinContinuations(text: string): { t: string; n: number }[] {
  const out: { t: string; n: number }[] = [];
  let cur = '';
  let start = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    if (!cur) start = i + 1;
    if (raw.endsWith('\\')) cur += raw.slice(0, -1);
    else {
      out.push({ t: cur + (cur ? raw.trimStart() : raw), n: start });
      cur = '';
    }
  });
  if (cur) out.push({ t: cur, n: start });
  return out;
}

function v4(s: string, what: string): number {
  const n = ipToDb(s);
  if (typeof n !== 'number') throw new Error(`${what} "${clip(s)}" is not an IPv4 address`);
  return n;
}

/** An IPv4 address, prefix (a.b.c.d/len) or range (a-b): first address and count. */
function v4Range(s: string, what: string): { first: number; count: number } {
  const slash = s.indexOf('/');
  if (slash > 0) {
    const len = Number(s.slice(slash + 1));
    if (!Number.isInteger(len) || len < 8 || len > 32) throw new Error(`${what} "${clip(s)}": prefix length must be 8 to 32`);
    const size = 2 ** (32 - len);
    const base = v4(s.slice(0, slash), what);
    return { first: base - (base % size), count: size };
  }
  const dash = s.indexOf('-');
  if (dash > 0) {
    const a = v4(s.slice(0, dash), what);
    const b = v4(s.slice(dash + 1), what);
    if (b < a) throw new Error(`${what} "${clip(s)}": range ends before it starts`);
    return { first: a, count: b - a + 1 };
  }
  return { first: v4(s, what), count: 1 };
}

function portRange(s: string, what: string): { lo: number; hi: number } {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || lo < 1 || hi > 65535 || hi < lo) throw new Error(`${what} "${clip(s)}" is not a port range within 1-65535`);
  return { lo, hi };
}

function protoOf(s: string | undefined): number {
  if (s === undefined || s === '') return PROTO_ANY;
  const p = s.toLowerCase();
  if (p === 'tcp' || p === '6') return PROTO_TCP;
  if (p === 'udp' || p === '17') return PROTO_UDP;
  throw new Error(`protocol "${clip(s)}": only tcp and udp carry ports`);
}

const clip = (s: string) => (s.length > 60 ? `${s.slice(0, 60)}…` : s);

/** key=value pairs of a RouterOS command line (values may be "quoted"). */
function routerosFields(line: string): Map<string, string> {
  const f = new Map<string, string>();
  const re = /([a-z0-9-]+)=("(?:[^"\\]|\\.)*"|\S*)/gi;
  for (let m = re.exec(line); m; m = re.exec(line)) f.set(m[1]!.toLowerCase(), m[2]!.startsWith('"') ? m[2]!.slice(1, -1) : m[2]!);
  return f;
}

function routerosLine(line: string, n: number, out: ParsedRules): void {
  if (line.startsWith('/')) return; // a menu path (/ip firewall nat)
  if (!/^add\s/.test(line)) return void out.skipped++;
  const f = routerosFields(line);
  const action = f.get('action');
  if ((action !== 'netmap' && action !== 'src-nat') || f.get('disabled') === 'yes') return void out.skipped++;
  const toPorts = f.get('to-ports');
  const src = f.get('src-address');
  const to = f.get('to-addresses');
  if (!toPorts || !src || !to) return void out.skipped++; // no port range: says nothing about a port
  const ports = portRange(toPorts, 'to-ports');
  const proto = protoOf(f.get('protocol'));
  const inside = v4Range(src, 'src-address');
  const pub = v4Range(to, 'to-addresses');
  // netmap maps a prefix onto one of the same size address by address; one public address takes all.
  if (pub.count !== 1 && pub.count !== inside.count) throw new Error(`src-address ${clip(src)} (${inside.count}) and to-addresses ${clip(to)} (${pub.count}) differ in size`);
  if (pub.count === 1 && inside.count !== 1) throw new Error(`src-address ${clip(src)} shares one public address and one port range among ${inside.count} addresses: not deterministic`);
  for (let k = 0; k < inside.count; k++) out.rows.push({ natIp: pub.first + (pub.count === 1 ? 0 : k), portLo: ports.lo, portHi: ports.hi, inside: inside.first + k, proto, line: n });
}

function tableLine(line: string, n: number, out: ParsedRules): void {
  const cols = line.split(/[\s,;]+/).filter(Boolean);
  if (cols.length < 3 || cols.length > 5) throw new Error('expected: inside public first-last [tcp|udp]');
  let ports: { lo: number; hi: number };
  let protoCol: string | undefined;
  if (cols[2]!.includes('-') || cols.length === 3 || /^[a-z]/i.test(cols[3] ?? '')) {
    ports = portRange(cols[2]!, 'ports');
    protoCol = cols[3];
    if (cols.length > 4) throw new Error('expected: inside public first-last [tcp|udp]');
  } else {
    ports = portRange(`${cols[2]}-${cols[3]}`, 'ports'); // inside,public,first,last[,proto]
    protoCol = cols[4];
  }
  out.rows.push({ inside: v4(cols[0]!, 'inside address'), natIp: v4(cols[1]!, 'public address'), portLo: ports.lo, portHi: ports.hi, proto: protoOf(protoCol), line: n });
}

function formulaLine(line: string, n: number, out: ParsedRules): void {
  const f = new Map<string, string>();
  for (const part of line.split(/\s+/)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`"${clip(part)}" is not key=value`);
    f.set(part.slice(0, eq).toLowerCase(), part.slice(eq + 1));
  }
  for (const k of f.keys()) if (!['inside', 'public', 'ports', 'block', 'order', 'proto'].includes(k)) throw new Error(`unknown key "${clip(k)}"`);
  const inside = v4Range(need(f, 'inside'), 'inside');
  const pub = v4Range(need(f, 'public'), 'public');
  const ports = portRange(need(f, 'ports'), 'ports');
  const block = Number(need(f, 'block'));
  if (!Number.isInteger(block) || block < 1 || block > ports.hi - ports.lo + 1) throw new Error(`block "${clip(f.get('block')!)}" must be 1 to the size of ports`);
  const order = f.get('order') ?? 'sequential';
  if (order !== 'sequential' && order !== 'spread') throw new Error(`order "${clip(order)}" must be sequential or spread`);
  const proto = protoOf(f.get('proto'));
  const per = Math.floor((ports.hi - ports.lo + 1) / block);
  if (inside.count > per * pub.count) throw new Error(`${inside.count} inside addresses need ${inside.count} blocks of ${block} ports; ${pub.count} public address(es) × ${per} blocks hold ${per * pub.count}`);
  if (out.rows.length + inside.count > MAX_RULE_ROWS) throw new Error(`expands to more than ${MAX_RULE_ROWS} mappings`);
  for (let k = 0; k < inside.count; k++) {
    const [addr, slot] = order === 'sequential' ? [Math.floor(k / per), k % per] : [k % pub.count, Math.floor(k / pub.count)];
    const lo = ports.lo + slot * block;
    out.rows.push({ natIp: pub.first + addr, portLo: lo, portHi: lo + block - 1, inside: inside.first + k, proto, line: n });
  }
}

function need(f: Map<string, string>, k: string): string {
  const v = f.get(k);
  if (!v) throw new Error(`${k}= is missing`);
  return v;
}

/**
 * Rows that claim the same public address, port and protocol for two inside addresses: a rule set
 * that does not say who held a port cannot answer for it. At most `max` of them, described.
 */
export function overlaps(rows: readonly RuleRow[], max = 10): string[] {
  const sorted = [...rows].sort((a, b) => a.natIp - b.natIp || a.portLo - b.portLo);
  const out: string[] = [];
  for (let i = 1; i < sorted.length && out.length < max; i++) {
    const a = sorted[i - 1]!;
    for (let j = i; j < sorted.length && sorted[j]!.natIp === a.natIp && sorted[j]!.portLo <= a.portHi && out.length < max; j++) {
      const b = sorted[j]!;
      if (a.inside !== b.inside && (a.proto === b.proto || a.proto === PROTO_ANY || b.proto === PROTO_ANY)) out.push(`lines ${a.line} and ${b.line} give the same public port to two inside addresses`);
    }
  }
  return out;
}
