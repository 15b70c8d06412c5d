// Every error code MegaLog gives, in one catalog grouped by area. A code is stable and never reused:
// scripts, logs and support requests quote it. Each area's error class (query/errors.ts,
// web/errors.ts, StartError below) takes its code from here.

/** Bad analyst input or an unreadable store: a message in pt-BR and English, safe to show as is. */
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
  MEGALOG_ERR_QUERY_BULK_BAD_LINE: ['Linha não reconhecida (esperado: ip[:porta] data/hora [-> destino[:porta]], ip porta data/hora ou CSV)', 'Line not understood (expected: ip[:port] time [-> destination[:port]], ip port time, or CSV)'],
  MEGALOG_ERR_QUERY_STORE: ['Não foi possível ler o armazenamento', 'Could not read the store'],
  MEGALOG_ERR_QUERY_BAD_LOGIN: ['Login inválido (até 64 caracteres, sem caracteres de controle)', 'Invalid login (up to 64 characters, no control characters)'],
} as const;

/** Errors the console answers on purpose: HTTP status and the i18n key of the message. */
export const WEB_ERRORS = {
  MEGALOG_ERR_WEB_NOT_FOUND: { status: 404, key: 'err.not_found' },
  MEGALOG_ERR_WEB_FORBIDDEN: { status: 403, key: 'err.forbidden' },
  MEGALOG_ERR_WEB_CSRF: { status: 403, key: 'err.csrf' },
  MEGALOG_ERR_WEB_UNAUTHENTICATED: { status: 401, key: 'login.required' },
  MEGALOG_ERR_WEB_SESSION_EXPIRED: { status: 401, key: 'login.expired' },
  MEGALOG_ERR_WEB_MUST_CHANGE: { status: 403, key: 'pw.forced' },
  MEGALOG_ERR_WEB_BAD_REQUEST: { status: 400, key: 'err.bad_request' },
  MEGALOG_ERR_WEB_TOO_LARGE: { status: 413, key: 'err.too_large' },
  MEGALOG_ERR_WEB_UNSUPPORTED_MEDIA: { status: 415, key: 'err.unsupported' },
  MEGALOG_ERR_WEB_METHOD: { status: 405, key: 'err.method' },
  MEGALOG_ERR_WEB_THROTTLED: { status: 429, key: 'err.throttled' },
  MEGALOG_ERR_WEB_INTERNAL: { status: 500, key: 'err.internal' },
  MEGALOG_ERR_WEB_PDF_UNAVAILABLE: { status: 503, key: 'err.pdf_unavailable' },
} as const;

/**
 * Errors that stop a command or a daemon from starting: one clear line on stderr and a distinct exit
 * status (sysexits.h), never a stack trace. systemd's journal shows the line; scripts read the status.
 */
export const START_ERRORS = {
  /** A configuration key is missing, unknown or bad (every problem listed at once). */
  MEGALOG_ERR_CONFIG: { exit: 78 },
  /** MEGALOG_SECRET_KEY is set but too short. */
  MEGALOG_ERR_SECRET_KEY: { exit: 78 },
  /** Another process (processor, import, restore) owns the hot or the cold directory. */
  MEGALOG_ERR_LOCKED: { exit: 75 },
  /** MEGALOG_AUDIT_KEY is too short, or the audit log has entries and its key (audit.key) is gone. */
  MEGALOG_ERR_AUDIT_KEY: { exit: 78 },
  /** A processor thread could not start (a port taken, a certificate unreadable, the store unusable). */
  MEGALOG_ERR_START: { exit: 71 },
} as const;

export type StartErrorCode = keyof typeof START_ERRORS;

/** Too many password checks are queued: the login answers "try again" (503) instead of queueing without end. */
export const MEGALOG_ERR_HASH_BUSY = 'MEGALOG_ERR_HASH_BUSY';

/** A stored block of original lines, or the day's shape / keyed-word table, does not decode (store/line-codec.ts). */
export const MEGALOG_ERR_LINE_CORRUPT = 'MEGALOG_ERR_LINE_CORRUPT';

/** The ClickHouse store's errors (store/clickhouse/client.ts); messages name the server, never a credential. */
export const CLICKHOUSE_ERRORS = {
  /** No HTTP answer (refused, reset, timed out, TLS refused): the statement may or may not have run. */
  MEGALOG_ERR_CLICKHOUSE_DOWN: 'no answer from the server',
  /** The server answered with an error (its text follows). */
  MEGALOG_ERR_CLICKHOUSE_QUERY: 'the server refused the statement',
  /** An answer larger than the bytes a caller may hold. */
  MEGALOG_ERR_CLICKHOUSE_TOO_BIG: 'answer too large',
  /** The password file is unreadable, or readable by others. */
  MEGALOG_ERR_CLICKHOUSE_CONFIG: 'bad ClickHouse credentials setting',
} as const;
export type ClickhouseErrorCode = keyof typeof CLICKHOUSE_ERRORS;

/** An error that stops start-up; `message` is the one line the operator reads. */
export class StartError extends Error {
  constructor(
    readonly code: StartErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The exit status for an error thrown at start-up, or null when it is not a catalogued start error (a bug). */
export function startExitStatus(err: unknown): number | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code in START_ERRORS ? START_ERRORS[code as StartErrorCode].exit : null;
}
