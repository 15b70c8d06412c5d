// Bulk requests: a court order's list of ip / port / time lines, pasted or uploaded, answered one
// line at a time with the same engine as the single search — in a worker thread (bulk/jobs.ts), so
// that a long list never holds the console's event loop. POST starts the job and waits for it up to
// INLINE_WAIT_MS (a short list comes back answered at once); a longer one answers 202 with a progress
// panel that polls GET /search/bulk/j/:id until the answer is there, and can be cancelled. One running
// bulk per user and a few in all; more get a 429 saying so.
//
// Audited once per bulk, when it ends (done, cancelled or failed: nothing is shown before), as a
// search with the case reference, the number of lines, a SHA-256 of the list and its first lines.
// The answer is kept like a search's (search-store.ts, bounded in bytes by bulk/answer.ts) for
// paging, original lines and the CSV / report exports.
import { createHash } from 'node:crypto';
import { DEFAULT_WINDOW_SEC, MAX_WINDOW_SEC, RAW_KEY_SIZE, type Candidate } from '../../query/engine.js';
import { parseProto, parseWindow } from '../../query/input.js';
import { MAX_LINE_CANDIDATES } from '../bulk/answer.js';
import { BULK_WORKER_HEAP_MIB, MAX_RUNNING_BULKS, type BulkJob, type JobEnd } from '../bulk/jobs.js';
import { WebError } from '../errors.js';
import { isHtmx, type Ctx } from '../state.js';
import { checkBulk, inputOf, MAX_BULK_LINES, MAX_UPLOAD_BYTES, readUpload } from './bulk-parse.js';
import { fieldError, pick, queryError, readCase, type FieldError } from './search-form.js';
import { JsonChunks } from './json-chunks.js';
import { LINES_PER_CHUNK, MAX_RESULT_BYTES, MAX_ROWS, PackedRows, ROWS_PER_CHUNK, type BulkLine, type ResultStore, type StoredResult } from './search-store.js';
import type { RouteDef, Services } from './types.js';

const LINES_PER_PAGE = LINES_PER_CHUNK;
/** Candidates a results page shows per line (the exports show every one kept). */
const SHOWN_PER_LINE = 5;
/** How long POST waits for a job before answering with its progress panel. */
const INLINE_WAIT_MS = 1000;
const FIELDS = ['case_ref', 'justification', 'authority', 'window', 'proto', 'list'] as const;
type BulkResult = Extract<StoredResult, { kind: 'bulk' }>;

/** The caps a truncated answer names. */
export const BULK_LIMITS = { per_line: MAX_LINE_CANDIDATES, max: MAX_ROWS, mib: MAX_RESULT_BYTES / 2 ** 20 };

export function bulkView(r: BulkResult, page: number) {
  const pages = Math.max(1, Math.ceil(r.lines.length / LINES_PER_PAGE));
  const p = Math.min(Math.max(1, Math.floor(page) || 1), pages);
  const link = (n: number) => `/search/bulk/r/${r.id}?page=${n}`;
  // The candidates shown, each chunk of rows parsed once for the page.
  const chunks = new Map<number, Candidate[]>();
  const row = (i: number) => {
    const k = Math.floor(i / ROWS_PER_CHUNK);
    let c = chunks.get(k);
    if (!c) chunks.set(k, (c = r.rows.slice(k * ROWS_PER_CHUNK, (k + 1) * ROWS_PER_CHUNK)));
    return c[i - k * ROWS_PER_CHUNK]!;
  };
  return {
    result: r,
    lines: r.lines.slice((p - 1) * LINES_PER_PAGE, p * LINES_PER_PAGE).map((l) => {
      const shown = Math.min(SHOWN_PER_LINE, l.kept);
      return { ...l, cands: Array.from({ length: shown }, (_, i) => ({ ...row(l.first + i), index: l.first + i })), more: l.kept - shown, cut: l.found - l.kept };
    }),
    counts: r.counts,
    limits: BULK_LIMITS,
    page: p,
    pages,
    prev: p > 1 ? link(p - 1) : null,
    next: p < pages ? link(p + 1) : null,
  };
}

/** What the job panel (bulk/_job.njk) shows. */
function jobView(job: BulkJob) {
  return { job, job_done: job.done(), worker_mib: BULK_WORKER_HEAP_MIB };
}

export function bulkRoutes(svc: Services, results: ResultStore): RouteDef[] {
  const cfg = svc.deps.config;
  const jobs = svc.bulkJobs;
  const limits = { max_lines: MAX_BULK_LINES, max_mib: MAX_UPLOAD_BYTES / 1024 / 1024 };

  function page(ctx: Ctx, form: Record<string, string>, errors: FieldError[], status: number, view: Record<string, unknown> = {}) {
    const errfields = Object.fromEntries(errors.map((e) => [e.field, true]));
    svc.views.render(ctx, isHtmx(ctx) ? 'bulk/_results.njk' : 'bulk/page.njk', { form, errors, errfields, limits, default_window: DEFAULT_WINDOW_SEC, ...view }, status);
  }

  function showResult(ctx: Ctx, r: BulkResult, p = 1) {
    if (isHtmx(ctx)) ctx.set('HX-Push-Url', `/search/bulk/r/${r.id}`);
    page(ctx, r.input, [], 200, bulkView(r, p));
  }

  /** A job's state: its answer when done, else its panel (running, cancelled, failed). */
  function showJob(ctx: Ctx, job: BulkJob, form: Record<string, string> = {}, status = 200) {
    if (job.state === 'done' && job.result) {
      const r = results.get(job.result, job.owner);
      if (r.kind !== 'bulk') throw new WebError('MEGALOG_ERR_WEB_NOT_FOUND');
      if (!isHtmx(ctx) && ctx.method === 'GET') return ctx.redirect(`/search/bulk/r/${r.id}`);
      return showResult(ctx, r);
    }
    page(ctx, form, [], job.state === 'running' ? status : 200, jobView(job));
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
    const parsed = errors.some((e) => e.field === 'list') ? null : checkBulk(text);
    if (parsed && !parsed.ok) errors.push({ field: file ? 'file' : 'list', pt: parsed.pt, en: parsed.en });
    if (errors.length || !parsed || !parsed.ok) return page(ctx, form, errors, 422);

    const user = ctx.state.user!;
    const source = ctx.ip;
    const input = { ...form, list: file ? '' : form.list!.slice(0, 2000) };
    const listText = Buffer.isBuffer(text) ? text : Buffer.from(text);
    const asked = {
      lines: parsed.lines.length,
      window_sec: windowSec,
      proto,
      authority: kase.authority || undefined,
      list_sha256: createHash('sha256').update(listText).digest('hex'),
      first_lines: parsed.lines.slice(0, 10).map((l) => inputOf(l.text)),
    };
    const end = (how: JobEnd): string | null => {
      // How it ended first: the audit page shows the head of the query.
      const outcome = how.state === 'done' ? { truncated: how.answer.truncated } : how.state === 'failed' ? { failure: how.failure, lines_done: how.done } : { lines_done: how.done };
      svc.udb.audit({
        action: 'search',
        case_ref: kase.case_ref,
        justification: kase.justification,
        query: { kind: 'bulk', outcome: how.state, ...outcome, ...asked },
        result_count: how.state === 'done' ? how.answer.answered : null,
        user: user.username,
        source,
      });
      if (how.state !== 'done') return null;
      const a = how.answer;
      return results.put({
        kind: 'bulk',
        owner: user.id,
        user: user.username,
        case: kase,
        input,
        rows: new PackedRows(new JsonChunks<Candidate>(a.rowChunks, a.rawKeys.length / RAW_KEY_SIZE, ROWS_PER_CHUNK), a.rawKeys),
        truncated: a.truncated,
        lines: new JsonChunks<BulkLine>(a.lineChunks, a.lineCount, LINES_PER_CHUNK),
        counts: a.counts,
        answered: a.answered,
        found: a.found,
        unanswered: a.unanswered,
        days_used: a.days_used,
        window_sec: windowSec,
        proto,
      }).id;
    };
    const job = jobs.start(user.id, { list: parsed.text, windowSec, proto }, parsed.lines.length, end);
    if ('refused' in job) {
      const refusal = job.refused === 'user' ? ctx.state.t('bulk.busy_user') : ctx.state.t('bulk.busy_all', { n: MAX_RUNNING_BULKS });
      return page(ctx, form, [], 429, { refusal, running: job.refused === 'user' ? job.running.id : null });
    }
    // `Prefer: respond-async` (RFC 7240): a script that polls the job itself gets its 202 at once.
    if (/\brespond-async\b/i.test(ctx.get('Prefer'))) ctx.set('Preference-Applied', 'respond-async');
    else {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([job.finished, new Promise((r) => (timer = setTimeout(r, INLINE_WAIT_MS)))]);
      clearTimeout(timer);
    }
    if (isHtmx(ctx) && job.state === 'running') ctx.set('HX-Push-Url', `/search/bulk/j/${job.id}`);
    showJob(ctx, job, input, 202);
  }

  const jobOf = (ctx: Ctx) => {
    const job = jobs.get(ctx.params.id, ctx.state.user!.id);
    if (!job) throw new WebError('MEGALOG_ERR_WEB_NOT_FOUND', 'search.expired');
    return job;
  };

  return [
    { name: 'bulk', method: 'GET', path: '/search/bulk', handler: (ctx) => page(ctx, { window: String(DEFAULT_WINDOW_SEC) }, [], 200) },
    { name: 'bulk.run', method: 'POST', path: '/search/bulk', handler: run },
    { name: 'bulk.job', method: 'GET', path: '/search/bulk/j/:id', handler: (ctx) => showJob(ctx, jobOf(ctx)) },
    {
      name: 'bulk.cancel',
      method: 'POST',
      path: '/search/bulk/j/:id/cancel',
      handler: async (ctx) => {
        const job = jobOf(ctx);
        await jobs.cancel(job);
        showJob(ctx, job);
      },
    },
    {
      name: 'bulk.result',
      method: 'GET',
      path: '/search/bulk/r/:id',
      handler: (ctx) => {
        const r = results.get(ctx.params.id, ctx.state.user!.id);
        if (r.kind !== 'bulk') return ctx.redirect(`/search/r/${r.id}`);
        showResult(ctx, r, Number(ctx.query.page));
      },
    },
  ];
}
