// /static/*: the files under static/, read once at start-up into memory. Only names in that list are
// served (no path from the URL ever reaches the file system). Versioned names (htmx-2.0.8.min.js) are
// cached for a year; the rest revalidate by ETag.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Middleware } from 'koa';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
  immutable: boolean;
}

export function staticFiles(dir: string, prefix = '/static/'): Middleware {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(dir, name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(prefix + name, { body, type, etag, immutable: /-\d+\.\d+\.\d+/.test(name) });
  }
  return async (ctx, next) => {
    if (!ctx.path.startsWith(prefix)) return next();
    const a = assets.get(ctx.path);
    if (!a || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.set('ETag', a.etag);
    ctx.set('Cache-Control', a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (ctx.get('If-None-Match') === a.etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = a.type;
    ctx.body = a.body;
  };
}
