// Server-Timing on responses to signed-in users: the console's own time for it (`app;dur=<ms>`,
// from the first middleware until the body is set), so a client can tell server work from the
// network. The bench reads it; browsers show it in their developer tools. Never on anonymous
// responses (the login page): precise server times there would help timing attacks.
import type { Middleware } from 'koa';
import type { WebState } from '../state.js';

export function serverTiming(): Middleware<WebState> {
  return async (ctx, next) => {
    const t0 = performance.now();
    await next();
    if (ctx.state.user) ctx.set('Server-Timing', `app;dur=${(performance.now() - t0).toFixed(1)}`);
  };
}
