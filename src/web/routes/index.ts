// The registry of route modules, in the order the console lists them.
import { accountRoutes } from './account.js';
import { auditRoutes } from './audit.js';
import { authRoutes } from './auth.js';
import { dashboardRoutes } from './dashboard.js';
import { healthRoutes } from './health.js';
import { placeholderRoutes } from './placeholders.js';
import type { RouteDef, Services } from './types.js';
import { userRoutes } from './users.js';

export type { RouteDef, Services } from './types.js';

export function allRoutes(svc: Services): RouteDef[] {
  return [
    ...healthRoutes(svc),
    ...authRoutes(svc),
    ...accountRoutes(svc),
    ...dashboardRoutes(svc),
    ...placeholderRoutes(svc),
    ...auditRoutes(svc),
    ...userRoutes(svc),
  ];
}
