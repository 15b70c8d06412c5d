// The signed-in user's own account: password (the forced change of a temporary password lands
// here too), the TOTP second factor, and the console language.
import { addressKey } from '../../parse/ip.js';
import { checkPassword, HashBusyError, PASSWORD_MAX_LENGTH, passwordProblems } from '../../users/password.js';
import { newTotpSecret, otpauthUri, verifyTotp } from '../../users/totp.js';
import { newToken } from '../middleware/csrf.js';
import { WebError } from '../errors.js';
import { flash } from '../render.js';
import { getSession, renewSession, type Ctx } from '../state.js';
import type { RouteDef, Services } from './types.js';

const TOTP_SETUP_MS = 10 * 60_000;

export function accountRoutes(svc: Services): RouteDef[] {
  const { udb, views, throttle } = svc;

  function page(ctx: Ctx, status = 200, errors: string[] = [], section: 'password' | 'totp' | null = null): void {
    const user = ctx.state.user!;
    const setup = getSession(ctx)?.totp_setup;
    const pending = setup && Date.now() - setup.at < TOTP_SETUP_MS ? setup.secret : null;
    views.render(
      ctx,
      'account.njk',
      {
        errors,
        section,
        totp_on: user.totp_secret !== null,
        totp_setup: pending ? { secret: pending, uri: otpauthUri(pending, user.username) } : null,
      },
      status,
    );
  }

  /**
   * Check the user's current password. It is a password check like a login's: it takes the account's
   * attempt and the address's slot first (a wrong one counts towards both), and a locked account or a
   * throttled address gets no check at all — so a borrowed session cannot guess the password in bulk.
   */
  async function currentPasswordOk(ctx: Ctx, password: string): Promise<boolean> {
    const user = ctx.state.user!;
    const taken = throttle.take(ctx.ip);
    if (taken.blocked) throw new WebError('MEGALOG_ERR_WEB_THROTTLED');
    if (password.length > PASSWORD_MAX_LENGTH) {
      udb.users.beginAttempt(user.id);
      return false;
    }
    let result;
    try {
      result = await checkPassword(user.password_hash, password, addressKey(ctx.ip), () => udb.users.beginAttempt(user.id));
    } catch (err) {
      if (err instanceof HashBusyError) {
        taken.slot.release();
        throw new WebError('MEGALOG_ERR_WEB_THROTTLED');
      }
      throw err;
    }
    if (result !== 'ok') return false;
    taken.slot.release();
    udb.users.attemptSucceeded(user.id);
    return true;
  }

  return [
    { name: 'account', method: 'GET', path: '/account', handler: (ctx) => page(ctx) },
    {
      name: 'account.password',
      method: 'POST',
      path: '/account/password',
      handler: async (ctx) => {
        const user = ctx.state.user!;
        const { current = '', new_password: pw = '', confirm = '' } = ctx.state.form;
        const errors: string[] = [];
        if (!(await currentPasswordOk(ctx, current))) errors.push('pw.wrong_current');
        else {
          errors.push(...passwordProblems(pw, { username: user.username, current }));
          if (pw !== confirm) errors.push('pw.mismatch');
        }
        if (errors.length) return page(ctx, 422, errors, 'password');
        const now = Date.now();
        await udb.users.setPassword(user.id, pw, false, now);
        // Every session of this user ends; this one continues under a new id.
        udb.sessions.destroyForUser(user.id);
        renewSession(ctx, { uid: user.id, stage: 'full', csrf: newToken(), created_ms: now, last_ms: now });
        ctx.state.audit({ action: 'password_change', query: { forced: user.must_change } });
        flash(ctx, { key: 'pw.changed', kind: 'ok' });
        ctx.status = 303;
        ctx.redirect('/');
      },
    },
    {
      name: 'account.totp.begin',
      method: 'POST',
      path: '/account/totp/begin',
      handler: (ctx) => {
        const s = getSession(ctx)!;
        if (!ctx.state.user!.totp_secret) s.totp_setup = { secret: newTotpSecret(), at: Date.now() };
        ctx.status = 303;
        ctx.redirect('/account#totp');
      },
    },
    {
      name: 'account.totp.confirm',
      method: 'POST',
      path: '/account/totp/confirm',
      handler: (ctx) => {
        const user = ctx.state.user!;
        const s = getSession(ctx)!;
        const setup = s.totp_setup;
        if (!setup || Date.now() - setup.at >= TOTP_SETUP_MS) {
          delete s.totp_setup;
          return page(ctx, 422, ['totp.setup_expired'], 'totp');
        }
        const step = verifyTotp(setup.secret, ctx.state.form.code ?? '', Date.now(), 0);
        if (step === null) return page(ctx, 422, ['totp.failed'], 'totp');
        udb.users.setTotp(user.id, setup.secret, step);
        delete s.totp_setup;
        ctx.state.audit({ action: 'totp_enable' });
        flash(ctx, { key: 'totp.enabled_ok', kind: 'ok' });
        ctx.status = 303;
        ctx.redirect('/account');
      },
    },
    {
      name: 'account.totp.disable',
      method: 'POST',
      path: '/account/totp/disable',
      handler: async (ctx) => {
        const user = ctx.state.user!;
        if (!(await currentPasswordOk(ctx, ctx.state.form.current ?? ''))) return page(ctx, 422, ['pw.wrong_current'], 'totp');
        udb.users.setTotp(user.id, null);
        ctx.state.audit({ action: 'totp_disable' });
        flash(ctx, { key: 'totp.disabled_ok', kind: 'ok' });
        ctx.status = 303;
        ctx.redirect('/account');
      },
    },
  ];
}
