// GET /audit: the audit log, newest first, filtered by user, action, date range (in the configured
// zone) and case reference, 50 per page. htmx filter changes get only the results fragment.
import { AUDIT_ACTIONS, auditFacets, queryAudit, type AuditFilter } from '../../users/audit.js';
import { isHtmx } from '../state.js';
import { nextDay, parseLocalDate } from '../time.js';
import type { RouteDef, Services } from './types.js';

const PAGE_SIZE = 50;

export function auditRoutes(svc: Services): RouteDef[] {
  const tz = svc.deps.config.timezone;
  return [
    {
      name: 'audit',
      method: 'GET',
      path: '/audit',
      handler: (ctx) => {
        const q = (k: string) => {
          const v = ctx.query[k];
          return (typeof v === 'string' ? v : '').trim().slice(0, 200);
        };
        const filters = { user: q('user'), action: q('action'), from: q('from'), to: q('to'), case: q('case') };
        const errors: string[] = [];
        const f: AuditFilter = { user: filters.user || null, action: filters.action || null, case_ref: filters.case || null };
        if (filters.from) {
          f.from_ms = parseLocalDate(filters.from, tz);
          if (f.from_ms === null) errors.push('audit.bad_date');
        }
        if (filters.to) {
          const end = parseLocalDate(filters.to, tz);
          if (end === null) errors.push('audit.bad_date');
          else f.to_ms = parseLocalDate(nextDay(filters.to), tz);
        }
        if (!errors.length && f.from_ms != null && f.to_ms != null && f.to_ms <= f.from_ms) errors.push('audit.bad_range');
        const page = Number(q('page')) || 1;
        const result = errors.length ? null : queryAudit(svc.udb.db, f, page, PAGE_SIZE);
        const facets = auditFacets(svc.udb.db);
        const actions = [...new Set([...AUDIT_ACTIONS, ...facets.actions])];
        const link = (p: number) => {
          const u = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
          u.set('page', String(p));
          return `/audit?${u}`;
        };
        const data = {
          filters,
          errors: [...new Set(errors)],
          result,
          users: facets.users,
          actions,
          prev: result && result.page > 1 ? link(result.page - 1) : null,
          next: result && result.page < result.pages ? link(result.page + 1) : null,
          audit_on: svc.udb.auditEnabled,
        };
        svc.views.render(ctx, isHtmx(ctx) ? 'audit/_results.njk' : 'audit/page.njk', data, errors.length ? 422 : 200);
      },
    },
  ];
}
