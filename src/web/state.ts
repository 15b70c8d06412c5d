// What each request carries through the middleware (ctx.state) and what a session holds.
import type { ParameterizedContext } from 'koa';
import type { AuditInput, AuditRow } from '../users/audit.js';
import type { User } from '../users/users.js';
import type { Language, Translate } from './i18n.js';

/** Stored server-side (users.db `sessions`), keyed by the hash of the random id in the cookie. */
export interface SessionData {
  /** Signed-in user (stage "full") or the user owing a TOTP code (stage "totp"). */
  uid?: number;
  stage?: 'full' | 'totp';
  /** Synchronizer CSRF token of this session; new at every login. */
  csrf?: string;
  created_ms?: number;
  /** Last user activity (self-refreshing fragments do not count). */
  last_ms?: number;
  /** TOTP enrolment in progress: the secret offered and when. */
  totp_setup?: { secret: string; at: number };
  /** Where to go after login. */
  next?: string;
  /** One message for the next page rendered (post/redirect/get). */
  flash?: { key: string; params?: Record<string, unknown>; kind?: 'ok' | 'error' };
}

/** koa-session's session object: the data plus its methods. */
export type Session = SessionData & {
  /** Save (or, once the session was set to null, remove) what this request left; see middleware/session.ts. */
  commit(opts?: { regenerate?: boolean }): Promise<void>;
  toJSON(): SessionData;
  isNew: boolean;
};

export interface WebState {
  user: User | null;
  /** Password checked, TOTP code still owed. */
  pendingTotp: { uid: number } | null;
  /** The session ended for inactivity on this request (say so on the login page). */
  sessionExpired: boolean;
  lang: Language;
  t: Translate;
  /** Parsed application/x-www-form-urlencoded body (empty for other requests). */
  form: Record<string, string>;
  /** Record an audit entry for this request: user, source address and time are filled in. */
  audit(entry: Omit<AuditInput, 'user' | 'source'> & { user?: string }): AuditRow | null;
  /** The CSRF token forms on this page must carry. */
  csrfToken(): string;
  /** The WebError code this request was answered with (set by the error middleware), for the audit. */
  errorCode: string | null;
}

export type Ctx = ParameterizedContext<WebState>;

export function getSession(ctx: Ctx): Session | null {
  return (ctx as unknown as { session: Session | null }).session;
}

export function clearSession(ctx: Ctx): void {
  (ctx as unknown as { session: null }).session = null;
}

const renewed = new WeakSet<object>();

/**
 * Replace the session's contents and give it a new id (login, privilege change): no fixation. The
 * old id is destroyed and the new one saved when the request ends, in its one commit.
 */
export function renewSession(ctx: Ctx, data: SessionData): void {
  const s = getSession(ctx)!;
  for (const k of Object.keys(s.toJSON())) delete (s as unknown as Record<string, unknown>)[k];
  Object.assign(s, data);
  renewed.add(ctx);
}

/** Did this request call renewSession? (Read by the session middleware's commit.) */
export function sessionRenewed(ctx: Ctx): boolean {
  return renewed.has(ctx);
}

export function isHtmx(ctx: Ctx): boolean {
  return ctx.get('HX-Request') === 'true' && ctx.get('HX-History-Restore-Request') !== 'true';
}
