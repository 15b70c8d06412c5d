// Query errors: a stable code (never reused) and a message in pt-BR and English, safe to show as is.
// Bad analyst input is an answer ("port 70000 is not a port"), never a stack trace.

import { QUERY_ERRORS } from '../core/errors.js';

export { QUERY_ERRORS };

export type QueryErrorCode = keyof typeof QUERY_ERRORS;

/** The plain shape of an error, for JSON answers and bulk results. */
export interface QueryErrorInfo {
  code: QueryErrorCode;
  message_pt: string;
  message_en: string;
  field?: string;
}

/** An input or store problem the analyst can act on. `detail` (the offending value, clipped) is appended to both messages. */
export class QueryError extends Error {
  readonly expose = true;
  readonly message_pt: string;
  readonly message_en: string;

  constructor(readonly code: QueryErrorCode, detail?: string, readonly field?: string) {
    const [pt, en] = QUERY_ERRORS[code];
    const d = detail ? `: ${clip(detail)}` : '';
    super(`${code}: ${en}${d}`);
    this.message_pt = pt + d;
    this.message_en = en + d;
  }

  toJSON(): QueryErrorInfo {
    return { code: this.code, message_pt: this.message_pt, message_en: this.message_en, ...(this.field ? { field: this.field } : {}) };
  }
}

/** Turn anything thrown into an info object (a non-QueryError becomes a store error without its internals). */
export function errorInfo(err: unknown): QueryErrorInfo {
  if (err instanceof QueryError) return err.toJSON();
  return new QueryError('MEGALOG_ERR_QUERY_STORE', (err as { code?: string }).code ?? undefined).toJSON();
}

/** Show at most 80 printable characters of what the user typed (it may be anything). */
function clip(s: string): string {
  const t = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return JSON.stringify(t.length > 80 ? `${t.slice(0, 80)}…` : t);
}
