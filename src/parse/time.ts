// Times in log headers and bodies: month names, calendar checks, and the year of a year-less BSD time.
// Zone offsets come from the one time-zone module, core/time.ts.
import { SLOT_MS, wallToUtc, zoneOffsetMs } from '../core/time.js';

export { wallToUtc };

const MONTHS3 = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH_FULL = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** Month index 0-11 of the three letters at `i` (any case), or -1. */
export function monthAt(s: string, i: number): number {
  if (i + 3 > s.length) return -1;
  const a = s.charCodeAt(i) | 32;
  const b = s.charCodeAt(i + 1) | 32;
  const c = s.charCodeAt(i + 2) | 32;
  switch (a) {
    case 106: // j
      if (b === 97 && c === 110) return 0;
      if (b === 117) return c === 110 ? 5 : c === 108 ? 6 : -1;
      return -1;
    case 102: return b === 101 && c === 98 ? 1 : -1;
    case 109: return b === 97 ? (c === 114 ? 2 : c === 121 ? 4 : -1) : -1;
    case 97: return b === 112 && c === 114 ? 3 : b === 117 && c === 103 ? 7 : -1;
    case 115: return b === 101 && c === 112 ? 8 : -1;
    case 111: return b === 99 && c === 116 ? 9 : -1;
    case 110: return b === 111 && c === 118 ? 10 : -1;
    case 100: return b === 101 && c === 99 ? 11 : -1;
    default: return -1;
  }
}

/**
 * Length of the month name at `i` whose index is `m` (3 for `Jan`, 7 for `January`, 4 for `Sept`),
 * given the three letters already matched; the name must end at a non-letter.
 */
export function monthNameLength(s: string, i: number, m: number): number {
  if (!isLetterAt(s, i + 3)) return 3;
  const full = MONTH_FULL[m];
  const lower = s.slice(i, i + full.length).toLowerCase();
  if (lower === full && !isLetterAt(s, i + full.length)) return full.length;
  if (m === 8 && (s.charCodeAt(i + 3) | 32) === 116 && !isLetterAt(s, i + 4)) return 4; // Sept
  return -1;
}

function isLetterAt(s: string, k: number): boolean {
  if (k >= s.length) return false;
  const c = s.charCodeAt(k) | 32;
  return c >= 97 && c <= 122;
}

export { MONTHS3 };

/** Whether (y, mo, d) is a real calendar day (rejects Feb 30, Apr 31, Feb 29 outside leap years). */
export function validDay(y: number, mo: number, d: number): boolean {
  if (mo < 0 || mo > 11 || d < 1) return false;
  const dim = mo === 1 ? ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo];
  return d <= dim;
}

const DAY_MS = 86_400_000;
let lastYearSlot = NaN;
let lastYearZone = '';
let lastYear = 0;

/** Calendar year of the instant `utcMs` in `zone` (cached for the last 15-minute slot asked). */
export function yearIn(zone: string, utcMs: number): number {
  const slot = Math.floor(utcMs / SLOT_MS);
  if (slot === lastYearSlot && zone === lastYearZone) return lastYear;
  const y = new Date(utcMs + zoneOffsetMs(zone, utcMs)).getUTCFullYear();
  lastYearSlot = slot;
  lastYearZone = zone;
  lastYear = y;
  return y;
}

/**
 * UTC ms of a year-less BSD time (month 0-11). The year is the latest of (receive year + 1, receive year,
 * receive year − 1, …) that does not put the event more than one day after `receivedAt`: a `Dec 31 23:59:59` line
 * received on Jan 1 belongs to the old year, a `Jan  1 00:00:05` line received at Dec 31 23:59:58 (device clock a
 * little ahead) to the new one, and a `Jan 15` line read back on Dec 31 (an import) to the same year.
 * Returns null for impossible dates (Feb 30; Feb 29 with no leap year within four years back).
 */
export function inferYear(zone: string, receivedAt: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number | null {
  const ry = yearIn(zone, receivedAt);
  // Fast path: the receive year fits and the next year cannot (it would be at least 365 days later).
  if (validDay(ry, mo, d)) {
    const t = wallToUtc(zone, ry, mo, d, h, mi, s, ms);
    if (t <= receivedAt + DAY_MS && t > receivedAt - 363 * DAY_MS) return t;
  }
  for (let y = ry + 1; y >= ry - 4; y--) {
    if (!validDay(y, mo, d)) continue;
    const t = wallToUtc(zone, y, mo, d, h, mi, s, ms);
    if (t <= receivedAt + DAY_MS) return t;
  }
  return null;
}
