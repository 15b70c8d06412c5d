// Times in the console: shown in the configured IANA zone with the UTC offset always visible, and
// typed dates read in that zone (never silently as UTC). Zone arithmetic lives in core/time.ts.
import { wallToUtc } from '../core/time.js';

const pad = (n: number) => String(n).padStart(2, '0');

/** "YYYY-MM-DD" in `tz` → the instant that day starts, or null when malformed. */
export function parseLocalDate(s: string, tz: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s.trim());
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || y < 1970 || y > 9999) return null;
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCMonth() !== mo - 1) return null; // 2026-02-31
  return wallToUtc(tz, y, mo - 1, d, 0, 0, 0, 0);
}

/** The calendar day after "YYYY-MM-DD" (for exclusive upper bounds). */
export function nextDay(s: string): string {
  const [y, mo, d] = s.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d + 1));
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}
