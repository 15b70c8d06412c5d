// The registry of route modules, in the order the console lists them.
import { accountRoutes } from './account.js';
import { auditRoutes } from './audit.js';
import { authRoutes } from './auth.js';
import { dashboardRoutes } from './dashboard.js';
import { healthRoutes } from './health.js';
import { bulkRoutes } from './bulk.js';
import { dailyRoutes } from './daily.js';
import { exportRoutes } from './export.js';
import { searchRoutes } from './search.js';
import { ResultStore } from './search-store.js';
import type { RouteDef, Services } from './types.js';
import { userRoutes } from './users.js';

export type { RouteDef, Services } from './types.js';

export function allRoutes(svc: Services): RouteDef[] {
  const results = new ResultStore(); // answers shared by search, bulk and exports
  return [
    ...healthRoutes(svc),
    ...authRoutes(svc),
    ...accountRoutes(svc),
    ...dashboardRoutes(svc),
    ...searchRoutes(svc, results),
    ...bulkRoutes(svc, results),
    ...dailyRoutes(svc),
    ...exportRoutes(svc, results),
    ...auditRoutes(svc),
    ...userRoutes(svc),
  ];
}
