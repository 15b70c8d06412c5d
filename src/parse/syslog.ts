// Syslog header parser: RFC 3164, RFC 5424 (structured data, BOM) and the vendor deviations in docs/vendors.md.
// One pass of charCode scans, no regex; never throws. It finds the header time and host and where the message
// starts; vendor parsers then look for their markers from `restStart` / `msgStart`.
//
// Shapes handled (PRI optional everywhere, a space after PRI tolerated, relays nest up to 3 deep):
//   <PRI>Mmm dd HH:MM:SS[.fff] host msg                  RFC 3164 (day space-padded or not)
//   <PRI>Mmm dd yyyy HH:MM:SS: [host :] %ASA-…           Cisco ASA
//   <PRI>seq: [host:] [*|.]Mmm dd HH:MM:SS.mmm TZ: %…    Cisco IOS sequence numbers and zone
//   <PRI>YYYY-MM-DD HH:MM:SS[:] host…                    Huawei USG, Juniper services PIC (`host{ss}[tag]:`)
//   <PRI>VER TIMESTAMP HOST APP PROCID MSGID SD [BOM]MSG RFC 5424; TIMESTAMP may also be `YYYY Mmm D HH:MM:SS`
//                                                        (IOS XR CGN, Huawei NE, Hillstone)
//   YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM|±HHMM) host msg     rsyslog files, MikroTik ISO 8601 / CEF
//   Mmm/dd/yyyy HH:MM:SS topics msg                      MikroTik disk files
//   Mmm dd HH:MM:SS relay <any of the above>             relays (the innermost time and host win)
//   topics msg                                           MikroTik default format: no header at all

import { inferYear, monthAt, monthNameLength, validDay, wallToUtc } from './time.js';

/** What the header parser found. One instance per call; fields are plain values. */
export interface SyslogHeader {
  /** The line with trailing NUL/CR/LF (and a leading BOM or spaces) removed. */
  line: string;
  /** PRI value 0-191, or -1 when absent. */
  pri: number;
  /** Header time, ms UTC, or null when there is none (or it is impossible). */
  time: number | null;
  /** HOSTNAME (informational), or null. */
  host: string | null;
  /** RFC 5424 APP-NAME, or null. */
  app: string | null;
  /** RFC 5424 MSGID, or null. */
  msgid: string | null;
  /** RFC 5424 STRUCTURED-DATA text (from `[` to the last `]`), or null. */
  sd: string | null;
  /** Index just after the header's HOSTNAME (RFC 5424: at APP-NAME), where tags and bodies begin. */
  restStart: number;
  /** Index of the message proper (RFC 5424: after SD and BOM). */
  msgStart: number;
  /** True when some header (a time, a PRI or a version) was recognised. */
  recognised: boolean;
}

// Scratch registers of the last successful timestamp scan (synchronous parser: one set suffices).
let tY = -1, tMo = 0, tD = 0, tH = 0, tMi = 0, tS = 0, tMs = 0, tOffMin = NaN, tEnd = 0;


/** Where the day scanDay read ends (the space after it). */
let dayEnd = 0;

/** Day of month at `p` (two digits, or one digit 1-9) followed by a space, or -1; sets dayEnd. */
function scanDay(s: string, p: number): number {
  let d = d2(s, p);
  if (d >= 0) dayEnd = p + 2;
  else {
    d = s.charCodeAt(p) - 48;
    if (!(d >= 1 && d <= 9)) return -1;
    dayEnd = p + 1;
  }
  return s.charCodeAt(dayEnd) === 32 ? d : -1;
}

function d2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  if (!(a >= 0 && a <= 9 && b >= 0 && b <= 9)) return -1; // also rejects NaN past the end
  return a * 10 + b;
}

function d4(s: string, i: number): number {
  const a = d2(s, i);
  const b = d2(s, i + 2);
  return a < 0 || b < 0 ? -1 : a * 100 + b;
}

/** `HH:MM:SS[.f…]` at i; sets tH/tMi/tS/tMs and returns the end index, or -1. */
function scanClock(s: string, i: number): number {
  let p = i;
  let h = d2(s, p);
  if (h < 0) {
    // single-digit hour (`Jan 5 9:05:01` is seen from some relays)
    const c = s.charCodeAt(p) - 48;
    if (!(c >= 0 && c <= 9) || s.charCodeAt(p + 1) !== 58) return -1;
    h = c;
    p += 1;
  } else p += 2;
  if (s.charCodeAt(p) !== 58) return -1;
  const mi = d2(s, p + 1);
  if (mi < 0 || s.charCodeAt(p + 3) !== 58) return -1;
  const se = d2(s, p + 4);
  if (se < 0) return -1;
  if (h > 23 || mi > 59 || se > 60) return -1;
  p += 6;
  let ms = 0;
  if (s.charCodeAt(p) === 46 || (s.charCodeAt(p) === 44 && d2(s, p + 1) >= 0)) {
    // fraction: keep milliseconds, skip the rest
    let q = p + 1;
    let scale = 100;
    while (q < s.length) {
      const c = s.charCodeAt(q) - 48;
      if (c < 0 || c > 9) break;
      ms += c * scale;
      scale /= 10;
      q++;
    }
    if (q === p + 1) return -1;
    ms = Math.floor(ms);
    p = q;
  }
  tH = h;
  tMi = mi;
  tS = se === 60 ? 59 : se;
  tMs = ms;
  return p;
}

/** Numeric offset at i: `Z`, `±HH:MM`, `±HHMM`, `±HH`. Sets tOffMin; returns end or -1. */
function scanOffset(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === 90 || c === 122) {
    tOffMin = 0;
    return i + 1;
  }
  if (c !== 43 && c !== 45) return -1;
  const hh = d2(s, i + 1);
  if (hh < 0 || hh > 14) return -1;
  let mm = 0;
  let end = i + 3;
  if (s.charCodeAt(end) === 58 && d2(s, end + 1) >= 0) {
    mm = d2(s, end + 1);
    end += 3;
  } else if (d2(s, end) >= 0) {
    mm = d2(s, end);
    end += 2;
  }
  if (mm > 59) return -1;
  tOffMin = (c === 45 ? -1 : 1) * (hh * 60 + mm);
  return end;
}

/** Zone abbreviations we trust as UTC; others (BRT, EST…) are ambiguous and fall back to the device zone. */
function abbrevIsUtc(s: string, i: number, e: number): boolean {
  const len = e - i;
  if (len !== 3) return len === 1 && (s.charCodeAt(i) | 32) === 122;
  const a = s.charCodeAt(i) | 32, b = s.charCodeAt(i + 1) | 32, c = s.charCodeAt(i + 2) | 32;
  return (a === 117 && b === 116 && c === 99) || (a === 103 && b === 109 && c === 116);
}

/**
 * Any timestamp form at i. Sets the t* registers and tEnd (just past it, including a trailing `:` of ASA/IOS/PIC
 * headers) and returns true; false when none is there.
 */
function scanTimestamp(s: string, i: number): boolean {
  const n = s.length;
  if (i + 8 > n) return false;
  tY = -1;
  tOffMin = NaN;
  const c0 = s.charCodeAt(i);
  let p: number;
  if (c0 >= 48 && c0 <= 57) {
    const y = d4(s, i);
    if (y < 1970 || y > 2200) return false;
    const sep = s.charCodeAt(i + 4);
    if (sep === 45) {
      // YYYY-MM-DD[T ]HH:MM:SS[.f][offset]
      const mo = d2(s, i + 5);
      const d = d2(s, i + 8);
      if (mo < 1 || mo > 12 || d < 1 || s.charCodeAt(i + 7) !== 45) return false;
      const t = s.charCodeAt(i + 10);
      if (t !== 84 && t !== 32 && t !== 116) return false;
      p = scanClock(s, i + 11);
      if (p < 0) return false;
      tY = y;
      tMo = mo - 1;
      tD = d;
      const e = scanOffset(s, p);
      if (e > 0) p = e;
    } else if (sep === 32) {
      // YYYY Mmm D HH:MM:SS / YYYY Month D HH:MM:SS
      const m = monthAt(s, i + 5);
      if (m < 0) return false;
      const ml = monthNameLength(s, i + 5, m);
      if (ml < 0) return false;
      p = i + 5 + ml;
      while (s.charCodeAt(p) === 32) p++;
      const d = scanDay(s, p);
      if (d < 0) return false;
      p = scanClock(s, dayEnd + 1);
      if (p < 0) return false;
      tY = y;
      tMo = m;
      tD = d;
    } else return false;
  } else {
    const m = monthAt(s, i);
    if (m < 0) return false;
    if (s.charCodeAt(i + 3) === 47) {
      // MikroTik disk file: Mmm/dd/yyyy HH:MM:SS
      const d = d2(s, i + 4);
      const y = d4(s, i + 7);
      if (d < 1 || y < 1970 || s.charCodeAt(i + 6) !== 47 || s.charCodeAt(i + 11) !== 32) return false;
      p = scanClock(s, i + 12);
      if (p < 0) return false;
      tY = y;
      tMo = m;
      tD = d;
    } else {
      const ml = monthNameLength(s, i, m);
      if (ml < 0) return false;
      p = i + ml;
      if (s.charCodeAt(p) !== 32) return false;
      while (s.charCodeAt(p) === 32) p++;
      const d = scanDay(s, p);
      if (d < 0) return false;
      p = dayEnd + 1;
      // ASA: Mmm dd yyyy HH:MM:SS
      if (s.charCodeAt(p + 4) === 32) {
        const y = d4(s, p);
        if (y >= 1970 && y <= 2200) {
          tY = y;
          p += 5;
        }
      }
      p = scanClock(s, p);
      if (p < 0) return false;
      tMo = m;
      tD = d;
      // Trailing year (`Mmm dd HH:MM:SS yyyy`, some Juniper and relay formats).
      if (tY < 0 && s.charCodeAt(p) === 32) {
        const y = d4(s, p + 1);
        if (y >= 1970 && y <= 2200 && (p + 5 >= n || s.charCodeAt(p + 5) === 32 || s.charCodeAt(p + 5) === 58)) {
          tY = y;
          p += 5;
        }
      }
      // IOS zone abbreviation: ` UTC:` / ` BRT:` (only when a colon ends it, so a hostname is never eaten).
      if (s.charCodeAt(p) === 32) {
        let q = p + 1;
        while (q < n && q - p <= 6) {
          const c = s.charCodeAt(q) | 32;
          if (c < 97 || c > 122) break;
          q++;
        }
        if (q > p + 1 && q - p <= 6 && s.charCodeAt(q) === 58) {
          if (abbrevIsUtc(s, p + 1, q)) tOffMin = 0;
          p = q;
        }
      }
    }
  }
  if (!validDay(tY < 0 ? 2000 : tY, tMo, tD)) return false; // 2000 is a leap year: Feb 29 stays possible
  if (p < n && s.charCodeAt(p) === 58) p++;
  tEnd = p;
  return true;
}

// Lines arrive in time order, so consecutive ones share their minute: cache the UTC start of the last minute
// resolved (per zone, year form, offset and receive hour). Offset changes fall on minute boundaries.
let cMinuteKey = NaN;
let cZone = '';
let cRecvHour = NaN;
let cY = -2;
let cOff = NaN;
let cBase: number | null = null;

/** Resolve the t* registers to ms UTC. */
function resolveTime(zone: string, receivedAt: number): number | null {
  const minuteKey = ((tMo * 32 + tD) * 24 + tH) * 60 + tMi;
  const recvHour = Math.floor(receivedAt / 3_600_000);
  if (minuteKey === cMinuteKey && zone === cZone && recvHour === cRecvHour && tY === cY && (tOffMin === cOff || (tOffMin !== tOffMin && cOff !== cOff))) {
    return cBase === null ? null : cBase + tS * 1000 + tMs;
  }
  const sec = tS;
  const ms = tMs;
  tS = 0;
  tMs = 0;
  const base = resolveUncached(zone, receivedAt);
  tS = sec;
  tMs = ms;
  cMinuteKey = minuteKey;
  cZone = zone;
  cRecvHour = recvHour;
  cY = tY;
  cOff = tOffMin;
  cBase = base;
  return base === null ? null : base + sec * 1000 + ms;
}

function resolveUncached(zone: string, receivedAt: number): number | null {
  if (tY >= 0) {
    if (!validDay(tY, tMo, tD)) return null;
    if (!Number.isNaN(tOffMin)) return Date.UTC(tY, tMo, tD, tH, tMi, tS, tMs) - tOffMin * 60_000;
    return wallToUtc(zone, tY, tMo, tD, tH, tMi, tS, tMs);
  }
  return inferYear(Number.isNaN(tOffMin) ? zone : 'UTC', receivedAt, tMo, tD, tH, tMi, tS, tMs);
}

function tokenEnd(s: string, i: number): number {
  const n = s.length;
  while (i < n && s.charCodeAt(i) !== 32) i++;
  return i;
}

function skipSpaces(s: string, i: number): number {
  const n = s.length;
  while (i < n && s.charCodeAt(i) === 32) i++;
  return i;
}

/** `<PRI>` at i: returns the value (0-191) and leaves the end in priEnd, or -1. */
let priEnd = 0;
function scanPri(s: string, i: number): number {
  if (s.charCodeAt(i) !== 60) return -1;
  let v = 0;
  let p = i + 1;
  while (p < s.length && p - i <= 3) {
    const c = s.charCodeAt(p) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
    p++;
  }
  if (p === i + 1 || p - i > 4 || s.charCodeAt(p) !== 62 || v > 191) return -1;
  priEnd = p + 1;
  return v;
}

/** IOS sequence number `123: ` at i: returns the index after it, or -1. */
function scanSeq(s: string, i: number): number {
  let p = i;
  while (p < s.length && p - i < 12) {
    const c = s.charCodeAt(p);
    if (c < 48 || c > 57) break;
    p++;
  }
  if (p === i || s.charCodeAt(p) !== 58 || s.charCodeAt(p + 1) !== 32) return -1;
  return p + 2;
}

/** Timestamp after optional IOS clock marks (`*` unsynchronised, `.` once synchronised). */
function scanMarkedTimestamp(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c === 42 || c === 46) return scanTimestamp(s, i + 1);
  return scanTimestamp(s, i);
}

/** RFC 5424 VERSION SP at i (1-2 digits, then a space, then a timestamp or `-`). */
function is5424(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c < 49 || c > 57) return false;
  let p = i + 1;
  const c1 = s.charCodeAt(p);
  if (c1 >= 48 && c1 <= 57) p++;
  if (s.charCodeAt(p) !== 32) return false;
  const c2 = s.charCodeAt(p + 1);
  return c2 === 45 || (c2 >= 48 && c2 <= 57);
}

/** End of a valid SD (one or more elements) starting at `[`, or -1 when it is not RFC 5424 structured data. */
function scanSD(s: string, i: number): number {
  const n = s.length;
  let p = i;
  while (p < n && s.charCodeAt(p) === 91) {
    p++;
    const idStart = p;
    while (p < n) {
      const c = s.charCodeAt(p);
      if (c === 32 || c === 61 || c === 93 || c === 34) break;
      p++;
    }
    if (p === idStart || p >= n) return -1;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 93) {
        p++;
        break;
      }
      if (c !== 32) return -1;
      p++;
      if (s.charCodeAt(p) === 93) {
        // tolerate a space before the closing bracket
        p++;
        break;
      }
      const nameStart = p;
      while (p < n) {
        const c2 = s.charCodeAt(p);
        if (c2 === 61 || c2 === 32 || c2 === 93 || c2 === 34) break;
        p++;
      }
      if (p === nameStart || s.charCodeAt(p) !== 61 || s.charCodeAt(p + 1) !== 34) return -1;
      p += 2;
      while (p < n) {
        const c3 = s.charCodeAt(p);
        if (c3 === 92) {
          p += 2;
          continue;
        }
        if (c3 === 34) break;
        p++;
      }
      if (p >= n) return -1;
      p++;
    }
  }
  return p;
}

/** Token [i, e) as a value, `-` meaning absent. */
function field(s: string, i: number, e: number): string | null {
  if (e <= i || (e === i + 1 && s.charCodeAt(i) === 45)) return null;
  return s.slice(i, e);
}

function parse5424(s: string, i: number, h: SyslogHeader, zone: string, receivedAt: number): void {
  // VERSION
  let p = tokenEnd(s, i) + 1;
  // TIMESTAMP
  if (s.charCodeAt(p) === 45 && (p + 1 >= s.length || s.charCodeAt(p + 1) === 32)) {
    p += 2;
  } else if (scanTimestamp(s, p)) {
    h.time = resolveTime(zone, receivedAt);
    p = tEnd + 1;
  } else {
    p = tokenEnd(s, p) + 1;
  }
  h.recognised = true;
  // HOSTNAME
  p = skipSpaces(s, p);
  let e = tokenEnd(s, p);
  h.host = field(s, p, e);
  p = skipSpaces(s, e);
  h.restStart = p;
  h.msgStart = p;
  // APP-NAME PROCID MSGID: each must be a single token; stop early when the SD or message shows up.
  for (let k = 0; k < 3 && p < s.length; k++) {
    if (s.charCodeAt(p) === 91) break;
    e = tokenEnd(s, p);
    const v = field(s, p, e);
    if (k === 0) h.app = v;
    else if (k === 2) h.msgid = v;
    p = skipSpaces(s, e);
  }
  // SD
  if (s.charCodeAt(p) === 45 && (p + 1 >= s.length || s.charCodeAt(p + 1) === 32)) {
    p += 1;
  } else if (s.charCodeAt(p) === 91) {
    const end = scanSD(s, p);
    if (end > 0) {
      h.sd = s.slice(p, end);
      p = end;
    }
  }
  if (s.charCodeAt(p) === 32) p++;
  if (s.charCodeAt(p) === 0xfeff) p++;
  h.msgStart = p;
}

/** Strip trailing NUL, CR, LF and spaces; leading BOM and spaces. */
export function cleanLine(raw: string): string {
  let e = raw.length;
  while (e > 0) {
    const c = raw.charCodeAt(e - 1);
    if (c === 0 || c === 10 || c === 13 || c === 32 || c === 9) e--;
    else break;
  }
  let b = 0;
  while (b < e) {
    const c = raw.charCodeAt(b);
    if (c === 0xfeff || c === 32 || c === 9 || c === 0) b++;
    else break;
  }
  return b === 0 && e === raw.length ? raw : raw.slice(b, e);
}

/**
 * Parse the syslog header(s) of one message. `zone` reads zone-less times; `receivedAt` anchors year-less ones.
 * Never throws.
 */
export function parseHeader(raw: string, zone: string, receivedAt: number): SyslogHeader {
  const s = cleanLine(raw);
  const h: SyslogHeader = {
    line: s, pri: -1, time: null, host: null, app: null, msgid: null, sd: null, restStart: 0, msgStart: 0, recognised: false,
  };
  try {
    parseInto(s, h, zone, receivedAt);
  } catch {
    // A header we cannot read is not fatal: the vendor parsers still see the whole line.
    h.restStart = 0;
    h.msgStart = 0;
  }
  return h;
}

function parseInto(s: string, h: SyslogHeader, zone: string, receivedAt: number): void {
  const n = s.length;
  let p = 0;
  for (let depth = 0; depth < 4 && p < n; depth++) {
    const pri = scanPri(s, p);
    if (pri >= 0) {
      if (depth === 0 || h.pri < 0) h.pri = pri;
      h.recognised = true;
      p = skipSpaces(s, priEnd);
    }
    const afterSeq = scanSeq(s, p);
    if (afterSeq > 0) {
      p = afterSeq;
      h.recognised = true;
    }
    if (is5424(s, p)) {
      parse5424(s, p, h, zone, receivedAt);
      return;
    }
    let stamped = scanMarkedTimestamp(s, p);
    if (!stamped) {
      // IOS `host: *Mmm dd …` — a host before the time.
      const e = tokenEnd(s, p);
      if (e > p + 1 && e < n && s.charCodeAt(e - 1) === 58 && scanMarkedTimestamp(s, e + 1)) {
        h.host = s.slice(p, e - 1);
        p = e + 1;
        stamped = true;
      }
    }
    if (!stamped) {
      h.restStart = p;
      h.msgStart = p;
      return;
    }
    h.recognised = true;
    h.time = resolveTime(zone, receivedAt);
    p = skipSpaces(s, tEnd);
    h.restStart = p;
    h.msgStart = p;
    if (p >= n) return;
    const c = s.charCodeAt(p);
    if (c === 37 || c === 58) return; // `%ASA-…`, `%IPNAT-…`, `: %…`: no host
    const e = tokenEnd(s, p);
    if (s.startsWith('CEF:', p)) return;
    if (s.charCodeAt(e - 1) === 58) {
      // `host{service-set}[tag]:` (Juniper services PIC), else a bare `tag:` / `tag[pid]:` (no host).
      let k = p;
      while (k < e && s.charCodeAt(k) !== 123) k++;
      if (k < e - 1 && k > p) h.host = s.slice(p, k);
      return;
    }
    h.host = s.slice(p, e);
    p = skipSpaces(s, e);
    h.restStart = p;
    h.msgStart = p;
    // A relay's header may wrap the original one: look for another PRI, version, sequence or time.
    if (p >= n) return;
    const d = s.charCodeAt(p);
    if (!(d === 60 || (d >= 48 && d <= 57) || d === 42 || monthAt(s, p) >= 0)) return;
    if (scanPri(s, p) < 0 && !is5424(s, p) && scanSeq(s, p) < 0 && !scanMarkedTimestamp(s, p)) return;
    h.host = null; // the relay's name is not the device's
  }
}
