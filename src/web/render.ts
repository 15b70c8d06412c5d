// Server-side rendering with Nunjucks, autoescape on: every value from a log line, a user or a form
// is escaped on output, and no template uses `| safe`. Pages extend base.njk; fragments (files
// starting with `_`) sit beside their page and are what the same route returns to htmx.
import nunjucks from 'nunjucks';
import type { WebDeps } from './deps.js';
import { can, type RouteName } from './authz.js';
import { hasMessage, LANGUAGES, numberLocale, type Language, type Translate } from './i18n.js';
import { getSession, type Ctx } from './state.js';
import { currentOffset, formatInstant } from '../core/time.js';
import { TEMPLATES_DIR } from './paths.js';
import { visibleSegments } from './visible.js';

export interface Flash {
  key: string;
  params?: Record<string, unknown>;
  kind?: 'ok' | 'error';
}

const NAV: Array<{ name: RouteName; href: string; label: string }> = [
  { name: 'dashboard', href: '/', label: 'nav.dashboard' },
  { name: 'search', href: '/search', label: 'nav.search' },
  { name: 'exports', href: '/exports', label: 'nav.exports' },
  { name: 'audit', href: '/audit', label: 'nav.audit' },
  { name: 'users', href: '/users', label: 'nav.users' },
  { name: 'account', href: '/account', label: 'nav.account' },
];

export function createViews(deps: WebDeps, dir = TEMPLATES_DIR) {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir, { noCache: false }), {
    autoescape: true,
    throwOnUndefined: false,
    trimBlocks: true,
    lstripBlocks: true,
  });
  env.addGlobal('segments', (s: unknown) => visibleSegments(typeof s === 'string' ? s : String(s ?? '')));
  const tz = deps.config.timezone;

  function helpers(lang: Language, t: Translate) {
    const nf = new Intl.NumberFormat(numberLocale(lang));
    const nf1 = new Intl.NumberFormat(numberLocale(lang), { maximumFractionDigits: 1 });
    return {
      /** t(prefix + value) when that message exists, else the value itself (e.g. an action added later). */
      label: (prefix: string, v: unknown) => (hasMessage(prefix + String(v)) ? t(prefix + String(v)) : String(v ?? '')),
      num: (n: unknown) => (typeof n === 'number' && Number.isFinite(n) ? nf.format(n) : t('common.none')),
      dec: (n: unknown) => (typeof n === 'number' && Number.isFinite(n) ? nf1.format(n) : t('common.none')),
      bytes: (n: unknown) => {
        if (typeof n !== 'number' || !Number.isFinite(n)) return t('common.none');
        const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
        let v = n;
        let i = 0;
        while (Math.abs(v) >= 1024 && i < units.length - 1) {
          v /= 1024;
          i++;
        }
        return `${i === 0 ? nf.format(v) : nf1.format(v)} ${units[i]}`;
      },
      time: (ms: unknown) => (typeof ms === 'number' && ms > 0 ? formatInstant(ms, tz) : t('common.never')),
      ago: (ms: unknown, now = Date.now()) => {
        if (typeof ms !== 'number' || ms <= 0) return t('common.never');
        const s = Math.max(0, Math.round((now - ms) / 1000));
        if (s < 120) return t('common.seconds_ago', { n: s });
        if (s < 7200) return t('common.minutes_ago', { n: Math.round(s / 60) });
        if (s < 172800) return t('common.hours_ago', { n: Math.round(s / 3600) });
        return t('common.days_ago', { n: Math.round(s / 86400) });
      },
    };
  }

  /** Render `template` with the layout's context plus `data`. */
  function render(ctx: Ctx, template: string, data: Record<string, unknown> = {}, status = 200): void {
    const { user, lang, t } = ctx.state;
    const s = getSession(ctx);
    let flash: Flash | null = null;
    if (s?.flash && !template.includes('/_') && !template.startsWith('_')) {
      flash = s.flash as Flash;
      delete s.flash;
    }
    const role = user && !user.must_change ? user.role : null;
    const body = env.render(template, {
      t,
      lang,
      languages: LANGUAGES,
      user,
      flash,
      version: deps.version,
      tz,
      tz_offset: currentOffset(tz),
      path: ctx.path,
      url: ctx.url,
      csrf: () => ctx.state.csrfToken(),
      can: (name: RouteName) => can(role, name),
      nav: user ? NAV.filter((n) => (user.must_change ? n.name === 'account' : can(role, n.name))) : [],
      ...helpers(lang, t),
      ...data,
    });
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.vary('HX-Request');
    ctx.body = body;
  }

  return { render, env };
}

export type Views = ReturnType<typeof createViews>;

/** Set a message for the next page this session renders (after a redirect). */
export function flash(ctx: Ctx, f: Flash): void {
  const s = getSession(ctx);
  if (s) s.flash = f;
}
