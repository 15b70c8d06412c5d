// Address and port scanners for the parse hot path: charCode scans, no regex, no allocation but the result string.
// Canonical text: IPv4 dotted quad (each octet 0-255, at most 3 digits: `1092.168.10.12` is rejected),
// IPv6 compressed lowercase per RFC 5952 §4 (IPv4-mapped addresses keep their dotted tail, §5).

/** Index just past the last successful scan (module state: the parser is synchronous, so one slot suffices). */
export let scanEnd = 0;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const hexVal = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;

/**
 * Reads an IPv4 address at `i`. Returns its canonical text and sets `scanEnd`, or null when `s` holds no valid
 * address there. The address must not run on into more digits or dots (`1.2.3.4.5` is not an address).
 */
export function scanIPv4(s: string, i: number): string | null {
  const n = s.length;
  let p = i;
  let octets = 0; // dots seen
  let v = 0;
  let digits = 0;
  let canonical = true;
  for (; p < n; p++) {
    const c = s.charCodeAt(p);
    if (c >= 48 && c <= 57) {
      if (digits === 3) return null; // `1092.…`
      if (digits === 1 && v === 0) canonical = false; // leading zero
      v = v * 10 + (c - 48);
      digits++;
    } else if (c === 46) {
      if (digits === 0 || v > 255) return null;
      if (octets === 3) {
        // `1.2.3.4.5` is not an address; `1.2.3.4.` (end of a sentence) is
        const d = p + 1 < n ? s.charCodeAt(p + 1) : 0;
        if (d >= 48 && d <= 57) return null;
        break;
      }
      octets++;
      v = 0;
      digits = 0;
    } else break;
  }
  if (octets !== 3 || digits === 0 || v > 255) return null;
  scanEnd = p;
  if (canonical) return s.slice(i, p);
  return s.slice(i, p).split('.').map((x) => String(Number(x))).join('.');
}

const groups = new Uint16Array(8);

/**
 * Reads an IPv6 address at `i` (hex digits, colons, an optional dotted IPv4 tail; a `%zone` is skipped) and returns
 * its RFC 5952 text, setting `scanEnd`; null when it is not a valid address.
 */
export function scanIPv6(s: string, i: number): string | null {
  const n = s.length;
  let p = i;
  let g = 0;
  let gap = -1;
  if (p + 1 < n && s.charCodeAt(p) === 58 && s.charCodeAt(p + 1) === 58) {
    gap = 0;
    p += 2;
  } else if (p < n && s.charCodeAt(p) === 58) return null;
  while (p < n && g < 8) {
    // Try an IPv4 tail when a dot follows the next digits.
    let q = p;
    let v = 0;
    let digits = 0;
    while (q < n && digits < 5) {
      const h = hexVal(s.charCodeAt(q));
      if (h < 0) break;
      v = v * 16 + h;
      q++;
      digits++;
    }
    if (digits === 0) break;
    if (q < n && s.charCodeAt(q) === 46) {
      if (g > 6) return null;
      const v4 = scanIPv4(s, p);
      if (v4 === null) return null;
      const parts = v4.split('.');
      groups[g++] = (Number(parts[0]) << 8) | Number(parts[1]);
      groups[g++] = (Number(parts[2]) << 8) | Number(parts[3]);
      p = scanEnd;
      break;
    }
    if (digits > 4) return null;
    groups[g++] = v;
    p = q;
    if (p < n && s.charCodeAt(p) === 58) {
      if (p + 1 < n && s.charCodeAt(p + 1) === 58) {
        if (gap >= 0) return null;
        gap = g;
        p += 2;
        continue;
      }
      // A single colon must be followed by another group.
      if (p + 1 < n && hexVal(s.charCodeAt(p + 1)) >= 0) {
        p++;
        continue;
      }
      break;
    }
    break;
  }
  if (gap >= 0) {
    if (g > 7) return null;
    const tail = g - gap;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[g - 1 - k];
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  } else if (g !== 8) return null;
  // Zone id (link-local): skip it, it is not part of the address.
  if (p < n && s.charCodeAt(p) === 37) {
    p++;
    while (p < n) {
      const c = s.charCodeAt(p);
      if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 46 || c === 95 || c === 45)) break;
      p++;
    }
  }
  scanEnd = p;
  return formatIPv6(groups);
}

function formatIPv6(gr: Uint16Array): string {
  // IPv4-mapped ::ffff:a.b.c.d keeps the dotted form (RFC 5952 §5).
  if (gr[0] === 0 && gr[1] === 0 && gr[2] === 0 && gr[3] === 0 && gr[4] === 0 && gr[5] === 0xffff) {
    return `::ffff:${gr[6] >> 8}.${gr[6] & 255}.${gr[7] >> 8}.${gr[7] & 255}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let k = 0; k < 8; ) {
    if (gr[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && gr[e] === 0) e++;
    if (e - k > bestLen) {
      best = k;
      bestLen = e - k;
    }
    k = e;
  }
  let out = '';
  for (let k = 0; k < 8; k++) {
    if (k === best) {
      out += '::';
      k += bestLen - 1;
      continue;
    }
    if (out.length && !out.endsWith(':')) out += ':';
    out += gr[k].toString(16);
  }
  return out;
}

/** Reads an IPv4 or IPv6 address (IPv6 possibly in brackets), by looking at the first characters. */
export function scanIP(s: string, i: number): string | null {
  if (i >= s.length) return null;
  const c0 = s.charCodeAt(i);
  if (c0 === 91) {
    const a = scanIPv6(s, i + 1);
    if (a === null || scanEnd >= s.length || s.charCodeAt(scanEnd) !== 93) return null;
    scanEnd++;
    return a;
  }
  // IPv4 when a dot comes within the first four characters (the common case, decided at once).
  if (s.charCodeAt(i + 1) === 46 || s.charCodeAt(i + 2) === 46 || s.charCodeAt(i + 3) === 46) {
    const v4 = scanIPv4(s, i);
    if (v4 !== null || s.charCodeAt(i) !== 58) return v4;
  }
  // IPv6 when a colon comes within the first five characters before any dot.
  for (let k = i; k < s.length && k < i + 5; k++) {
    const c = s.charCodeAt(k);
    if (c === 58) return scanIPv6(s, i);
    if (c === 46 || hexVal(c) < 0) break;
  }
  return scanIPv4(s, i);
}

/** Parses a whole string as an address (IPv4 or IPv6); null when it is anything else. */
export function parseIP(s: string): string | null {
  const a = scanIP(s, 0);
  return a !== null && scanEnd === s.length ? a : null;
}

/**
 * The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, also written
 * `::ffff:c000:201` or in full; RFC 4291 §2.5.5.2), or null for anything else. Sockets on a dual-stack
 * listener and people pasting from such logs write IPv4 this way; records keep IPv4 as IPv4.
 */
export function mappedIPv4(s: string): string | null {
  const a = parseIP(s);
  return a !== null && a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : null;
}

/**
 * One key per sender for limits and throttles: IPv4 (mapped or not) as is, IPv6 by its /64 (one host
 * usually owns a whole /64, so counting single addresses would let it take 2^64 slots). Text that is
 * no address keys as itself.
 */
export function addressKey(ip: string): string {
  const a = parseIP(ip);
  if (a === null) return ip.slice(0, 64);
  if (!a.includes(':')) return a;
  const v4 = a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : null;
  if (v4) return v4;
  const full = a.includes('::') ? expandIPv6(a) : a.split(':');
  return `${full.slice(0, 4).join(':')}::/64`;
}

function expandIPv6(a: string): string[] {
  const [head = '', tail = ''] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  return [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
}

/** Reads a decimal port 0-65535 at `i` (1-5 digits); -1 when there is none. Sets `scanEnd`. */
export function scanPort(s: string, i: number): number {
  const n = s.length;
  let p = i;
  let v = 0;
  while (p < n && p - i < 6) {
    const c = s.charCodeAt(p);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    p++;
  }
  if (p === i || p - i > 5 || v > 65535) return -1;
  if (p < n && isDigit(s.charCodeAt(p))) return -1;
  scanEnd = p;
  return v;
}

/** Parses a whole string as a port 0-65535; -1 otherwise. */
export function parsePort(s: string): number {
  const v = scanPort(s, 0);
  return v >= 0 && scanEnd === s.length ? v : -1;
}

const PROTO_NUMBERS: Record<string, string> = {
  '1': 'icmp', '2': 'igmp', '4': 'ipip', '6': 'tcp', '17': 'udp', '41': 'ipv6', '47': 'gre', '50': 'esp',
  '51': 'ah', '58': 'ipv6-icmp', '89': 'ospf', '103': 'pim', '112': 'vrrp', '132': 'sctp', '136': 'udplite',
};
const PROTO_CACHE = new Map<string, string>();

/** Lowercase protocol name from a name or an IANA number (`6` → `tcp`, `ICMP` → `icmp`, `icmpv6` → `ipv6-icmp`). */
export function protoName(p: string): string {
  let v = PROTO_CACHE.get(p);
  if (v !== undefined) return v;
  const lower = p.toLowerCase();
  v = PROTO_NUMBERS[lower] ?? (lower === 'icmpv6' || lower === 'icmp6' ? 'ipv6-icmp' : lower);
  if (PROTO_CACHE.size < 1024) PROTO_CACHE.set(p, v);
  return v;
}
