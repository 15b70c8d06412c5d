// Pages whose content arrives with the query engine: /search and /exports say so for now.
import type { RouteDef, Services } from './types.js';

export function placeholderRoutes(svc: Services): RouteDef[] {
  return [
    { name: 'search', method: 'GET', path: '/search', handler: (ctx) => svc.views.render(ctx, 'search/page.njk') },
    { name: 'exports', method: 'GET', path: '/exports', handler: (ctx) => svc.views.render(ctx, 'exports/page.njk') },
  ];
}
