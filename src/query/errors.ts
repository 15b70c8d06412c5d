// Query errors: a stable code (never reused) and a message in pt-BR and English, safe to show as is.
// Bad analyst input is an answer ("port 70000 is not a port"), never a stack trace.

export const QUERY_ERRORS = {
  MEGALOG_ERR_QUERY_BAD_IP: ['Endereço IP inválido', 'Invalid IP address'],
  MEGALOG_ERR_QUERY_BAD_PORT: ['Porta inválida (use um número de 0 a 65535)', 'Invalid port (use a number from 0 to 65535)'],
  MEGALOG_ERR_QUERY_BAD_TIME: ['Data/hora inválida', 'Invalid date/time'],
  MEGALOG_ERR_QUERY_AMBIGUOUS_TIME: ['Data/hora ambígua ou inexistente no fuso configurado: informe o deslocamento (ex.: -03:00)', 'Date/time is ambiguous or does not exist in the configured zone: give the offset (e.g. -03:00)'],
  MEGALOG_ERR_QUERY_BAD_WINDOW: ['Janela inválida', 'Invalid window'],
  MEGALOG_ERR_QUERY_BAD_PROTO: ['Protocolo inválido', 'Invalid protocol'],
  MEGALOG_ERR_QUERY_BAD_RANGE: ['Intervalo inválido: o fim é anterior ao início', 'Invalid range: the end is before the start'],
  MEGALOG_ERR_QUERY_RANGE_TOO_LONG: ['Intervalo longo demais', 'Range too long'],
  MEGALOG_ERR_QUERY_BAD_ZONE: ['Fuso horário desconhecido', 'Unknown time zone'],
  MEGALOG_ERR_QUERY_MISSING: ['Campo obrigatório ausente', 'Required field missing'],
  MEGALOG_ERR_QUERY_BULK_TOO_MANY_LINES: ['Lista grande demais', 'List too long'],
  MEGALOG_ERR_QUERY_BULK_NOT_UTF8: ['O arquivo não está em UTF-8 (salve como UTF-8 e envie de novo)', 'The file is not UTF-8 (save it as UTF-8 and upload again)'],
  MEGALOG_ERR_QUERY_BULK_BAD_LINE: ['Linha não reconhecida (esperado: ip[:porta] data/hora, ip porta data/hora ou CSV)', 'Line not understood (expected: ip[:port] time, ip port time, or CSV)'],
  MEGALOG_ERR_QUERY_STORE: ['Não foi possível ler o armazenamento', 'Could not read the store'],
} as const;

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
