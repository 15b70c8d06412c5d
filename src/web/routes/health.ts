// GET /health and GET /metrics: unauthenticated, for nginx, systemd and Prometheus on the same host.
import type { HealthStatus, ProcessorHealth } from '../../daemon/health.js';
import { withTimeout, type RouteDef, type Services } from './types.js';

const RANK: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

/**
 * The processor's checks plus our own `users_db` (a real query). users.db down makes the appliance
 * `degraded`, not `unhealthy`: logs are still received and committed, only the console is impaired.
 */
export async function healthReport(svc: Services): Promise<{ status: HealthStatus; version: string; checks: Record<string, boolean> }> {
  let ph: ProcessorHealth;
  try {
    ph = await withTimeout(svc.deps.processorHealth(), 3000, 'processorHealth');
  } catch {
    ph = { status: 'unhealthy', checks: { processor: false, logs_db: false, buffer: false }, details: {} };
  }
  const usersDb = svc.udb.healthy();
  let status = ph.status;
  if (!usersDb && RANK[status] < RANK.degraded) status = 'degraded';
  return { status, version: svc.deps.version, checks: { ...ph.checks, users_db: usersDb } };
}

export function healthRoutes(svc: Services): RouteDef[] {
  return [
    {
      name: 'health',
      method: 'GET',
      path: '/health',
      handler: async (ctx) => {
        const r = await healthReport(svc);
        ctx.status = r.status === 'unhealthy' ? 503 : 200;
        ctx.set('Cache-Control', 'no-store');
        ctx.body = r;
      },
    },
    {
      name: 'metrics',
      method: 'GET',
      path: '/metrics',
      handler: async (ctx) => {
        try {
          const text = await withTimeout(svc.deps.metricsText(), 5000, 'metricsText');
          ctx.type = svc.deps.metricsContentType;
          ctx.body = text;
        } catch (err) {
          console.error('megalog web: /metrics failed:', err);
          ctx.status = 500;
          ctx.type = 'text/plain; charset=utf-8';
          ctx.body = 'metrics unavailable\n';
        }
      },
    },
  ];
}
