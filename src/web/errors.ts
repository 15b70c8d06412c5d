// Errors the console answers on purpose. Each has a stable code (never reused) and an i18n message
// key; anything else that reaches the error middleware is a bug: logged with its stack, answered with
// a generic page that carries only an id to quote.

import { WEB_ERRORS } from '../core/errors.js';

export { WEB_ERRORS };

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
