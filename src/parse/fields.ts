// Field lookups shared by vendor parsers: RFC 5424 SD params, key=value pairs, `ip/port` and `ip:port` tokens.
// indexOf scans only; no regex, no per-call closures.
import { parseIP, parsePort, scanIP, scanEnd, scanPort } from './ip.js';

function isKeyBoundary(c: number): boolean {
  // start, space, tab, comma, `[`, `|`, `;`, `{`
  return c !== c || c === 32 || c === 9 || c === 44 || c === 91 || c === 124 || c === 59 || c === 123;
}

/** Index of `name=` as a whole key (preceded by a boundary), searching from `from`; -1 when absent. */
export function findKey(s: string, name: string, from: number): number {
  let i = s.indexOf(name, from);
  while (i >= 0) {
    const before = i === 0 ? NaN : s.charCodeAt(i - 1);
    if (isKeyBoundary(before) && s.charCodeAt(i + name.length) === 61) return i;
    i = s.indexOf(name, i + 1);
  }
  return -1;
}

/** Value of `name="…"` (RFC 5424 SD-PARAM style, `\"` `\\` `\]` escapes) from `from`; null when absent. */
export function quotedParam(s: string, name: string, from: number): string | null {
  const k = findKey(s, name, from);
  if (k < 0) return null;
  const v = k + name.length + 1;
  if (s.charCodeAt(v) !== 34) return null;
  let e = v + 1;
  let escaped = false;
  while (e < s.length) {
    const c = s.charCodeAt(e);
    if (c === 92) {
      escaped = true;
      e += 2;
      continue;
    }
    if (c === 34) break;
    e++;
  }
  if (e >= s.length) return null;
  const raw = s.slice(v + 1, e);
  return escaped ? raw.replace(/\\(["\\\]])/g, '$1') : raw;
}

/**
 * Value of `name=value` from `from`: a double-quoted value (may hold spaces and commas), else up to the next space,
 * comma or `;` (and `]`). Null when absent.
 */
export function kvParam(s: string, name: string, from: number): string | null {
  const k = findKey(s, name, from);
  if (k < 0) return null;
  const v = k + name.length + 1;
  if (s.charCodeAt(v) === 34) {
    const e = s.indexOf('"', v + 1);
    return e < 0 ? s.slice(v + 1) : s.slice(v + 1, e);
  }
  let e = v;
  while (e < s.length) {
    const c = s.charCodeAt(e);
    if (c === 32 || c === 44 || c === 59 || c === 93 || c === 9) break;
    e++;
  }
  return s.slice(v, e);
}

/** A value as an address, or null (also for `-`, `N/A`, empty). */
export function ipOf(v: string | null): string | null {
  if (v === null || v.length < 2) return null;
  return parseIP(v);
}

/** A value as a port 0-65535, or null. */
export function portOf(v: string | null): number | null {
  if (v === null || v.length === 0) return null;
  const p = parsePort(v);
  return p < 0 ? null : p;
}

const HEX_RE = /^[0-9a-fA-F]+$/;

/** `0x6a44007a` / `6a44007a` seconds → ms; null when not hex. */
export function hexEpochMs(v: string | null): number | null {
  if (v === null) return null;
  const h = v.startsWith('0x') || v.startsWith('0X') ? v.slice(2) : v;
  if (h.length === 0 || h.length > 12 || !HEX_RE.test(h)) return null;
  const n = parseInt(h, 16);
  return n > 0 ? n * 1000 : null;
}

const EPOCH_RE = /^\d{9,19}(?:\.\d{1,9})?$/;

/** Decimal epoch in seconds (10 digits), ms (13), µs (16) or ns (19) → ms; null otherwise. */
export function decimalEpochMs(v: string | null): number | null {
  if (v === null || !EPOCH_RE.test(v)) return null;
  const dot = v.indexOf('.');
  const intPart = dot >= 0 ? v.slice(0, dot) : v;
  const n = Number(intPart);
  const len = intPart.length;
  let ms: number;
  if (len <= 10) ms = n * 1000 + (dot >= 0 ? Math.floor(Number(`0${v.slice(dot)}`) * 1000) : 0);
  else if (len <= 13) ms = n;
  else if (len <= 16) ms = Math.floor(n / 1000);
  else ms = Math.floor(n / 1_000_000);
  return ms;
}

// Registers of the last endpoint scan.
export let epIp: string | null = null;
export let epPort = -1;

/**
 * `IP<sep>PORT` or bare `IP` at i (sep `/` for Juniper, `:` elsewhere). With `:` and an IPv6 address the port is the
 * text after the last colon when the whole token is not itself an address. Returns the end index, or -1.
 */
export function scanIpPort(s: string, i: number, sep: number): number {
  if (sep === 58) {
    // Delimit the token to decide IPv6+port versus IPv6 alone.
    let e = i;
    while (e < s.length) {
      const c = s.charCodeAt(e);
      if (c === 32 || c === 44 || c === 93 || c === 41 || c === 9 || c === 62 || c === 59 || (c === 45 && s.charCodeAt(e + 1) === 62)) break;
      e++;
    }
    const tok = s.slice(i, e);
    const colons = countColons(tok);
    if (colons > 1 && tok.charCodeAt(0) !== 91) {
      const last = tok.lastIndexOf(':');
      const port = parsePort(tok.slice(last + 1));
      const addr = port >= 0 ? parseIP(tok.slice(0, last)) : null;
      if (addr !== null) {
        epIp = addr;
        epPort = port;
        return e;
      }
      const whole = parseIP(tok);
      if (whole === null) return -1;
      epIp = whole;
      epPort = -1;
      return e;
    }
  }
  const ip = scanIP(s, i);
  if (ip === null) return -1;
  let p = scanEnd;
  epIp = ip;
  epPort = -1;
  if (s.charCodeAt(p) === sep) {
    const port = scanPort(s, p + 1);
    if (port < 0) return -1;
    epPort = port;
    p = scanEnd;
  }
  return p;
}

function countColons(t: string): number {
  let n = 0;
  for (let k = 0; k < t.length; k++) if (t.charCodeAt(k) === 58) n++;
  return n;
}

/** Index after the run of spaces at i. */
export function skipSp(s: string, i: number): number {
  while (i < s.length && s.charCodeAt(i) === 32) i++;
  return i;
}

/** End of the token (non-space run) at i. */
export function tokEnd(s: string, i: number): number {
  while (i < s.length && s.charCodeAt(i) !== 32) i++;
  return i;
}

/**
 * Value of a CEF extension key (`key=value`, the value running to the next ` word=`; `\=` `\\` unescaped).
 * Null when absent.
 */
export function cefParam(s: string, name: string, from: number): string | null {
  const k = findKey(s, name, from);
  if (k < 0) return null;
  const v = k + name.length + 1;
  let e = v;
  while (e < s.length) {
    const c = s.charCodeAt(e);
    if (c === 32) {
      let q = e + 1;
      while (q < s.length) {
        const d = s.charCodeAt(q);
        if ((d >= 48 && d <= 57) || ((d | 32) >= 97 && (d | 32) <= 122) || d === 95 || d === 46 || d === 45) q++;
        else break;
      }
      if (q > e + 1 && s.charCodeAt(q) === 61 && s.charCodeAt(q - 1) !== 92) break;
    }
    e++;
  }
  const raw = s.slice(v, e);
  return raw.indexOf('\\') < 0 ? raw : raw.replace(/\\([=\\|])/g, '$1');
}

/** A token as an address after trimming surrounding punctuation (`(10.0.0.1),` → 10.0.0.1); null otherwise. */
export function parseIpLoose(tok: string): string | null {
  let a = 0;
  let b = tok.length;
  while (a < b && (tok.charCodeAt(a) === 40 || tok.charCodeAt(a) === 91)) a++;
  while (b > a) {
    const c = tok.charCodeAt(b - 1);
    if (c === 44 || c === 59 || c === 46 || c === 41 || c === 93 || c === 58) b--;
    else break;
  }
  if (b - a < 2) return null;
  return parseIP(a === 0 && b === tok.length ? tok : tok.slice(a, b));
}
