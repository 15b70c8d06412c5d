// What an analyst types into the search forms, checked before anything runs: the case fields every
// search requires, and the public-address / subscriber queries. Times are read by the query engine's
// parser in the configured zone unless an offset is typed (never silently UTC). Every problem becomes
// a message for the page (both languages, naming the field), never an exception.
import { QueryError, parseAnalystTime } from '../../query/index.js';
import type { CaseInfo } from './search-store.js';

export interface FieldError {
  field: string;
  pt: string;
  en: string;
}

/** A message for `field` from the i18n table (`key`) or from a QueryError's own text. */
export function fieldError(field: string, pt: string, en: string): FieldError {
  return { field, pt, en };
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
    return fieldError(field, 'Não foi possível ler o armazenamento (veja o log do serviço).', 'Could not read the store (see the service log).');
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
  if (!case_ref) errors.push(fieldError('case_ref', 'Informe a referência do caso (número do processo ou ofício).', 'Give the case reference (court case or request number).'));
  else if (!CASE_RE.test(case_ref))
    errors.push(fieldError('case_ref', 'Referência do caso inválida: use letras, números, espaço e . , : / _ # ( ) - (3 a 120 caracteres).', 'Invalid case reference: use letters, digits, spaces and . , : / _ # ( ) - (3 to 120 characters).'));
  if (justification.length < 5) errors.push(fieldError('justification', 'Informe a justificativa da busca (ao menos 5 caracteres).', 'Give the reason for this search (at least 5 characters).'));
  else if (justification.length > 2000 || CONTROL.test(justification)) errors.push(fieldError('justification', 'Justificativa inválida (no máximo 2000 caracteres, sem caracteres de controle).', 'Invalid justification (at most 2000 characters, no control characters).'));
  if (authority.length > 200 || CONTROL.test(authority)) errors.push(fieldError('authority', 'Autoridade requisitante inválida (no máximo 200 caracteres).', 'Invalid requesting authority (at most 200 characters).'));
  return { case_ref, justification, authority };
}

/** An analyst's time field: a message when empty or unreadable. */
export function readTime(text: string | undefined, tz: string, field: string, errors: FieldError[]): number | null {
  const s = (text ?? '').trim();
  if (!s) {
    errors.push(fieldError(field, 'Informe a data e a hora.', 'Give the date and time.'));
    return null;
  }
  if (s.length > 64) {
    errors.push(fieldError(field, 'Data/hora inválida.', 'Invalid date/time.'));
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
