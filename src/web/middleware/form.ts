// Request bodies: HTML forms (application/x-www-form-urlencoded) up to 64 KiB, parsed into
// ctx.state.form. multipart/form-data passes through unparsed for routes that read uploads
// themselves (their CSRF token then travels in the X-CSRF-Token header, which htmx adds).
import type { Middleware } from 'koa';
import { WebError } from '../errors.js';
import type { WebState } from '../state.js';

export const FORM_MAX_BYTES = 64 * 1024;
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function formParser(): Middleware<WebState> {
  return async (ctx, next) => {
    ctx.state.form = {};
    if (!UNSAFE.has(ctx.method)) return next();
    const type = (ctx.get('Content-Type').split(';')[0] ?? '').trim().toLowerCase();
    if (type === 'multipart/form-data') return next();
    const length = Number(ctx.get('Content-Length') || 0);
    if (type !== 'application/x-www-form-urlencoded' && (length > 0 || ctx.get('Transfer-Encoding'))) {
      throw new WebError('MEGALOG_ERR_WEB_UNSUPPORTED_MEDIA');
    }
    if (length > FORM_MAX_BYTES) throw new WebError('MEGALOG_ERR_WEB_TOO_LARGE');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ctx.req) {
      size += (chunk as Buffer).length;
      if (size > FORM_MAX_BYTES) throw new WebError('MEGALOG_ERR_WEB_TOO_LARGE');
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const form = Object.create(null) as Record<string, string>;
    for (const [k, v] of new URLSearchParams(text)) {
      // First value wins; NUL and other C0 controls (but tab/newline) never reach handlers or the database.
      if (!(k in form)) form[k] = v.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');
    }
    ctx.state.form = form;
    return next();
  };
}
