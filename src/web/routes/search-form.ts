// What an analyst types into the search forms, checked before anything runs: the case fields every
// search requires, and the public-address / subscriber queries. Times are read by the query engine's
// parser in the configured zone unless an offset is typed (never silently UTC). Every problem becomes
// a message for the page (both languages, naming the field), never an exception.
import { QueryError, parseAnalystTime } from '../../query/engine.js';
import type { CaseInfo } from './search-store.js';
import { numberLocale, translator, type Language, type MessageKey } from '../i18n.js';

export interface FieldError {
  field: string;
  pt: string;
  en: string;
}

/** A message for `field` from the i18n table (`key`) or from a QueryError's own text. */
const PT = translator('pt-BR');
const EN = translator('en');

/** A form field's problem in both languages, from the console's catalog (web/i18n.ts). */
export function fieldError(field: string, key: MessageKey, params: Record<string, unknown> = {}): FieldError {
  const local = (lang: Language) => Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'number' ? v.toLocaleString(numberLocale(lang)) : v]));
  return { field, pt: PT(key, local('pt-BR')), en: EN(key, local('en')) };
}

export function queryError(err: unknown, field: string): FieldError {
  if (err instanceof QueryError) return { field: err.field ?? field, pt: err.message_pt, en: err.message_en };
  throw err;
}

/** A QueryError as a field message; anything else (a damaged or unreadable day file) logged, and said plainly. */
export function storeError(e: unknown, field: string): FieldError {
  try {
    return queryError(e, field);
  } catch {
    console.error('megalog web: search failed:', e);
    return fieldError(field, 'form.store_error');
  }
}

// Court and police references: "0001234-56.2026.8.26.0100", "Ofício nº 123/2026 – DP/SP", "IP 2026.0001".
const CASE_RE = /^[\p{L}\p{N} .,:/_#()ºª°–—-]{3,120}$/u;
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Case reference (required, a reference's characters only), justification (required), authority (optional). */
export function readCase(form: Record<string, string | undefined>, errors: FieldError[]): CaseInfo {
  const case_ref = (form.case_ref ?? '').trim();
  const justification = (form.justification ?? '').trim();
  const authority = (form.authority ?? '').trim();
  if (!case_ref) errors.push(fieldError('case_ref', 'form.need_case_ref'));
  else if (!CASE_RE.test(case_ref))
    errors.push(fieldError('case_ref', 'form.bad_case_ref'));
  if (justification.length < 5) errors.push(fieldError('justification', 'form.need_justification'));
  else if (justification.length > 2000 || CONTROL.test(justification)) errors.push(fieldError('justification', 'form.bad_justification'));
  if (authority.length > 200 || CONTROL.test(authority)) errors.push(fieldError('authority', 'form.bad_authority'));
  return { case_ref, justification, authority };
}

/** An analyst's time field: a message when empty or unreadable. */
export function readTime(text: string | undefined, tz: string, field: string, errors: FieldError[]): number | null {
  const s = (text ?? '').trim();
  if (!s) {
    errors.push(fieldError(field, 'form.need_time'));
    return null;
  }
  if (s.length > 64) {
    errors.push(fieldError(field, 'form.bad_time'));
    return null;
  }
  try {
    return parseAnalystTime(s, tz);
  } catch (err) {
    errors.push(queryError(err, field));
    return null;
  }
}

/** Only the fields a form knows, clipped, for refilling it and for the audit record. */
export function pick(form: Record<string, string | undefined>, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) out[k] = String(form[k] ?? '').slice(0, 2000);
  return out;
}
