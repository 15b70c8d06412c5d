// The one error middleware: every error becomes a page, an htmx fragment or a redirect to the login
// page — never a stack trace. WebErrors carry their own message; anything else is logged here with an
// id and the user sees only that id.
import { randomBytes } from 'node:crypto';
import type { Middleware } from 'koa';
import { WebError, type WebErrorCode } from '../errors.js';
import type { Views } from '../render.js';
import { isHtmx, type Ctx, type WebState } from '../state.js';

const BY_STATUS: Record<number, WebErrorCode> = {
  400: 'MEGALOG_ERR_WEB_BAD_REQUEST',
  403: 'MEGALOG_ERR_WEB_FORBIDDEN',
  404: 'MEGALOG_ERR_WEB_NOT_FOUND',
  405: 'MEGALOG_ERR_WEB_METHOD',
  413: 'MEGALOG_ERR_WEB_TOO_LARGE',
  415: 'MEGALOG_ERR_WEB_UNSUPPORTED_MEDIA',
  429: 'MEGALOG_ERR_WEB_THROTTLED',
};

/** Only relative paths on this site, never back to the login page itself. */
export function safeNext(s: string | undefined | null): string | null {
  if (!s || !/^\/(?![/\\])[^\s\\]*$/.test(s) || s.startsWith('/login') || s.length > 512) return null;
  return s;
}

function redirect(ctx: Ctx, to: string): void {
  if (isHtmx(ctx)) {
    ctx.status = 200;
    ctx.set('HX-Redirect', to);
    ctx.body = '';
  } else {
    ctx.status = 303;
    ctx.redirect(to);
  }
}

export function errorHandler(views: Views): Middleware<WebState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) throw new WebError('MEGALOG_ERR_WEB_NOT_FOUND');
    } catch (raw) {
      let err: WebError;
      if (raw instanceof WebError) err = raw;
      else {
        const status = (raw as { status?: number; expose?: boolean }).status;
        const code = status && status < 500 ? BY_STATUS[status] : undefined;
        if (code) err = new WebError(code);
        else {
          const id = randomBytes(6).toString('hex');
          console.error(`megalog web: error ${id} on ${ctx.method} ${ctx.path}:`, raw);
          err = new WebError('MEGALOG_ERR_WEB_INTERNAL', undefined, { id });
        }
      }
      ctx.state.errorCode = err.code;
      if (err.code === 'MEGALOG_ERR_WEB_UNAUTHENTICATED' || err.code === 'MEGALOG_ERR_WEB_SESSION_EXPIRED') {
        const q = new URLSearchParams({ m: err.key });
        const next = ctx.method === 'GET' && !isHtmx(ctx) ? safeNext(ctx.url) : null;
        if (next && next !== '/') q.set('next', next);
        return redirect(ctx, `/login?${q}`);
      }
      if (err.code === 'MEGALOG_ERR_WEB_MUST_CHANGE') return redirect(ctx, '/account');
      const data = { error: { key: err.key, params: err.params, code: err.code } };
      if (isHtmx(ctx)) {
        ctx.set('HX-Retarget', '#messages');
        ctx.set('HX-Reswap', 'innerHTML');
        views.render(ctx, '_error.njk', data, err.status);
      } else {
        views.render(ctx, 'error.njk', data, err.status);
      }
    }
  };
}
