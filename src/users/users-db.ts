// users.db as one handle: accounts, sessions and the audit log. Opened by the web console, the
// `megalog user` and `megalog verify --audit` commands, and (later) `megalog search` to audit itself.
import { randomBytes } from 'node:crypto';
import { openUsersDatabase, type Db } from './db.js';
import { appendAudit, auditHead, type AuditHead, type AuditInput, type AuditRow } from './audit.js';
import { auditKeyForWriting } from './audit-key.js';
import { Sessions } from './sessions.js';
import { Users } from './users.js';

export type { Db } from './db.js';
export type { AuditInput, AuditRow, AuditFilter, AuditPage, AuditHead, VerifyResult } from './audit.js';
export { verifyAuditChain, runVerifyAudit, queryAudit, auditFacets, formatHead, parseHead, AUDIT_ACTIONS } from './audit.js';
export type { User } from './users.js';
export type { Role } from './roles.js';
export { ROLES, isRole } from './roles.js';

export interface UsersDbOptions {
  /** config.enable_audit_log; when false, audit() writes nothing. */
  auditEnabled?: boolean;
  readonly?: boolean;
  /** The audit chain's key; by default MEGALOG_AUDIT_KEY or `audit.key` beside users.db (audit-key.ts). */
  auditKey?: Buffer;
}

export class UsersDb {
  readonly users: Users;
  readonly sessions: Sessions;
  readonly auditEnabled: boolean;

  constructor(
    readonly db: Db,
    opts: UsersDbOptions = {},
    /** Null when the audit log is disabled or the handle read-only. */
    private readonly auditKey: Buffer | null = opts.auditKey ?? null,
  ) {
    this.users = new Users(db);
    this.sessions = new Sessions(db);
    this.auditEnabled = opts.auditEnabled ?? true;
  }

  /**
   * Record one audit entry: who (`user`), when (`time_ms`, default now), from where (`source`),
   * `action`, `case_ref`, `justification`, `query` (any JSON value) and `result_count`.
   * Returns the chained row, or null when the audit log is disabled in the configuration.
   */
  audit(entry: AuditInput): AuditRow | null {
    if (!this.auditEnabled) return null;
    if (!this.auditKey) throw new Error('users.db: audit entry without an audit key (opened read-only?)');
    return appendAudit(this.db, this.auditKey, entry);
  }

  /** The chain's head as recorded (for publishing off the box; `megalog verify --audit` checks it). */
  head(): AuditHead {
    return auditHead(this.db);
  }

  /** A real query against users.db, for /health. */
  healthy(): boolean {
    try {
      this.users.count();
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * Open users.db. A writable handle with the audit log enabled also reads its key (generated on first
 * use), so a missing key stops the start, not the first login.
 */
export function openUsersDb(path: string, opts: UsersDbOptions = {}): UsersDb {
  const readonly = opts.readonly ?? false;
  const db = openUsersDatabase(path, { readonly });
  try {
    let key = opts.auditKey ?? null;
    if (!key && !readonly && (opts.auditEnabled ?? true)) key = path === ':memory:' ? randomBytes(32) : auditKeyForWriting(path, auditHead(db).entries);
    return new UsersDb(db, opts, key);
  } catch (err) {
    db.close();
    throw err;
  }
}
