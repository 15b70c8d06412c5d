// GET /: the dashboard. The same route answers htmx's self-refresh (every 5 s) with just the panel.
import type { DashboardSnapshot, ProcessorHealth } from '../../daemon/health.js';
import { isHtmx } from '../state.js';
import { withTimeout, type RouteDef, type Services } from './types.js';

/** A device silent this long is flagged on the dashboard. */
export const DEVICE_STALE_MS = 5 * 60_000;

function disk(d: { total_bytes: number; free_bytes: number } | null) {
  if (!d || !(d.total_bytes > 0)) return null;
  const used = Math.max(0, d.total_bytes - d.free_bytes);
  return { total: d.total_bytes, free: d.free_bytes, used, pct: Math.round((used / d.total_bytes) * 1000) / 10 };
}

export function dashboardRoutes(svc: Services): RouteDef[] {
  return [
    {
      name: 'dashboard',
      method: 'GET',
      path: '/',
      handler: async (ctx) => {
        const now = Date.now();
        let snap: DashboardSnapshot | null = null;
        let health: ProcessorHealth | null = null;
        try {
          [snap, health] = await Promise.all([
            withTimeout(svc.deps.dashboard(), 3000, 'dashboard'),
            withTimeout(svc.deps.processorHealth(), 3000, 'processorHealth'),
          ]);
        } catch (err) {
          console.error('megalog web: dashboard figures unavailable:', (err as Error).message);
        }
        const view = snap && {
          ...snap,
          received: Object.entries(snap.received_by_transport).sort(([a], [b]) => a.localeCompare(b)),
          // Messages first, then bytes (two units: each sorted on its own), zeros left out.
          drops: [snap.dropped_by_reason, snap.dropped_bytes_by_reason].flatMap((by, bytes) =>
            Object.entries(by)
              .filter(([, n]) => n > 0)
              .sort(([, a], [, b]) => b - a)
              .map(([reason, n]) => [reason, n, bytes === 1] as const),
          ),
          devices: [...snap.devices]
            .sort((a, b) => a.name.localeCompare(b.name) || a.address.localeCompare(b.address))
            .map((d) => ({ ...d, stale: d.last_seen_ms > 0 && now - d.last_seen_ms > DEVICE_STALE_MS })),
          hot: disk(snap.hot_disk),
          cold: disk(snap.cold_disk),
        };
        const data = { snap: view, health: health?.status ?? null, now };
        svc.views.render(ctx, isHtmx(ctx) ? 'dashboard/_panel.njk' : 'dashboard/page.njk', data);
      },
    },
  ];
}
