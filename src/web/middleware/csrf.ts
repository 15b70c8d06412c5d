// CSRF defence on every state-changing request, two independent checks:
//  1. Origin (or, without it, Referer) must be this site's own origin — browsers set it on every POST.
//  2. A token: the session's synchronizer token (new at each login), or before login a random value
//     in a signed, HttpOnly, SameSite=Strict cookie that the login form echoes back.
// Forms carry it as `_csrf`; htmx requests as the X-CSRF-Token header (set once on <body>).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { WebError } from '../errors.js';
import { getSession, type Ctx, type WebState } from '../state.js';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const ANON_COOKIE = 'megalog.csrf';

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function cookieOpts() {
  return { httpOnly: true, sameSite: 'strict' as const, signed: true, overwrite: true, path: '/' };
}

/** The token pages rendered for this request must carry (created on first use before login). */
export function csrfTokenFor(ctx: Ctx): string {
  const s = getSession(ctx);
  if (s?.csrf) return s.csrf;
  let t = ctx.cookies.get(ANON_COOKIE, { signed: true });
  if (!t || !/^[A-Za-z0-9_-]{43}$/.test(t)) {
    t = newToken();
    ctx.cookies.set(ANON_COOKIE, t, cookieOpts());
  }
  return t;
}

function expectedToken(ctx: Ctx): string | null {
  const s = getSession(ctx);
  if (s?.csrf) return s.csrf;
  return ctx.cookies.get(ANON_COOKIE, { signed: true }) ?? null;
}

/** This site's origin as the browser sees it (behind nginx: X-Forwarded-Proto/Host, trusted from loopback only). */
export function ownOrigin(ctx: Ctx): string {
  // Not ctx.origin: in Koa 3 that is the request's Origin header, which is what we must check.
  return `${ctx.protocol}://${ctx.host}`;
}

function sameOrigin(ctx: Ctx): boolean {
  const own = ownOrigin(ctx);
  const origin = ctx.get('Origin');
  if (origin) return origin === own;
  const referer = ctx.get('Referer');
  if (!referer) return false;
  try {
    return new URL(referer).origin === own;
  } catch {
    return false;
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function csrfProtection(): Middleware<WebState> {
  return async (ctx, next) => {
    if (SAFE.has(ctx.method)) return next();
    if (!sameOrigin(ctx)) throw new WebError('MEGALOG_ERR_WEB_CSRF');
    // A form left open past the idle timeout: say "session expired", not "forged request".
    if (ctx.state.sessionExpired) throw new WebError('MEGALOG_ERR_WEB_SESSION_EXPIRED');
    const sent = ctx.get('X-CSRF-Token') || ctx.state.form._csrf || '';
    const expected = expectedToken(ctx);
    if (!expected || !sent || !equal(sent, expected)) throw new WebError('MEGALOG_ERR_WEB_CSRF');
    return next();
  };
}
