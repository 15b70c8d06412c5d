// Accounts in users.db: lookup, creation, password, role, disable, lockout counters and TOTP.
// Parameterized statements only; every statement is prepared once.
import type { Db } from './db.js';
import { DEFAULT_ADMIN_PASSWORD, hashPassword } from './password.js';
import type { Role } from './roles.js';
import { TotpSeal } from './totp-seal.js';

/** Stands for a stored TOTP secret that cannot be opened: not base32, so no code ever matches it. */
const UNOPENABLE = '!';

export interface User {
  id: number;
  username: string;
  role: Role;
  password_hash: string;
  must_change: boolean;
  disabled: boolean;
  failed_count: number;
  locked_until_ms: number;
  totp_secret: string | null;
  totp_last_step: number;
  created_ms: number;
  password_changed_ms: number;
  last_login_ms: number | null;
}

/** Consecutive failed logins that lock an account, and for how long. */
export const LOCK_THRESHOLD = 5;
export const LOCK_MS = 15 * 60_000;
export const BOOTSTRAP_ADMIN = 'superadmin';
export const USERNAME_RE = /^[a-z0-9][a-z0-9._-]{2,31}$/;

interface Row extends Omit<User, 'must_change' | 'disabled' | 'role'> {
  role: string;
  must_change: number;
  disabled: number;
}

export class Users {
  private readonly s;

  /** `seal` keeps TOTP secrets encrypted at rest (totp-seal.ts). */
  constructor(
    private readonly db: Db,
    private readonly seal: TotpSeal = new TotpSeal(db.name === ':memory:' ? null : db.name),
  ) {
    this.s = {
      byName: db.prepare<[string], Row>('SELECT * FROM users WHERE username = ?'),
      byId: db.prepare<[number], Row>('SELECT * FROM users WHERE id = ?'),
      list: db.prepare<[], Row>('SELECT * FROM users ORDER BY username'),
      count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM users'),
      admins: db.prepare<[], { n: number }>("SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled = 0"),
      insert: db.prepare(
        `INSERT INTO users (username, role, password_hash, must_change, created_ms, password_changed_ms)
         VALUES (@username, @role, @hash, @must_change, @now, @now)`,
      ),
      setPassword: db.prepare(
        `UPDATE users SET password_hash = @hash, must_change = @must_change, password_changed_ms = @now,
           failed_count = 0, locked_until_ms = 0 WHERE id = @id`,
      ),
      setRole: db.prepare('UPDATE users SET role = ? WHERE id = ?'),
      setDisabled: db.prepare('UPDATE users SET disabled = ? WHERE id = ?'),
      attempt: db.prepare(
        `UPDATE users SET failed_count = failed_count + 1,
           locked_until_ms = CASE WHEN failed_count + 1 >= @threshold THEN @until ELSE locked_until_ms END
         WHERE id = @id AND locked_until_ms <= @now`,
      ),
      resetLock: db.prepare('UPDATE users SET failed_count = 0, locked_until_ms = 0 WHERE id = ?'),
      success: db.prepare('UPDATE users SET failed_count = 0, locked_until_ms = 0, last_login_ms = ? WHERE id = ?'),
      setTotp: db.prepare('UPDATE users SET totp_secret = ?, totp_last_step = ? WHERE id = ?'),
      totpStep: db.prepare('UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?'),
    };
  }

  private fromRow(r: Row | undefined): User | null {
    if (!r) return null;
    // A secret that does not open (key file lost, row copied from another account) reads as a set
    // second factor that no code matches: the account stays closed rather than losing its TOTP.
    const totp = r.totp_secret === null ? null : (this.seal.open(r.totp_secret, r.id) ?? UNOPENABLE);
    return { ...r, totp_secret: totp, role: r.role as Role, must_change: r.must_change === 1, disabled: r.disabled === 1 };
  }

  byName(username: string): User | null {
    return this.fromRow(this.s.byName.get(username));
  }

  byId(id: number): User | null {
    return this.fromRow(this.s.byId.get(id));
  }

  list(): User[] {
    return this.s.list.all().map((r) => this.fromRow(r)!);
  }

  count(): number {
    return this.s.count.get()!.n;
  }

  enabledAdmins(): number {
    return this.s.admins.get()!.n;
  }

  /** Create an account; the caller has validated the username and role. Returns the new id. */
  async create(username: string, role: Role, password: string, mustChange: boolean, now = Date.now()): Promise<number> {
    const hash = await hashPassword(password);
    const r = this.s.insert.run({ username, role, hash, must_change: mustChange ? 1 : 0, now });
    return Number(r.lastInsertRowid);
  }

  /** First start: create `superadmin` / `admin123`, usable only to set a new password. */
  async ensureBootstrapAdmin(now = Date.now()): Promise<boolean> {
    if (this.count() > 0) return false;
    const hash = await hashPassword(DEFAULT_ADMIN_PASSWORD);
    // Re-check inside a write transaction: another process may have raced us.
    return this.db.transaction(() => {
      if (this.count() > 0) return false;
      this.s.insert.run({ username: BOOTSTRAP_ADMIN, role: 'admin', hash, must_change: 1, now });
      return true;
    }).immediate();
  }

  /** Set a password (also clears the lockout). `mustChange` forces a change at next login. */
  async setPassword(id: number, password: string, mustChange: boolean, now = Date.now()): Promise<void> {
    const hash = await hashPassword(password);
    this.s.setPassword.run({ id, hash, must_change: mustChange ? 1 : 0, now });
  }

  setRole(id: number, role: Role): void {
    this.s.setRole.run(role, id);
  }

  setDisabled(id: number, disabled: boolean): void {
    this.s.setDisabled.run(disabled ? 1 : 0, id);
  }

  /**
   * Take one password or TOTP check for this account, right before making it: the check counts as a
   * failure at once (the LOCK_THRESHOLD-th consecutive one locks the account for LOCK_MS), and a
   * success clears the count (recordLogin, attemptSucceeded). One statement, so parallel checks —
   * from other requests or another process — cannot all pass a lock that is not written yet.
   * False when the account is locked: make no check then.
   */
  beginAttempt(id: number, now = Date.now()): boolean {
    return this.s.attempt.run({ id, now, threshold: LOCK_THRESHOLD, until: now + LOCK_MS }).changes === 1;
  }

  /** A check taken with beginAttempt succeeded without a login (re-entering the current password). */
  attemptSucceeded(id: number): void {
    this.s.resetLock.run(id);
  }

  unlock(id: number): void {
    this.s.resetLock.run(id);
  }

  recordLogin(id: number, now = Date.now()): void {
    this.s.success.run(now, id);
  }

  setTotp(id: number, secret: string | null, lastStep = 0): void {
    this.s.setTotp.run(secret === null ? null : this.seal.seal(secret, id), lastStep, id);
  }

  /** Record a used TOTP step; false when that step (or a later one) was already used — a replay. */
  useTotpStep(id: number, step: number): boolean {
    return this.s.totpStep.run(step, id, step).changes === 1;
  }
}

export function isLocked(u: User, now = Date.now()): boolean {
  return u.locked_until_ms > now;
}
