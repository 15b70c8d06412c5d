// Time zones: the one implementation, for the ingest path (zone-less header times), the query engine
// (analyst input, ISO output with offsets) and the console (times shown with their offset). Offsets come
// from Intl and are cached per zone per 15-minute slot (every real offset change falls on one:
// Newfoundland and Lord Howe switch on half hours), so a hot path does a Map lookup, not an Intl call.
// An unknown zone reads as UTC here (the ingest path never throws); config and query validate zones
// with isZone() first.

export const SLOT_MS = 15 * 60 * 1000;
const formatters = new Map<string, Intl.DateTimeFormat | null>();
const offsetCaches = new Map<string, Map<number, number>>();

function formatterFor(zone: string): Intl.DateTimeFormat | null {
  let f = formatters.get(zone);
  if (f !== undefined) return f;
  try {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
  } catch {
    f = null; // unknown zone: read as UTC rather than throw in the ingest path
  }
  formatters.set(zone, f);
  return f;
}

function isUtc(zone: string): boolean {
  return zone === 'UTC' || zone === 'Etc/UTC' || zone === 'GMT' || zone === 'Etc/GMT' || zone === 'Z';
}

/** Offset of `zone` from UTC, in ms, at the instant `utcMs` (positive east of Greenwich). */
export function zoneOffsetMs(zone: string, utcMs: number): number {
  if (isUtc(zone)) return 0;
  const slot = Math.floor(utcMs / SLOT_MS);
  if (slot === lastSlot && zone === lastZone) return lastOff;
  const off = offsetFor(zone, slot);
  lastSlot = slot;
  lastZone = zone;
  lastOff = off;
  return off;
}

let lastSlot = NaN;
let lastZone = '';
let lastOff = 0;

function offsetFor(zone: string, slot: number): number {
  let cache = offsetCaches.get(zone);
  if (cache === undefined) {
    cache = new Map();
    offsetCaches.set(zone, cache);
  }
  const hit = cache.get(slot);
  if (hit !== undefined) return hit;
  const f = formatterFor(zone);
  let off = 0;
  if (f !== null) {
    const at = slot * SLOT_MS;
    let y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    for (const part of f.formatToParts(at)) {
      switch (part.type) {
        case 'year': y = Number(part.value); break;
        case 'month': mo = Number(part.value); break;
        case 'day': d = Number(part.value); break;
        case 'hour': h = Number(part.value); break;
        case 'minute': mi = Number(part.value); break;
        case 'second': se = Number(part.value); break;
        default: break;
      }
    }
    off = Date.UTC(y, mo - 1, d, h, mi, se) - at;
  }
  if (cache.size > 50_000) cache.clear();
  cache.set(slot, off);
  return off;
}

/**
 * UTC ms of a wall-clock time in `zone` (month 0-11). Inside a DST gap the later offset is used; inside an
 * overlap, the earlier instant.
 */
export function wallToUtc(zone: string, y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  const wall = Date.UTC(y, mo, d, h, mi, s, ms);
  if (isUtc(zone)) return wall;
  const o1 = zoneOffsetMs(zone, wall);
  const t = wall - o1;
  const o2 = zoneOffsetMs(zone, t);
  if (o2 === o1) return t;
  const t2 = wall - o2;
  return zoneOffsetMs(zone, t2) === o2 ? Math.min(t, t2) : t;
}


/** Whether this Node knows `tz` as an IANA zone (or UTC). */
export function isZone(tz: string): boolean {
  return isUtc(tz) || formatterFor(tz) !== null;
}

const p2 = (n: number) => String(n).padStart(2, '0');

/** An offset in ms as `+HH:MM` / `-HH:MM`. */
export function offsetText(offMs: number): string {
  const a = Math.abs(Math.round(offMs / 60_000));
  return `${offMs < 0 ? '-' : '+'}${p2(Math.floor(a / 60))}:${p2(a % 60)}`;
}

/** Calendar fields of instant `ms` in `tz` (month 1-12) and its offset text. */
export interface ZonedParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  /** "+HH:MM" / "-HH:MM" */
  offset: string;
}

export function zonedParts(ms: number, tz: string): ZonedParts {
  const off = zoneOffsetMs(tz, ms);
  const d = new Date(ms + off);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    millisecond: d.getUTCMilliseconds(),
    offset: offsetText(off),
  };
}

/** ISO 8601 in `tz`, offset always written (`+00:00`, never `Z`); milliseconds only when not zero. */
export function formatInZone(ms: number, tz: string): string {
  const p = zonedParts(ms, tz);
  const frac = p.millisecond ? `.${String(p.millisecond).padStart(3, '0')}` : '';
  return `${String(p.year).padStart(4, '0')}-${p2(p.month)}-${p2(p.day)}T${p2(p.hour)}:${p2(p.minute)}:${p2(p.second)}${frac}${p.offset}`;
}

/** For people: "2026-03-05 10:11:12 -03:00". */
export function formatInstant(ms: number, tz: string): string {
  const p = zonedParts(ms, tz);
  return `${p.year}-${p2(p.month)}-${p2(p.day)} ${p2(p.hour)}:${p2(p.minute)}:${p2(p.second)} ${p.offset}`;
}

/** The zone's offset now, "-03:00". */
export function currentOffset(tz: string, now = Date.now()): string {
  return offsetText(zoneOffsetMs(tz, now));
}

/**
 * Every instant whose wall-clock time in `tz` is `wall` (fields encoded as if UTC): one in the normal
 * case, none inside a DST gap, two inside an overlap.
 */
export function instantsOfWall(wall: number, tz: string): number[] {
  const hits = new Set<number>();
  for (let k = -2; k <= 2; k++) {
    const off = zoneOffsetMs(tz, wall + k * 43_200_000);
    if (zoneOffsetMs(tz, wall - off) === off) hits.add(wall - off);
  }
  return [...hits].sort((x, y) => x - y);
}
