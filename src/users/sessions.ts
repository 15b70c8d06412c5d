// Console sessions kept server-side in users.db. The cookie carries a random id; the table keeps only
// its SHA-256, so a copy of users.db (a backup, say) holds no live session.
import { createHash } from 'node:crypto';
import type { Db } from './db.js';

export interface SessionRow {
  data: Record<string, unknown>;
  user_id: number | null;
  expires_ms: number;
}

const PURGE_EVERY_MS = 5 * 60_000;

export function sessionIdHash(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export class Sessions {
  private readonly s;
  private lastPurge = 0;

  constructor(db: Db) {
    this.s = {
      get: db.prepare<[string], { data: string; user_id: number | null; expires_ms: number }>(
        'SELECT data, user_id, expires_ms FROM sessions WHERE id_hash = ?',
      ),
      upsert: db.prepare(
        `INSERT INTO sessions (id_hash, user_id, data, expires_ms) VALUES (@h, @uid, @data, @exp)
         ON CONFLICT (id_hash) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, expires_ms = excluded.expires_ms`,
      ),
      del: db.prepare('DELETE FROM sessions WHERE id_hash = ?'),
      delUser: db.prepare('DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?'),
      purge: db.prepare('DELETE FROM sessions WHERE expires_ms <= ?'),
      count: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM sessions WHERE user_id = ?'),
    };
  }

  get(id: string, now = Date.now()): SessionRow | null {
    const r = this.s.get.get(sessionIdHash(id));
    if (!r) return null;
    if (r.expires_ms <= now) {
      this.s.del.run(sessionIdHash(id));
      return null;
    }
    return { data: JSON.parse(r.data) as Record<string, unknown>, user_id: r.user_id, expires_ms: r.expires_ms };
  }

  set(id: string, data: Record<string, unknown>, userId: number | null, expiresMs: number, now = Date.now()): void {
    this.s.upsert.run({ h: sessionIdHash(id), uid: userId, data: JSON.stringify(data), exp: expiresMs });
    if (now - this.lastPurge > PURGE_EVERY_MS) this.purge(now);
  }

  destroy(id: string): void {
    this.s.del.run(sessionIdHash(id));
  }

  /** End every session of a user (password reset, disable), except `keepId` when given. */
  destroyForUser(userId: number, keepId?: string): void {
    this.s.delUser.run(userId, keepId ? sessionIdHash(keepId) : '');
  }

  countForUser(userId: number): number {
    return this.s.count.get(userId)!.n;
  }

  purge(now = Date.now()): void {
    this.lastPurge = now;
    this.s.purge.run(now);
  }
}
