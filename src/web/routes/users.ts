// User administration (admin only, see authz.ts): list, create, role, disable/enable, reset password,
// remove TOTP, unlock. New and reset passwords are generated, shown once, and must be changed at the
// next login. Nobody can disable or demote themselves, and the last active admin stays.
import { temporaryPassword } from '../../users/password.js';
import { isRole, ROLES, type Role } from '../../users/roles.js';
import { USERNAME_RE, isLocked, type User } from '../../users/users.js';
import { WebError } from '../errors.js';
import { flash } from '../render.js';
import type { Ctx } from '../state.js';
import type { RouteDef, Services } from './types.js';

export function userRoutes(svc: Services): RouteDef[] {
  const { udb, views } = svc;

  function list(ctx: Ctx, status = 200, form: { username: string; role: string; errors: string[] } | null = null): void {
    const now = Date.now();
    const users = udb.users.list().map((u) => ({ ...u, locked: isLocked(u, now), totp: u.totp_secret !== null, self: u.id === ctx.state.user!.id }));
    views.render(ctx, 'users/list.njk', { users, roles: ROLES, form: form ?? { username: '', role: 'analyst', errors: [] } }, status);
  }

  function target(ctx: Ctx): User {
    const id = /^\d{1,10}$/.test(String(ctx.params.id)) ? Number(ctx.params.id) : NaN;
    const u = Number.isSafeInteger(id) ? udb.users.byId(id) : null;
    if (!u) throw new WebError('MEGALOG_ERR_WEB_NOT_FOUND', 'users.not_found');
    return u;
  }

  function done(ctx: Ctx, key: string, params: Record<string, unknown>, kind: 'ok' | 'error' = 'ok'): void {
    flash(ctx, { key, params, kind });
    ctx.status = 303;
    ctx.redirect('/users');
  }

  /** Would this change leave no enabled admin? */
  const lastAdmin = (u: User) => u.role === 'admin' && !u.disabled && udb.users.enabledAdmins() <= 1;

  const action = (name: RouteDef['name'], path: string, fn: (ctx: Ctx, u: User) => unknown | Promise<unknown>): RouteDef => ({
    name,
    method: 'POST',
    path,
    handler: (ctx) => fn(ctx, target(ctx)),
  });

  return [
    { name: 'users', method: 'GET', path: '/users', handler: (ctx) => list(ctx) },
    {
      name: 'users.create',
      method: 'POST',
      path: '/users',
      handler: async (ctx) => {
        const username = (ctx.state.form.username ?? '').trim();
        const role = ctx.state.form.role ?? '';
        const errors: string[] = [];
        if (!USERNAME_RE.test(username)) errors.push('users.username_invalid');
        else if (udb.users.byName(username)) errors.push('users.exists');
        if (!isRole(role)) errors.push('users.role_invalid');
        if (errors.length) return list(ctx, 422, { username, role, errors });
        const password = temporaryPassword();
        try {
          await udb.users.create(username, role as Role, password, true);
        } catch (err) {
          // Two admins creating the same name at once: both passed the check above during the hash.
          if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw err;
          return list(ctx, 422, { username, role, errors: ['users.exists'] });
        }
        ctx.state.audit({ action: 'user_create', query: { target: username, role } });
        views.render(ctx, 'users/secret.njk', { message: 'users.created', target: username, password }, 201);
      },
    },
    action('users.role', '/users/:id/role', (ctx, u) => {
      const role = ctx.state.form.role ?? '';
      if (!isRole(role)) return list(ctx, 422, { username: '', role: 'analyst', errors: ['users.role_invalid'] });
      if (u.id === ctx.state.user!.id) return done(ctx, 'users.self_forbidden', {}, 'error');
      if (role !== 'admin' && lastAdmin(u)) return done(ctx, 'users.last_admin', {}, 'error');
      if (role === u.role) return done(ctx, 'users.role_changed', { user: u.username, role: ctx.state.t(`role.${role}`) });
      udb.users.setRole(u.id, role);
      udb.sessions.destroyForUser(u.id); // the new role applies from a fresh login
      ctx.state.audit({ action: 'user_role', query: { target: u.username, from: u.role, to: role } });
      return done(ctx, 'users.role_changed', { user: u.username, role: ctx.state.t(`role.${role}`) });
    }),
    action('users.disable', '/users/:id/disable', (ctx, u) => {
      if (u.id === ctx.state.user!.id) return done(ctx, 'users.self_forbidden', {}, 'error');
      if (lastAdmin(u)) return done(ctx, 'users.last_admin', {}, 'error');
      udb.users.setDisabled(u.id, true);
      udb.sessions.destroyForUser(u.id);
      ctx.state.audit({ action: 'user_disable', query: { target: u.username } });
      return done(ctx, 'users.disabled_ok', { user: u.username });
    }),
    action('users.enable', '/users/:id/enable', (ctx, u) => {
      udb.users.setDisabled(u.id, false);
      ctx.state.audit({ action: 'user_enable', query: { target: u.username } });
      return done(ctx, 'users.enabled_ok', { user: u.username });
    }),
    action('users.reset', '/users/:id/reset', async (ctx, u) => {
      const password = temporaryPassword();
      await udb.users.setPassword(u.id, password, true);
      udb.sessions.destroyForUser(u.id);
      ctx.state.audit({ action: 'user_reset_password', query: { target: u.username } });
      views.render(ctx, 'users/secret.njk', { message: 'users.reset_done', target: u.username, password });
    }),
    action('users.totp_clear', '/users/:id/totp-clear', (ctx, u) => {
      udb.users.setTotp(u.id, null);
      ctx.state.audit({ action: 'user_totp_clear', query: { target: u.username } });
      return done(ctx, 'users.totp_cleared', { user: u.username });
    }),
    action('users.unlock', '/users/:id/unlock', (ctx, u) => {
      udb.users.unlock(u.id);
      ctx.state.audit({ action: 'user_unlock', query: { target: u.username } });
      return done(ctx, 'users.unlocked', { user: u.username });
    }),
  ];
}
