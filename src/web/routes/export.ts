// Exports of a kept answer: CSV, and a printable court report (case reference, requesting authority,
// the query, the verdict, candidates with their original lines, the SHA-256 of every day file read,
// who generated it and when). Each download is audited as an export under the search's case
// reference. GET /exports lists this user's answers still kept.
//
// Original lines are read for the export a chunk of candidates at a time and not kept afterwards: the
// CSV streams them; the report includes them up to MAX_REPORT_RAW_BYTES and names the ones beyond
// (a report of 20,000 candidates with 64 KB lines would be more than a gigabyte of page).
import { Readable } from 'node:stream';
import { fillRaw, type Candidate } from '../../query/engine.js';
import { formatInstant } from '../../core/time.js';
import { BULK_LIMITS } from './bulk.js';
import { resultCsv, rowCursor } from './export-csv.js';
import { WebError } from '../errors.js';
import { htmlToPdf, pdfAvailable } from '../pdf.js';
import { dayHashes } from './export-hash.js';
import type { ResultStore, StoredResult } from './search-store.js';
import type { RouteDef, Services } from './types.js';
import { readConfigOf } from '../../store/index.js';

/** Bytes of original lines one report includes. */
export const MAX_REPORT_RAW_BYTES = 16 * 2 ** 20;

/** Day files an answer read, each once, in order. */
function daysOf(r: StoredResult): { day: string; path: string }[] {
  const all = r.kind === 'bulk' ? r.days_used : r.answer.days_used;
  const by = new Map(all.map((d) => [d.day, d]));
  return [...by.values()].sort((a, b) => a.day.localeCompare(b.day));
}

/** Download name of an export of `r`: the case reference, then the answer's id. */
function fileName(r: StoredResult): string {
  return `megalog-${r.case.case_ref.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60)}-${r.id.slice(0, 8)}`;
}

/** Short description of what was asked, for lists and the audit. */
export function describe(r: StoredResult): string {
  if (r.kind === 'lookup') {
    const q = r.answer.query;
    return `${q.nat_ip}${q.nat_port != null ? `:${q.nat_port}` : ''} @ ${q.at} ±${q.window_sec}s${q.proto ? ` ${q.proto}` : ''}`;
  }
  if (r.kind === 'subscriber') return `${r.answer.query.src_ip} ${r.answer.query.from} → ${r.answer.query.to}`;
  return `${r.lines.length} lines`;
}

export function exportRoutes(svc: Services, results: ResultStore): RouteDef[] {
  const tz = svc.deps.config.timezone;
  const qcfg = { ...readConfigOf(svc.deps.config), timezone: tz, readers: svc.readers };
  const audit = (ctx: Parameters<RouteDef['handler']>[0], r: StoredResult, format: 'csv' | 'report' | 'pdf') =>
    ctx.state.audit({
      action: 'export',
      case_ref: r.case.case_ref,
      justification: r.case.justification,
      query: { format, kind: r.kind, query: describe(r), searched_at: formatInstant(r.created_ms, tz) },
      result_count: r.kind === 'bulk' ? r.lines.length : r.rows.length,
    });

  return [
    {
      name: 'exports',
      method: 'GET',
      path: '/exports',
      handler: (ctx) => {
        const list = results.list(ctx.state.user!.id).map((r) => ({ id: r.id, kind: r.kind, case_ref: r.case.case_ref, created_ms: r.created_ms, what: describe(r), verdict: r.kind === 'lookup' ? r.answer.verdict : null, n: r.kind === 'bulk' ? r.lines.length : r.rows.length }));
        svc.views.render(ctx, 'exports/page.njk', { list });
      },
    },
    {
      name: 'exports.csv',
      method: 'GET',
      path: '/exports/:id/csv',
      handler: (ctx) => {
        const r = results.get(ctx.params.id, ctx.state.user!.id);
        audit(ctx, r, 'csv');
        const name = `${fileName(r)}.csv`;
        ctx.type = 'text/csv; charset=utf-8';
        ctx.set('Content-Disposition', `attachment; filename="${name}"`);
        // the console answered without original lines: read as the stream goes
        ctx.body = Readable.from(resultCsv(r, (chunk) => fillRaw(chunk, qcfg)));
      },
    },
    {
      name: 'exports.report',
      method: 'GET',
      path: '/exports/:id/report',
      handler: async (ctx) => {
        const r = results.get(ctx.params.id, ctx.state.user!.id);
        audit(ctx, r, 'report');
        await renderReport(ctx, r, false);
      },
    },
    {
      name: 'exports.pdf',
      method: 'GET',
      path: '/exports/:id/report.pdf',
      handler: async (ctx) => {
        const r = results.get(ctx.params.id, ctx.state.user!.id);
        if (!pdfAvailable()) throw new WebError('MEGALOG_ERR_WEB_PDF_UNAVAILABLE');
        audit(ctx, r, 'pdf');
        await renderReport(ctx, r, true);
        const pdf = await htmlToPdf(String(ctx.body));
        ctx.type = 'application/pdf';
        ctx.set('Content-Disposition', `attachment; filename="${fileName(r)}.pdf"`);
        ctx.body = pdf;
      },
    },
  ];

  /** The court report page of `r` (for the PDF, without the on-screen hints). */
  async function renderReport(ctx: Parameters<RouteDef['handler']>[0], r: StoredResult, forPdf: boolean): Promise<void> {
    const cfg = svc.deps.config;
    const hashes = (await dayHashes(daysOf(r), cfg.cold_storage_dir, cfg)).map((h) => ({
      ...h,
      sealed_at_shown: h.sealed_at ? formatInstant(Date.parse(h.sealed_at), tz) : null,
      seal_after_shown: h.seal_after ? formatInstant(Date.parse(h.seal_after), tz) : null,
    }));
    let left = MAX_REPORT_RAW_BYTES;
    const row = rowCursor(r.rows, (chunk) => left > 0 && fillRaw(chunk, qcfg)); // (none read past the budget)
    const withRaw = (i: number) => {
      const c: Candidate = row(i);
      const size = Buffer.byteLength(c.raw);
      if (left === 0 || size > left) {
        left = 0; // the lines after it are left out too: none of them read
        return { ...c, raw: '', raw_text: '', raw_omitted: true };
      }
      left -= size;
      return { ...c, raw: '', raw_text: c.raw };
    };
    const range = (from: number, n: number) => Array.from({ length: n }, (_, j) => withRaw(from + j));
    svc.views.render(ctx, 'exports/report.njk', {
      r,
      what: describe(r),
      answer: r.kind === 'bulk' ? null : r.answer,
      rows: r.kind === 'bulk' ? [] : range(0, r.rows.length),
      lines: r.kind === 'bulk' ? r.lines.slice(0, r.lines.length).map((l) => ({ ...l, cands: range(l.first, l.kept) })) : [],
      limits: BULK_LIMITS,
      raw_mib: MAX_REPORT_RAW_BYTES / 2 ** 20,
      hashes,
      generated: formatInstant(Date.now(), tz),
      searched: formatInstant(r.created_ms, tz),
      for_pdf: forPdf,
      pdf: pdfAvailable(),
    });
  }
}

