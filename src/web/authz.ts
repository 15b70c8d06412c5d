// The one role × route table, and the one middleware that enforces it. Every route is registered
// by name (see app.ts); a name missing here does not compile, and a route cannot skip the check.
import type { Middleware } from 'koa';
import type { Role } from '../users/roles.js';
import { WebError } from './errors.js';
import type { WebState } from './state.js';

/**
 * - `public`: no session involved (health, metrics).
 * - `anonymous`: anyone, signed in or not (the login page).
 * - `totp`: a session that passed the password and still owes its TOTP code.
 * - `password`: any signed-in user, including one who must still change a temporary password.
 * - a list of roles: signed in, password no longer temporary, and one of these roles.
 */
export type Access = 'public' | 'anonymous' | 'totp' | 'password' | readonly Role[];

const ALL: readonly Role[] = ['admin', 'analyst', 'auditor'];
const ADMIN: readonly Role[] = ['admin'];
const INVESTIGATORS: readonly Role[] = ['admin', 'analyst'];
const OVERSIGHT: readonly Role[] = ['admin', 'auditor'];

export const ACCESS = {
  health: 'public',
  metrics: 'public',
  'login.form': 'anonymous',
  'login.submit': 'anonymous',
  'totp.form': 'totp',
  'totp.submit': 'totp',
  logout: 'password',
  account: 'password',
  'account.password': 'password',
  'account.totp.begin': ALL,
  'account.totp.confirm': ALL,
  'account.totp.disable': ALL,
  dashboard: ALL,
  search: INVESTIGATORS,
  'search.run': INVESTIGATORS,
  'search.result': INVESTIGATORS,
  'search.line': INVESTIGATORS,
  bulk: INVESTIGATORS,
  'bulk.run': INVESTIGATORS,
  'bulk.result': INVESTIGATORS,
  'bulk.job': INVESTIGATORS,
  'bulk.cancel': INVESTIGATORS,
  daily: INVESTIGATORS,
  exports: INVESTIGATORS,
  'exports.csv': INVESTIGATORS,
  'exports.report': INVESTIGATORS,
  'exports.pdf': INVESTIGATORS,
  audit: OVERSIGHT,
  users: ADMIN,
  'users.create': ADMIN,
  'users.role': ADMIN,
  'users.disable': ADMIN,
  'users.enable': ADMIN,
  'users.reset': ADMIN,
  'users.totp_clear': ADMIN,
  'users.unlock': ADMIN,
} as const satisfies Record<string, Access>;

export type RouteName = keyof typeof ACCESS;

/** May `role` use route `name`? (For the navigation; enforcement is `authorize`.) */
export function can(role: Role | null | undefined, name: RouteName): boolean {
  const a: Access = ACCESS[name];
  if (a === 'public' || a === 'anonymous') return true;
  if (!role) return false;
  if (a === 'password') return true;
  if (a === 'totp') return false;
  return a.includes(role);
}

/** The enforcement point: wraps every named route. */
export function authorize(name: RouteName): Middleware<WebState> {
  const access: Access = ACCESS[name];
  return async (ctx, next) => {
    if (access === 'public' || access === 'anonymous') return next();
    if (access === 'totp') {
      if (!ctx.state.pendingTotp) throw new WebError('MEGALOG_ERR_WEB_UNAUTHENTICATED', 'totp.expired');
      return next();
    }
    const user = ctx.state.user;
    if (!user) {
      throw new WebError(ctx.state.sessionExpired ? 'MEGALOG_ERR_WEB_SESSION_EXPIRED' : 'MEGALOG_ERR_WEB_UNAUTHENTICATED');
    }
    if (access === 'password') return next();
    if (user.must_change) throw new WebError('MEGALOG_ERR_WEB_MUST_CHANGE');
    if (!access.includes(user.role)) throw new WebError('MEGALOG_ERR_WEB_FORBIDDEN');
    return next();
  };
}
