// Every request the console refused is audited: 403 (role, CSRF, forbidden action) as
// `request_denied`, 422 (input rejected) as `request_rejected`, with the route, the path, the error
// code and the form as sent — minus secrets (passwords, codes, tokens), which never reach the log.
// Runs outside the error middleware, so it sees the final status whether a route answered it or
// an error was turned into a page. Refusals to nobody signed in are capped per address (an
// anonymous flood must not fill the audit log, each entry being an fsync); signed-in users are
// accountable and always recorded.
import type { Middleware } from 'koa';
import type { WebState } from '../state.js';
import { AddressThrottle } from '../throttle.js';

const ACTION_BY_STATUS: Record<number, string> = { 403: 'request_denied', 422: 'request_rejected' };
/** Form fields never written to the audit log, whatever the route. */
const SECRET_FIELD = /pass|current|confirm|secret|token|csrf|^code$/i;
const VALUE_MAX_CHARS = 2000;
const QUERY_MAX_CHARS = 1000;
/** Anonymous refusals audited per address and window; past that, one entry says the rest are not. */
export const ANONYMOUS_REFUSALS_AUDITED = 50;
const ANONYMOUS_WINDOW_MS = 15 * 60_000;

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function safeForm(form: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(form)) out[k] = SECRET_FIELD.test(k) ? '(omitted)' : clip(String(v), VALUE_MAX_CHARS);
  return out;
}

export function auditRefusals(): Middleware<WebState> {
  const anonymous = new AddressThrottle(ANONYMOUS_REFUSALS_AUDITED, ANONYMOUS_WINDOW_MS);
  return async (ctx, next) => {
    await next();
    const action = ACTION_BY_STATUS[ctx.status];
    if (!action) return;
    const query: Record<string, unknown> = {
      method: ctx.method,
      path: clip(ctx.path, QUERY_MAX_CHARS),
      route: (ctx as unknown as { _matchedRouteName?: string })._matchedRouteName ?? null,
      code: ctx.state.errorCode,
    };
    if (ctx.querystring) query.query = clip(ctx.querystring, QUERY_MAX_CHARS);
    if (Object.keys(ctx.state.form).length) query.form = safeForm(ctx.state.form);
    if (!ctx.state.user) {
      const taken = anonymous.take(ctx.ip);
      if (taken.blocked) {
        if (taken.firstTime) ctx.state.audit({ action, query: { ...query, form: undefined, further_refusals_not_audited_min: ANONYMOUS_WINDOW_MS / 60_000 } });
        return;
      }
    }
    ctx.state.audit({ action, query });
  };
}
