// Login (password, then TOTP when enabled) and logout. Whatever goes wrong — unknown user, wrong
// password, locked or disabled account — the answer is the same message, status and timing, so the
// page never tells which user names exist. Failures count per account (lockout) and per address;
// both budgets are taken before the check is made and given back only when it succeeds (or never ran),
// so a burst of parallel tries gets no more checks than the limits allow.
import { addressKey } from '../../parse/ip.js';
import { checkPassword, HashBusyError, PASSWORD_MAX_LENGTH, type CheckResult } from '../../users/password.js';
import { verifyTotp } from '../../users/totp.js';
import { isLocked, type User } from '../../users/users.js';
import { newToken } from '../middleware/csrf.js';
import { safeNext } from '../middleware/onerror.js';
import { clearSession, getSession, renewSession, type Ctx } from '../state.js';
import type { RouteDef, Services } from './types.js';

/** Messages the login page shows from ?m= (an allow-list: the query never becomes page text). */
const LOGIN_MESSAGES = new Set(['login.expired', 'login.logged_out', 'login.required', 'totp.expired']);

export function authRoutes(svc: Services): RouteDef[] {
  const { udb, views, throttle } = svc;

  const showLogin = (ctx: Ctx, status: number, error: string | null, username = '', next: string | null = null) =>
    views.render(ctx, 'login.njk', { error, username, next, message: null }, status);

  async function completeLogin(ctx: Ctx, user: User, next: string | null): Promise<void> {
    const now = Date.now();
    udb.users.recordLogin(user.id, now);
    renewSession(ctx, { uid: user.id, stage: 'full', csrf: newToken(), created_ms: now, last_ms: now });
    ctx.state.audit({ action: 'login', user: user.username, query: { must_change: user.must_change, totp: user.totp_secret !== null } });
    ctx.status = 303;
    ctx.redirect(user.must_change ? '/account' : (next ?? '/'));
  }

  return [
    {
      name: 'login.form',
      method: 'GET',
      path: '/login',
      handler: (ctx) => {
        if (ctx.state.user) return ctx.redirect('/');
        const m = typeof ctx.query.m === 'string' && LOGIN_MESSAGES.has(ctx.query.m) ? ctx.query.m : null;
        const next = safeNext(typeof ctx.query.next === 'string' ? ctx.query.next : null);
        views.render(ctx, 'login.njk', { error: null, username: '', next, message: m });
      },
    },
    {
      name: 'login.submit',
      method: 'POST',
      path: '/login',
      handler: async (ctx) => {
        const f = ctx.state.form;
        const username = (f.username ?? '').trim().toLowerCase();
        const password = f.password ?? '';
        const next = safeNext(f.next);
        const ip = ctx.ip;

        const taken = throttle.take(ip);
        if (taken.blocked) {
          if (taken.firstTime) ctx.state.audit({ action: 'login_throttled', user: username.slice(0, 64) || '-', query: { reason: 'address' } });
          ctx.set('Retry-After', '900');
          return showLogin(ctx, 429, 'login.throttled', username);
        }
        const slot = taken.slot;
        if (!username || !password) {
          slot.release();
          return showLogin(ctx, 422, 'login.missing', username, next);
        }

        const user = username.length <= 64 ? udb.users.byName(username) : null;
        let result: CheckResult = 'refused';
        let reason: string;
        try {
          if (password.length > PASSWORD_MAX_LENGTH) {
            await checkPassword(null, password.slice(0, PASSWORD_MAX_LENGTH), addressKey(ip));
            reason = 'too_long';
          } else {
            // The account's attempt is taken when the hash starts (checkPassword's claim).
            result = await checkPassword(user?.password_hash ?? null, password, addressKey(ip), () => udb.users.beginAttempt(user!.id));
            reason = !user ? 'unknown_user' : result === 'refused' ? 'locked' : result === 'wrong' ? 'bad_password' : user.disabled ? 'disabled' : 'ok';
          }
        } catch (err) {
          if (err instanceof HashBusyError) {
            slot.release(); // never checked: costs the address nothing
            ctx.set('Retry-After', '5');
            return showLogin(ctx, 503, 'login.busy', username, next);
          }
          throw err;
        }
        if (reason !== 'ok' || !user) {
          ctx.state.audit({ action: 'login_failed', user: username.slice(0, 64), query: { reason } });
          return showLogin(ctx, 401, 'login.failed', username, next);
        }
        slot.release();
        if (user.totp_secret) {
          renewSession(ctx, { uid: user.id, stage: 'totp', csrf: newToken(), created_ms: Date.now(), ...(next ? { next } : {}) });
          ctx.status = 303;
          return ctx.redirect('/login/totp');
        }
        return completeLogin(ctx, user, next);
      },
    },
    {
      name: 'totp.form',
      method: 'GET',
      path: '/login/totp',
      handler: (ctx) => views.render(ctx, 'login_totp.njk', { error: null }),
    },
    {
      name: 'totp.submit',
      method: 'POST',
      path: '/login/totp',
      handler: async (ctx) => {
        const ip = ctx.ip;
        const user = udb.users.byId(ctx.state.pendingTotp!.uid);
        const next = safeNext(getSession(ctx)?.next);
        const taken = throttle.take(ip);
        if (taken.blocked) return views.render(ctx, 'login_totp.njk', { error: 'login.throttled' }, 429);
        const now = Date.now();
        // The password stage's attempt stays counted until the login completes: knowing the password
        // gives no fresh budget of codes.
        const claimed = user?.totp_secret ? udb.users.beginAttempt(user.id, now) : false;
        const step = claimed ? verifyTotp(user!.totp_secret!, ctx.state.form.code ?? '', now, user!.totp_last_step) : null;
        if (user && step !== null && udb.users.useTotpStep(user.id, step)) {
          taken.slot.release();
          return completeLogin(ctx, user, next);
        }
        if (user) {
          ctx.state.audit({ action: 'login_failed', user: user.username, query: { reason: claimed ? 'bad_totp' : 'locked' } });
          const fresh = udb.users.byId(user.id);
          if (fresh && isLocked(fresh, now)) {
            clearSession(ctx);
            return showLogin(ctx, 401, 'login.failed');
          }
        }
        views.render(ctx, 'login_totp.njk', { error: 'totp.failed' }, 401);
      },
    },
    {
      name: 'logout',
      method: 'POST',
      path: '/logout',
      handler: (ctx) => {
        ctx.state.audit({ action: 'logout' });
        clearSession(ctx);
        ctx.status = 303;
        ctx.redirect('/login?m=login.logged_out');
      },
    },
  ];
}
