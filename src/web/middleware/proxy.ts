// nginx in front (127.0.0.1) tells us the client address and whether it spoke TLS. Those headers are
// believed only from a loopback peer; from anyone else they are removed before Koa reads them.
import type { Middleware } from 'koa';

const FORWARDED = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'x-real-ip'];

export function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false;
  const a = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

export function trustLoopbackProxy(): Middleware {
  return async (ctx, next) => {
    if (!isLoopback(ctx.req.socket.remoteAddress)) {
      for (const h of FORWARDED) delete ctx.req.headers[h];
    }
    await next();
  };
}
