// Times typed by an analyst and times shown to one. Input is ISO 8601 (or a court order's
// DD/MM/YYYY HH:MM:SS) with an offset, or without one read in the configured zone — never silently
// UTC; a local time that a DST change makes ambiguous or nonexistent is refused and the offset asked
// for. Output is always ISO 8601 with the offset of the configured zone (`2026-03-05T10:11:12-03:00`).
import { instantsOfWall, isZone } from '../core/time.js';
import { QueryError } from './errors.js';

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(.*)$/i;
const BR = /^(\d{2})\/(\d{2})\/(\d{4})[ T]+(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(.*)$/i;
// Z | ±HH[:MM] | ±HHMM | GMT/UTC, optionally followed by ±H[H][:MM] (court orders write "GMT-3").
const ZONE = /^(?:(z)|(?:(?:gmt|utc)\s*)?([+-])(\d{1,2})(?::?(\d{2}))?|(gmt|utc))$/i;

/**
 * Parse an analyst's time. Accepts `YYYY-MM-DDTHH:MM[:SS[.fff]]` (T or space) and
 * `DD/MM/YYYY HH:MM[:SS]`, followed by `Z`, `±HH:MM`, `±HHMM`, `±HH`, `GMT-3`, `UTC` or nothing;
 * nothing means local time in `tz`. Returns ms since the epoch; throws QueryError on anything else.
 */
export function parseAnalystTime(text: string, tz: string): number {
  const s = String(text ?? '').trim();
  const m = ISO.exec(s);
  const b = m ? null : BR.exec(s);
  if (!m && !b) throw new QueryError('MEGALOG_ERR_QUERY_BAD_TIME', s, 'time');
  const [y, mo, d] = m ? [+m[1]!, +m[2]!, +m[3]!] : [+b![3]!, +b![2]!, +b![1]!];
  const g = (m ?? b)!;
  const h = +g[4]!;
  const mi = +g[5]!;
  const sec = g[6] ? +g[6] : 0;
  const ms = g[7] ? Math.floor(Number(`0.${g[7]}`) * 1000) : 0;
  const zone = (g[8] ?? '').trim();
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || sec > 59 || y < 1970 || y > 9999) {
    throw new QueryError('MEGALOG_ERR_QUERY_BAD_TIME', s, 'time');
  }
  const local = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
  if (zone) {
    const z = ZONE.exec(zone);
    if (!z) throw new QueryError('MEGALOG_ERR_QUERY_BAD_TIME', s, 'time');
    if (z[1] || z[5]) return local;
    const oh = +z[3]!;
    const om = z[4] ? +z[4] : 0;
    if (oh > 14 || om > 59) throw new QueryError('MEGALOG_ERR_QUERY_BAD_TIME', s, 'time');
    const off = (oh * 60 + om) * (z[2] === '-' ? -1 : 1);
    return local - off * 60_000;
  }
  return localToUtc(local, tz, s);
}

/** Wall-clock time `local` (fields encoded as if UTC) in `tz` → instant; refuse DST gaps and overlaps. */
function localToUtc(local: number, tz: string, shown: string): number {
  checkZone(tz);
  const hits = instantsOfWall(local, tz);
  if (hits.length !== 1) throw new QueryError('MEGALOG_ERR_QUERY_AMBIGUOUS_TIME', shown, 'time');
  return hits[0]!;
}

function daysIn(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** Throw a QueryError unless `tz` is a zone this Node knows. */
export function checkZone(tz: string): void {
  if (!isZone(tz)) throw new QueryError('MEGALOG_ERR_QUERY_BAD_ZONE', tz);
}
