// What a route module hands to app.ts: named routes (the name keys the authorization table).
import type { ReaderCache } from '../../query/engine.js';
import type { BulkJobs } from '../bulk/jobs.js';
import type { WebDeps } from '../deps.js';
import type { UsersDb } from '../../users/users-db.js';
import type { RouteName } from '../authz.js';
import type { Views } from '../render.js';
import type { Ctx } from '../state.js';
import type { AddressThrottle } from '../throttle.js';

export interface Services {
  deps: WebDeps;
  udb: UsersDb;
  views: Views;
  throttle: AddressThrottle;
  idleMs: number;
  /** Day files kept open between searches (closed with the server). */
  readers: ReaderCache;
  /** Bulk searches running in worker threads (stopped with the server). */
  bulkJobs: BulkJobs;
}

export interface RouteDef {
  name: RouteName;
  method: 'GET' | 'POST';
  path: string;
  handler: (ctx: Ctx) => unknown;
}

/** Resolve within `ms` or reject: a stuck processor must not hang a page. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
