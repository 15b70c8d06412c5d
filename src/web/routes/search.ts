// Forensic search (docs/architecture.md, "Forensic answers"): who held public ip[:port] at T ± window, or what an
// inside address held over a range. POST /search runs the query — only with a case reference and a
// justification, and every run is audited — and keeps the answer (search-store.ts) so that its
// pages, original lines and exports are plain GETs of /search/r/:id. Original lines are read when
// one is shown or the answer exported (fillRaw), not for every candidate of the list. Each route
// returns the page, or on htmx just the results fragment; bad input is a 422 with messages in the
// page, never a stack.
import { DEFAULT_WINDOW_SEC, fillRaw, forensicLookup, loginAsSubscriber, loginLookup, parseDestination, parseLogin, subscriberLookup, type Answer, type Candidate, type SubscriberAnswer } from '../../query/engine.js';
import { parseIp, parsePort, parseProto, parseWindow } from '../../query/input.js';
import { MAX_WINDOW_SEC } from '../../query/engine.js';
import { WebError } from '../errors.js';
import { isHtmx, type Ctx } from '../state.js';
import { fieldError, pick, queryError, readCase, readTime, storeError, type FieldError } from './search-form.js';
import { capRows, type ResultStore, type StoredResult } from './search-store.js';
import type { RouteDef, Services } from './types.js';
import { readConfigOf } from '../../store/index.js';

export const PAGE_SIZE = 50;
const CASE_FIELDS = ['case_ref', 'justification', 'authority'] as const;
const PUBLIC_FIELDS = ['nat_ip', 'nat_port', 'time', 'window', 'proto', 'dst_ip', 'dst_port', ...CASE_FIELDS] as const;
const SUBSCRIBER_FIELDS = ['src_ip', 'login', 'from', 'to', 'proto', ...CASE_FIELDS] as const;

export type Mode = 'public' | 'subscriber';

/** What the results fragment needs for page `page` of `r`. */
export function resultView(r: StoredResult, page: number) {
  const pages = Math.max(1, Math.ceil(r.rows.length / PAGE_SIZE));
  const p = Math.min(Math.max(1, Math.floor(page) || 1), pages);
  const from = (p - 1) * PAGE_SIZE;
  const link = (n: number) => `/search/r/${r.id}?page=${n}`;
  return {
    result: r,
    answer: r.kind === 'bulk' ? null : r.answer,
    rows: r.rows.slice(from, from + PAGE_SIZE).map((c, i) => ({ ...c, index: from + i })),
    page: p,
    pages,
    total: r.rows.length,
    prev: p > 1 ? link(p - 1) : null,
    next: p < pages ? link(p + 1) : null,
  };
}

/** Distinct inside addresses of an answer's candidates (the audit's result count for IP-only answers too). */
function insideCount(cands: Candidate[]): number {
  return new Set(cands.map((c) => c.src_ip)).size;
}

export function searchRoutes(svc: Services, results: ResultStore): RouteDef[] {
  const cfg = svc.deps.config;
  const qcfg = { ...readConfigOf(cfg), timezone: cfg.timezone, radius_session_lookback_days: cfg.radius_session_lookback_days, readers: svc.readers };
  const tz = cfg.timezone;

  function formPage(ctx: Ctx, mode: Mode, form: Record<string, string>, errors: FieldError[], status: number, view: ReturnType<typeof resultView> | null = null) {
    const errfields = Object.fromEntries(errors.map((e) => [e.field, true]));
    if (view && isHtmx(ctx)) ctx.set('HX-Push-Url', `/search/r/${view.result.id}`);
    const data = { mode, form, errors, errfields, default_window: DEFAULT_WINDOW_SEC, max_window: MAX_WINDOW_SEC, ...(view ?? {}) };
    svc.views.render(ctx, isHtmx(ctx) && (ctx.method === 'POST' || view) ? 'search/_results.njk' : 'search/page.njk', data, status);
  }

  function runPublic(ctx: Ctx, form: Record<string, string>, errors: FieldError[]) {
    const kase = readCase(form, errors);
    let natIp = '';
    if (!form.nat_ip!.trim()) errors.push(fieldError('nat_ip', 'form.need_nat_ip'));
    else {
      try {
        natIp = parseIp(form.nat_ip, 'nat_ip');
      } catch (e) {
        errors.push(queryError(e, 'nat_ip'));
      }
    }
    for (const [f, fn] of [
      ['nat_port', () => parsePort(form.nat_port, 'nat_port')],
      ['window', () => parseWindow(form.window, DEFAULT_WINDOW_SEC, MAX_WINDOW_SEC, 'window')],
      ['proto', () => parseProto(form.proto, 'proto')],
      ['dst_ip', () => parseDestination(form.dst_ip, form.dst_port)],
    ] as const) {
      try {
        fn();
      } catch (e) {
        errors.push(queryError(e, f));
      }
    }
    const at = readTime(form.time, tz, 'time', errors);
    if (errors.length || at == null) return formPage(ctx, 'public', form, errors, 422);
    let answer: Answer;
    try {
      answer = forensicLookup({ natIp, natPort: form.nat_port, at, windowSec: form.window, proto: form.proto, dstIp: form.dst_ip, dstPort: form.dst_port, raw: false }, qcfg);
    } catch (e) {
      return formPage(ctx, 'public', form, [storeError(e, 'nat_ip')], 422);
    }
    delete answer.intervals; // the grouped candidates are the answer; the intervals can be large
    const { rows, truncated } = capRows(answer.candidates);
    ctx.state.audit({
      action: 'search',
      case_ref: kase.case_ref,
      justification: kase.justification,
      query: { kind: 'public', ...answer.query, authority: kase.authority || undefined, verdict: answer.verdict },
      result_count: insideCount(answer.candidates),
    });
    const r = results.put({ kind: 'lookup', owner: ctx.state.user!.id, user: ctx.state.user!.username, case: kase, input: form, answer, rows, truncated });
    formPage(ctx, 'public', form, [], 200, resultView(r, 1));
  }

  function runSubscriber(ctx: Ctx, form: Record<string, string>, errors: FieldError[]) {
    const kase = readCase(form, errors);
    // An inside address, or a login (what the NAT lines name: PPPoE, a firewall user).
    let srcIp = '';
    let login: string | null = null;
    if (form.login?.trim()) {
      try {
        login = parseLogin(form.login);
      } catch (e) {
        errors.push(queryError(e, 'login'));
      }
    } else if (!form.src_ip!.trim()) errors.push(fieldError('src_ip', 'form.need_src_ip'));
    else {
      try {
        srcIp = parseIp(form.src_ip, 'src_ip');
      } catch (e) {
        errors.push(queryError(e, 'src_ip'));
      }
    }
    try {
      parseProto(form.proto, 'proto');
    } catch (e) {
      errors.push(queryError(e, 'proto'));
    }
    const from = readTime(form.from, tz, 'from', errors);
    const to = readTime(form.to, tz, 'to', errors);
    if (from != null && to != null && to < from) errors.push(fieldError('to', 'form.bad_range'));
    if (errors.length || from == null || to == null) return formPage(ctx, 'subscriber', form, errors, 422);
    let answer: SubscriberAnswer;
    try {
      answer = login != null ? loginAsSubscriber(loginLookup({ login, from, to, proto: form.proto, raw: false }, qcfg)) : subscriberLookup({ srcIp, from, to, proto: form.proto, raw: false }, qcfg);
    } catch (e) {
      return formPage(ctx, 'subscriber', form, [storeError(e, login != null ? 'login' : 'src_ip')], 422);
    }
    const { rows, truncated } = capRows(answer.mappings);
    ctx.state.audit({
      action: 'search',
      case_ref: kase.case_ref,
      justification: kase.justification,
      query: { kind: login != null ? 'login' : 'subscriber', ...answer.query, authority: kase.authority || undefined },
      result_count: answer.mappings.length,
    });
    const r = results.put({ kind: 'subscriber', owner: ctx.state.user!.id, user: ctx.state.user!.username, case: kase, input: form, answer, rows, truncated: truncated || answer.truncated });
    formPage(ctx, 'subscriber', form, [], 200, resultView(r, 1));
  }

  return [
    {
      name: 'search',
      method: 'GET',
      path: '/search',
      handler: (ctx) => {
        const mode: Mode = ctx.query.mode === 'subscriber' ? 'subscriber' : 'public';
        formPage(ctx, mode, { window: String(DEFAULT_WINDOW_SEC) }, [], 200);
      },
    },
    {
      name: 'search.run',
      method: 'POST',
      path: '/search',
      handler: (ctx) => {
        const raw = ctx.state.form;
        const mode: Mode = raw.mode === 'subscriber' ? 'subscriber' : 'public';
        const form = { mode, ...pick(raw, mode === 'public' ? PUBLIC_FIELDS : SUBSCRIBER_FIELDS) };
        return mode === 'public' ? runPublic(ctx, form, []) : runSubscriber(ctx, form, []);
      },
    },
    {
      name: 'search.result',
      method: 'GET',
      path: '/search/r/:id',
      handler: (ctx) => {
        const r = results.get(ctx.params.id, ctx.state.user!.id);
        if (r.kind === 'bulk') return ctx.redirect(`/search/bulk/r/${r.id}`);
        const mode: Mode = r.kind === 'subscriber' ? 'subscriber' : 'public';
        formPage(ctx, mode, r.input, [], 200, resultView(r, Number(ctx.query.page)));
      },
    },
    {
      name: 'search.line',
      method: 'GET',
      path: '/search/r/:id/line/:n',
      handler: (ctx) => {
        const r = results.get(ctx.params.id, ctx.state.user!.id);
        const n = /^\d{1,6}$/.test(String(ctx.params.n)) ? Number(ctx.params.n) : -1;
        const c = r.rows.at(n);
        if (!c) throw new WebError('MEGALOG_ERR_WEB_NOT_FOUND');
        fillRaw([c], qcfg);
        r.rows.update(n, [c]);
        const data = { result: r, c, index: n, raw: c.raw };
        svc.views.render(ctx, isHtmx(ctx) ? 'search/_line.njk' : 'search/line.njk', data);
      },
    },
  ];
}
