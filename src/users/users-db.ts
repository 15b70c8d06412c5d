// users.db as one handle: accounts, sessions and the audit log. Opened by the web console, the
// `megalog user` and `megalog verify --audit` commands, and (later) `megalog search` to audit itself.
import { openUsersDatabase, type Db } from './db.js';
import { appendAudit, type AuditInput, type AuditRow } from './audit.js';
import { Sessions } from './sessions.js';
import { Users } from './users.js';

export type { Db } from './db.js';
export type { AuditInput, AuditRow, AuditFilter, AuditPage, VerifyResult } from './audit.js';
export { verifyAuditChain, runVerifyAudit, queryAudit, auditFacets, AUDIT_ACTIONS } from './audit.js';
export type { User } from './users.js';
export type { Role } from './roles.js';
export { ROLES, isRole } from './roles.js';

export interface UsersDbOptions {
  /** config.enable_audit_log; when false, audit() writes nothing. */
  auditEnabled?: boolean;
  readonly?: boolean;
}

export class UsersDb {
  readonly users: Users;
  readonly sessions: Sessions;
  readonly auditEnabled: boolean;

  constructor(readonly db: Db, opts: UsersDbOptions = {}) {
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
    return this.auditEnabled ? appendAudit(this.db, entry) : null;
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

export function openUsersDb(path: string, opts: UsersDbOptions = {}): UsersDb {
  return new UsersDb(openUsersDatabase(path, { readonly: opts.readonly ?? false }), opts);
}
