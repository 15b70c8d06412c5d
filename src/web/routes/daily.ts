// GET /search/daily?day=YYYY-MM-DD: one day file at a glance (src/store/sqlite/daily.ts), with its
// charts drawn here as SVG geometry for the template — no script, no inline style (the CSP forbids
// both), no library. Days are the store's UTC day files; hour labels are shown in the configured zone.
// Summaries of past days (files no longer written) are cached; today's is read on every request.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { dailySummary, listDays, type DailySummary } from '../../store/sqlite/daily.js';
import { isHtmx } from '../state.js';
import { zonedParts } from '../../core/time.js';
import type { RouteDef, Services } from './types.js';

const CACHE_MAX = 31;
const W = 960;
const H = 220;
const PLOT = 180;

/** Bars of a 24-hour chart: geometry and labels, ready for <rect>/<text>. */
export function hourBars(s: DailySummary, tz: string) {
  const max = Math.max(1, ...s.hours.map((h) => h.records + h.lines));
  const slot = W / 24;
  const dayStart = Date.parse(`${s.day}T00:00:00Z`);
  return s.hours.map((h) => {
    const p = zonedParts(dayStart + h.hour * 3_600_000, tz);
    const label = `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
    const rh = Math.round(((h.records / max) * PLOT) * 10) / 10;
    const lh = Math.round(((h.lines / max) * PLOT) * 10) / 10;
    return { ...h, label, x: Math.round(h.hour * slot + 4), w: Math.round(slot - 8), y: PLOT - rh, h: rh, ly: PLOT - rh - lh, lh, tx: Math.round(h.hour * slot + slot / 2) };
  });
}

/** Horizontal bars (0–100 % of the largest value) for lists. */
function share<T extends { records: number }>(list: T[]): (T & { pct: number })[] {
  const max = Math.max(1, ...list.map((x) => x.records));
  return list.map((x) => ({ ...x, pct: Math.max(0.5, Math.round((x.records / max) * 1000) / 10) }));
}

export function dailyRoutes(svc: Services): RouteDef[] {
  const cfg = svc.deps.config;
  const cache = new Map<string, DailySummary>();

  function summary(day: string): DailySummary | null {
    const today = new Date().toISOString().slice(0, 10);
    let key = '';
    try {
      const st = statSync(join(cfg.cold_storage_dir, `${day}.db`));
      key = `${day}|${st.size}|${st.mtimeMs}`;
    } catch {
      return null;
    }
    const hit = cache.get(key);
    if (hit) return hit;
    const s = dailySummary(cfg.cold_storage_dir, day);
    if (s && day < today) {
      cache.set(key, s);
      while (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value as string);
    }
    return s;
  }

  return [
    {
      name: 'daily',
      method: 'GET',
      path: '/search/daily',
      handler: (ctx) => {
        const days = listDays(cfg.cold_storage_dir);
        const asked = typeof ctx.query.day === 'string' ? ctx.query.day.trim() : '';
        const bad = !!asked && !(/^\d{4}-\d{2}-\d{2}$/.test(asked) && new Date(`${asked}T00:00:00Z`).toISOString().startsWith(asked));
        const day = bad ? '' : asked || days[0] || '';
        const s = bad || !day ? null : summary(day);
        const i = days.indexOf(day);
        const data = {
          day,
          days: days.slice(0, 62),
          bad,
          missing: !bad && !!day && !s,
          s,
          bars: s ? hourBars(s, cfg.timezone) : [],
          protocols: s ? share(s.protocols) : [],
          top: s ? share(s.top_public) : [],
          devices: s ? share(s.devices.map((d) => ({ ...d, records: d.records + d.lines, nat: d.records }))) : [],
          chart: { w: W, h: H, plot: PLOT },
          older: i >= 0 && i + 1 < days.length ? days[i + 1] : null,
          newer: i > 0 ? days[i - 1] : null,
        };
        svc.views.render(ctx, isHtmx(ctx) ? 'daily/_summary.njk' : 'daily/page.njk', data, bad ? 422 : 200);
      },
    },
  ];
}
