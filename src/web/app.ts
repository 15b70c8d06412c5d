// The web console: Koa + @koa/router + koa-session + Nunjucks + htmx. The middleware order is the
// security story, outermost first:
//
//   server timing → trust proxy headers from loopback only → security headers → request state (language, audit)
//   → audit of refused requests (403, 422) → error page → /static → session (users.db) → who is the user (idle timeout) → form body
//   → CSRF (Origin + token) → router, where every route passes `authorize(name)` (authz.ts)
// The middleware live in middleware/, the pages in routes/ (one module per area, listed in routes/index.ts).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import { ReaderCache } from '../query/engine.js';
import { openUsersDb, type UsersDb } from '../users/users-db.js';
import { authorize } from './authz.js';
import { auditRefusals } from './middleware/audit-refusals.js';
import { BulkJobs } from './bulk/jobs.js';
import { csrfProtection } from './middleware/csrf.js';
import type { WebDeps } from './deps.js';
import { formParser } from './middleware/form.js';
import { securityHeaders } from './middleware/headers.js';
import { isLanguage, translator, type Language } from './i18n.js';
import { errorHandler } from './middleware/onerror.js';
import { STATIC_DIR } from './paths.js';
import { trustLoopbackProxy } from './middleware/proxy.js';
import { serverTiming } from './middleware/timing.js';
import { createViews } from './render.js';
import { allRoutes } from './routes/index.js';
import { resolveSecretKey } from './secret.js';
import { loadUser, sessionMiddleware } from './middleware/session.js';
import type { WebState } from './state.js';
import { staticFiles } from './middleware/static.js';
import { AddressThrottle } from './throttle.js';
import { readConfigOf } from '../store/index.js';

const LANG_COOKIE = 'megalog.lang';
const OWNED = Symbol('megalog.web.owned');

interface Owned {
  udb: UsersDb;
  ownsDb: boolean;
  ready: Promise<unknown>;
  readers: ReaderCache;
  bulkJobs: BulkJobs;
}

/**
 * Build the console. Opens users.db (unless deps.usersDb is given) and, on first start, creates
 * `superadmin` / `admin123` (usable only to set a new password). Does not listen: see startWeb.
 */
export function createWebApp(deps: WebDeps): Koa<WebState> {
  const config = deps.config;
  const udb = deps.usersDb ?? openUsersDb(config.users_db_path, { auditEnabled: config.enable_audit_log });
  const secret = resolveSecretKey(deps.secretKey, config.users_db_path);
  const idleMs = config.session_idle_timeout_min * 60_000;
  const ready = udb.users.ensureBootstrapAdmin();
  ready.catch(() => {}); // surfaced by startWeb / the first request

  // proxy: believe X-Forwarded-* (stripped below unless the peer is loopback); maxIpsCount 1 takes
  // the address nginx appended, not one the client wrote.
  const app = new Koa<WebState>({ proxy: true, maxIpsCount: 1, keys: [secret] });
  const readers = new ReaderCache(readConfigOf(deps.config));
  const bulkJobs = new BulkJobs({ ...readConfigOf(config), timezone: config.timezone, radius_session_lookback_days: config.radius_session_lookback_days });
  (app as unknown as Record<symbol, Owned>)[OWNED] = { udb, ownsDb: !deps.usersDb, ready, readers, bulkJobs };
  const views = createViews(deps);
  const svc = { deps, udb, views, throttle: new AddressThrottle(), idleMs, readers, bulkJobs };

  app.use(serverTiming());
  app.use(trustLoopbackProxy());
  app.use(securityHeaders());
  app.use(async (ctx, next) => {
    const q = ctx.query.lang;
    let lang: Language = config.language;
    if (isLanguage(q)) {
      lang = q;
      ctx.cookies.set(LANG_COOKIE, q, { httpOnly: true, sameSite: 'lax', signed: false, maxAge: 365 * 86400_000, overwrite: true });
    } else {
      const c = ctx.cookies.get(LANG_COOKIE, { signed: false });
      if (isLanguage(c)) lang = c;
    }
    ctx.state.lang = lang;
    ctx.state.t = translator(lang);
    ctx.state.form = {};
    ctx.state.user = null;
    ctx.state.pendingTotp = null;
    ctx.state.sessionExpired = false;
    ctx.state.csrfToken = () => '';
    ctx.state.errorCode = null;
    ctx.state.audit = (e) => udb.audit({ ...e, user: e.user ?? ctx.state.user?.username ?? '-', source: ctx.ip });
    await next();
  });
  app.use(auditRefusals());
  app.use(errorHandler(views));
  app.use(staticFiles(STATIC_DIR));
  app.use(async (_ctx, next) => {
    await ready;
    await next();
  });
  app.use(sessionMiddleware(app as unknown as Koa, udb, idleMs));
  app.use(loadUser(udb, idleMs));
  app.use(formParser());
  app.use(csrfProtection());

  // Case-sensitive, as nginx's locations are: /METRICS is not /metrics (the site's deny would miss it).
  const router = new Router<WebState>({ sensitive: true });
  for (const r of allRoutes(svc)) {
    router.register(r.path, [r.method], [authorize(r.name), async (ctx) => void (await r.handler(ctx))], { name: r.name });
  }
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  return app;
}

export interface RunningWeb {
  port: number;
  close(): Promise<void>;
}

/** Create the console and listen on host:port (port 0 picks a free one). */
export async function startWeb(deps: WebDeps, listen: { host: string; port: number }): Promise<RunningWeb> {
  const app = createWebApp(deps);
  const owned = (app as unknown as Record<symbol, Owned>)[OWNED]!;
  try {
    await owned.ready;
  } catch (err) {
    if (owned.ownsDb) owned.udb.close();
    throw err;
  }
  const server = createServer(app.callback());
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closed: Promise<void> | null = null;
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      })
        .then(() => owned.bulkJobs.close()) // (each stopped one is audited: before users.db closes)
        .then(() => {
          owned.readers.close();
          if (owned.ownsDb) owned.udb.close();
        });
      return closed;
    },
  };
}
