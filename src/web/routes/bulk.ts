// Bulk requests: a court order's list of ip / port / time lines, pasted or uploaded, answered one
// line at a time with the same engine as the single search (one reader pool for the whole list, so
// each day file is opened once). Audited as one search with the case reference, the number of lines,
// a SHA-256 of the list and its first lines. The answer is kept like a search's (search-store.ts) for
// paging, original lines and the CSV / report exports.
import { createHash } from 'node:crypto';
import { DEFAULT_WINDOW_SEC, MAX_WINDOW_SEC, ReaderPool, forensicLookup, parseAnalystTime, type Candidate } from '../../query/engine.js';
import { parseProto, parseWindow } from '../../query/input.js';
import { isHtmx, type Ctx } from '../state.js';
import { MAX_BULK_LINES, MAX_UPLOAD_BYTES, parseBulk, readUpload } from './bulk-parse.js';
import { fieldError, pick, queryError, readCase, type FieldError } from './search-form.js';
import { MAX_ROWS, type BulkLine, type ResultStore, type StoredResult } from './search-store.js';
import { storeError } from './search.js';
import type { RouteDef, Services } from './types.js';

const LINES_PER_PAGE = 100;
const FIELDS = ['case_ref', 'justification', 'authority', 'window', 'proto', 'list'] as const;

export function bulkView(r: Extract<StoredResult, { kind: 'bulk' }>, page: number) {
  const pages = Math.max(1, Math.ceil(r.lines.length / LINES_PER_PAGE));
  const p = Math.min(Math.max(1, Math.floor(page) || 1), pages);
  const link = (n: number) => `/search/bulk/r/${r.id}?page=${n}`;
  const counts: Record<string, number> = { unique: 0, ambiguous: 0, no_match: 0, no_data: 0, error: 0 };
  for (const l of r.lines) counts[l.answer?.verdict ?? 'error']!++;
  return {
    result: r,
    lines: r.lines.slice((p - 1) * LINES_PER_PAGE, p * LINES_PER_PAGE).map((l) => ({
      ...l,
      cands: (l.answer?.candidates ?? []).slice(0, 5).map((c, i) => ({ ...c, index: l.first + i })),
      more: Math.max(0, (l.answer?.candidates.length ?? 0) - 5),
    })),
    counts,
    page: p,
    pages,
    prev: p > 1 ? link(p - 1) : null,
    next: p < pages ? link(p + 1) : null,
  };
}

export function bulkRoutes(svc: Services, results: ResultStore): RouteDef[] {
  const cfg = svc.deps.config;
  const tz = cfg.timezone;
  const limits = { max_lines: MAX_BULK_LINES, max_mib: MAX_UPLOAD_BYTES / 1024 / 1024 };

  function page(ctx: Ctx, form: Record<string, string>, errors: FieldError[], status: number, view: ReturnType<typeof bulkView> | null = null) {
    const errfields = Object.fromEntries(errors.map((e) => [e.field, true]));
    if (view && isHtmx(ctx)) ctx.set('HX-Push-Url', `/search/bulk/r/${view.result.id}`);
    svc.views.render(ctx, isHtmx(ctx) ? 'bulk/_results.njk' : 'bulk/page.njk', { form, errors, errfields, limits, default_window: DEFAULT_WINDOW_SEC, ...(view ?? {}) }, status);
  }

  async function run(ctx: Ctx) {
    let raw: Record<string, string>;
    let file: Buffer | null = null;
    const errors: FieldError[] = [];
    if (ctx.is('multipart/form-data')) {
      const up = await readUpload(ctx);
      raw = up.fields;
      file = up.file && up.file.length ? up.file : null;
      if (up.tooLarge) {
        errors.push(fieldError('file', 'form.bulk_file_too_large', { mib: limits.max_mib, lines: MAX_BULK_LINES }));
      }
    } else raw = ctx.state.form;
    const form = pick(raw, FIELDS);
    const kase = readCase(form, errors);
    let windowSec = DEFAULT_WINDOW_SEC;
    let proto: string | null = null;
    try {
      windowSec = parseWindow(form.window, DEFAULT_WINDOW_SEC, MAX_WINDOW_SEC, 'window');
    } catch (e) {
      errors.push(queryError(e, 'window'));
    }
    try {
      proto = parseProto(form.proto, 'proto');
    } catch (e) {
      errors.push(queryError(e, 'proto'));
    }
    const text = file ?? (raw.list ?? '');
    if (errors.some((e) => e.field === 'file')) return page(ctx, form, errors, 413);
    if (!file && !String(raw.list ?? '').trim()) errors.push(fieldError('list', 'form.need_list'));
    const parsed = errors.some((e) => e.field === 'list') ? null : parseBulk(text);
    if (parsed && !parsed.ok) errors.push({ field: file ? 'file' : 'list', pt: parsed.pt, en: parsed.en });
    if (errors.length || !parsed || !parsed.ok) return page(ctx, form, errors, 422);

    const pool = new ReaderPool(cfg.cold_storage_dir, svc.readers);
    const lines: BulkLine[] = [];
    const rows: Candidate[] = [];
    let truncated = false;
    try {
      for (const req of parsed.requests) {
        if ('error' in req) {
          lines.push({ line: req.line, input: req.input, error: req.error, answer: null, first: rows.length });
          continue;
        }
        try {
          const at = parseAnalystTime(req.time, tz);
          const answer = forensicLookup({ natIp: req.ip, natPort: req.port, at, windowSec, proto: req.proto || proto }, cfg, pool);
          delete answer.intervals;
          lines.push({ line: req.line, input: req.input, error: null, answer, first: rows.length });
          if (rows.length + answer.candidates.length > MAX_ROWS) truncated = true;
          else rows.push(...answer.candidates);
        } catch (e) {
          const fe = storeError(e, 'list');
          lines.push({ line: req.line, input: req.input, error: { pt: fe.pt, en: fe.en }, answer: null, first: rows.length });
        }
      }
    } finally {
      pool.close();
    }
    const answered = lines.filter((l) => l.answer && (l.answer.verdict === 'unique' || l.answer.verdict === 'ambiguous')).length;
    const listText = Buffer.isBuffer(text) ? text : Buffer.from(text);
    ctx.state.audit({
      action: 'search',
      case_ref: kase.case_ref,
      justification: kase.justification,
      query: {
        kind: 'bulk',
        lines: lines.length,
        window_sec: windowSec,
        proto,
        authority: kase.authority || undefined,
        list_sha256: createHash('sha256').update(listText).digest('hex'),
        first_lines: lines.slice(0, 10).map((l) => l.input),
      },
      result_count: answered,
    });
    const stored = results.put({
      kind: 'bulk',
      owner: ctx.state.user!.id,
      user: ctx.state.user!.username,
      case: kase,
      input: { ...form, list: file ? '' : form.list!.slice(0, 2000) },
      rows,
      truncated,
      lines,
      window_sec: windowSec,
      proto,
    }) as Extract<StoredResult, { kind: 'bulk' }>;
    page(ctx, stored.input, [], 200, bulkView(stored, 1));
  }

  return [
    { name: 'bulk', method: 'GET', path: '/search/bulk', handler: (ctx) => page(ctx, { window: String(DEFAULT_WINDOW_SEC) }, [], 200) },
    { name: 'bulk.run', method: 'POST', path: '/search/bulk', handler: run },
    {
      name: 'bulk.result',
      method: 'GET',
      path: '/search/bulk/r/:id',
      handler: (ctx) => {
        const r = results.get(ctx.params.id, ctx.state.user!.id);
        if (r.kind !== 'bulk') return ctx.redirect(`/search/r/${r.id}`);
        page(ctx, r.input, [], 200, bulkView(r, Number(ctx.query.page)));
      },
    },
  ];
}
