// Server-Timing on every response: the console's own time for it (`app;dur=<ms>`, from the first
// middleware until the body is set), so a client can tell server work from the network. The bench
// reads it; browsers show it in their developer tools.
import type { Middleware } from 'koa';

export function serverTiming(): Middleware {
  return async (ctx, next) => {
    const t0 = performance.now();
    await next();
    ctx.set('Server-Timing', `app;dur=${(performance.now() - t0).toFixed(1)}`);
  };
}
