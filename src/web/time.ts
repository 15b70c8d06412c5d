// Times in the console: shown in the configured IANA zone with the UTC offset always visible, and
// typed dates read in that zone (never silently as UTC).

const fmtCache = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = fmtCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    fmtCache.set(tz, f);
  }
  return f;
}

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** "+HH:MM" / "-HH:MM" */
  offset: string;
}

export function zonedParts(ms: number, tz: string): Parts {
  const p: Record<string, string> = {};
  for (const part of formatter(tz).formatToParts(new Date(ms))) p[part.type] = part.value;
  const off = (p.timeZoneName ?? 'GMT').replace('GMT', '') || '+00:00';
  return {
    year: Number(p.year),
    month: Number(p.month),
    day: Number(p.day),
    hour: Number(p.hour),
    minute: Number(p.minute),
    second: Number(p.second),
    offset: off,
  };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** "2026-03-05 10:11:12 -03:00" */
export function formatInstant(ms: number, tz: string): string {
  const p = zonedParts(ms, tz);
  return `${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)} ${p.offset}`;
}

/** The zone's current offset, "-03:00". */
export function currentOffset(tz: string, now = Date.now()): string {
  return zonedParts(now, tz).offset;
}

function offsetMs(ms: number, tz: string): number {
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(zonedParts(ms, tz).offset);
  if (!m) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
}

/** Wall-clock time in `tz` → epoch ms. In a DST gap the later offset wins; in an overlap, the earlier instant. */
export function zonedToEpoch(y: number, mo: number, d: number, h: number, mi: number, s: number, tz: string): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  let guess = wall - offsetMs(wall, tz);
  guess = wall - offsetMs(guess, tz);
  return guess;
}

/** "YYYY-MM-DD" in `tz` → the instant that day starts, or null when malformed. */
export function parseLocalDate(s: string, tz: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s.trim());
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || y < 1970 || y > 9999) return null;
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCMonth() !== mo - 1) return null; // 2026-02-31
  return zonedToEpoch(y, mo, d, 0, 0, 0, tz);
}

/** The calendar day after "YYYY-MM-DD" (for exclusive upper bounds). */
export function nextDay(s: string): string {
  const [y, mo, d] = s.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d + 1));
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}
