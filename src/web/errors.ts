// Errors the console answers on purpose. Each has a stable code (never reused) and an i18n message
// key; anything else that reaches the error middleware is a bug: logged with its stack, answered with
// a generic page that carries only an id to quote.

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
} as const;

export type WebErrorCode = keyof typeof WEB_ERRORS;

/** An error whose message (an i18n key) may be shown to the user. */
export class WebError extends Error {
  readonly status: number;
  readonly key: string;
  readonly expose = true;

  constructor(
    readonly code: WebErrorCode,
    key?: string,
    readonly params: Record<string, unknown> = {},
  ) {
    const def = WEB_ERRORS[code];
    super(`${code}: ${key ?? def.key}`);
    this.status = def.status;
    this.key = key ?? def.key;
  }
}
