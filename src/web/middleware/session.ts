// Sessions: koa-session with the server-side store in users.db, and the middleware that turns the
// session into ctx.state.user, enforcing the idle timeout and an absolute lifetime.
//
// Cookie `megalog.sid`: 256 random bits, signed, HttpOnly, SameSite=Strict, Secure whenever the request
// came over TLS (nginx's X-Forwarded-Proto, believed from loopback only), no Expires (dies with the
// browser). The id is replaced at every login and password change (no fixation) and the old one destroyed.
import { randomBytes } from 'node:crypto';
import type Koa from 'koa';
import type { Middleware } from 'koa';
import createSession from 'koa-session';
import type { UsersDb } from '../../users/users-db.js';
import { csrfTokenFor } from './csrf.js';
import { clearSession, getSession, type SessionData, type WebState } from '../state.js';

export const SESSION_COOKIE = 'megalog.sid';
/** However active, a session ends after this long. */
export const SESSION_ABSOLUTE_MS = 12 * 3600_000;
/** Between password and TOTP code. */
export const TOTP_STAGE_MS = 5 * 60_000;
/** Rows outlive their idle deadline this long, so the next request can still say "expired". */
const STORE_GRACE_MS = 3600_000;
/** Requests marked with this header (self-refreshing panels) do not count as activity. */
export const POLL_HEADER = 'X-MegaLog-Poll';

export function sessionMiddleware(app: Koa, udb: UsersDb, idleMs: number): Middleware {
  return createSession(
    {
      key: SESSION_COOKIE,
      maxAge: 'session',
      signed: true,
      httpOnly: true,
      sameSite: 'strict',
      overwrite: true,
      rolling: false,
      renew: false,
      genid: () => randomBytes(32).toString('base64url'),
      store: {
        get: async (key: string) => udb.sessions.get(key)?.data ?? null,
        set: async (key: string, data: SessionData) => {
          const now = Date.now();
          const uid = typeof data.uid === 'number' ? data.uid : null;
          const until = Math.min((data.last_ms ?? now) + idleMs, (data.created_ms ?? now) + SESSION_ABSOLUTE_MS);
          udb.sessions.set(key, data as Record<string, unknown>, uid, until + STORE_GRACE_MS, now);
        },
        destroy: async (key: string) => udb.sessions.destroy(key),
      },
    },
    app,
  );
}

/** Fill ctx.state.user / pendingTotp from the session; end sessions that idled or outlived their limit. */
export function loadUser(udb: UsersDb, idleMs: number): Middleware<WebState> {
  const touchEvery = Math.min(60_000, Math.floor(idleMs / 4));
  return async (ctx, next) => {
    ctx.state.user = null;
    ctx.state.pendingTotp = null;
    ctx.state.sessionExpired = false;
    ctx.state.csrfToken = () => csrfTokenFor(ctx);
    const s = getSession(ctx);
    const now = Date.now();
    if (s && typeof s.uid === 'number') {
      const created = s.created_ms ?? 0;
      const last = s.last_ms ?? 0;
      const user = udb.users.byId(s.uid);
      if (s.stage === 'totp') {
        if (now - created > TOTP_STAGE_MS || !user || user.disabled) clearSession(ctx);
        else ctx.state.pendingTotp = { uid: s.uid };
      } else if (now - last > idleMs || now - created > SESSION_ABSOLUTE_MS) {
        clearSession(ctx);
        ctx.state.sessionExpired = true;
        if (user) ctx.state.audit({ action: 'session_expired', user: user.username, query: { idle_ms: now - last } });
      } else if (!user || user.disabled) {
        clearSession(ctx);
      } else {
        ctx.state.user = user;
        if (!ctx.get(POLL_HEADER) && now - last >= touchEvery) s.last_ms = now;
      }
    }
    await next();
  };
}
