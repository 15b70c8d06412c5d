// Sessions: koa-session with the server-side store in users.db, and the middleware that turns the
// session into ctx.state.user, enforcing the idle timeout and an absolute lifetime.
//
// Cookie `megalog.sid`: 256 random bits, signed, HttpOnly, SameSite=Strict, Secure whenever the request
// came over TLS (nginx's X-Forwarded-Proto, believed from loopback only), no Expires (dies with the
// browser). The id is replaced at every login and password change (no fixation) and the old one destroyed.
//
// One commit per request, at its end. koa-session's own regenerate() commits at once and its middleware
// commits again; its first save of a 'session' cookie clears maxAge in the request's options, so the
// second wrote a 24-hour Expires (and `_maxAge` into the row, which every later load restored).
// So autoCommit is off, renewSession only marks the request, and the wrapper below commits once; the
// store also never keeps koa-session's lifetime fields: the lifetime is ours (idle + absolute, below).
import { randomBytes } from 'node:crypto';
import type Koa from 'koa';
import type { Middleware } from 'koa';
import createSession from 'koa-session';
import type { UsersDb } from '../../users/users-db.js';
import { csrfTokenFor } from './csrf.js';
import { clearSession, getSession, sessionRenewed, type Ctx, type Session, type SessionData, type WebState } from '../state.js';

export const SESSION_COOKIE = 'megalog.sid';
/** However active, a session ends after this long. */
export const SESSION_ABSOLUTE_MS = 12 * 3600_000;
/** Between password and TOTP code. */
export const TOTP_STAGE_MS = 5 * 60_000;
/** Rows outlive their idle deadline this long, so the next request can still say "expired". */
const STORE_GRACE_MS = 3600_000;
/** Requests marked with this header (self-refreshing panels) do not count as activity. */
export const POLL_HEADER = 'X-MegaLog-Poll';

/** koa-session's fields that would give the cookie a lifetime of its own. */
const LIFETIME_FIELDS = ['_expire', '_maxAge'] as const;

function ownLifetime(data: Record<string, unknown>): Record<string, unknown> {
  const d: Record<string, unknown> = { ...data, _session: true };
  for (const f of LIFETIME_FIELDS) delete d[f];
  return d;
}

export function sessionMiddleware(app: Koa, udb: UsersDb, idleMs: number): Middleware {
  const session = createSession(
    {
      key: SESSION_COOKIE,
      maxAge: 'session',
      autoCommit: false,
      signed: true,
      httpOnly: true,
      sameSite: 'strict',
      overwrite: true,
      rolling: false,
      renew: false,
      genid: () => randomBytes(32).toString('base64url'),
      store: {
        get: async (key: string) => {
          const data = udb.sessions.get(key)?.data;
          return data ? ownLifetime(data) : null;
        },
        set: async (key: string, data: SessionData) => {
          const now = Date.now();
          const uid = typeof data.uid === 'number' ? data.uid : null;
          const until = Math.min((data.last_ms ?? now) + idleMs, (data.created_ms ?? now) + SESSION_ABSOLUTE_MS);
          udb.sessions.set(key, ownLifetime(data as Record<string, unknown>), uid, until + STORE_GRACE_MS, now);
        },
        destroy: async (key: string) => udb.sessions.destroy(key),
      },
    },
    app,
  );
  return (ctx, next) =>
    session(ctx, async () => {
      // Any session object commits its request's current state (even after ctx.session = null).
      const handle = getSession(ctx as Ctx) as Session;
      try {
        await next();
      } finally {
        await handle.commit({ regenerate: sessionRenewed(ctx as Ctx) });
      }
    });
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
