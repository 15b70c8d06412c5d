// users.db: accounts, console sessions and the hash-chained audit log, in one small SQLite file.
//
// Durability: WAL with synchronous=FULL. The file is tiny and written a few times per console action,
// so every committed audit entry, password change and session survives a power cut (NORMAL could roll
// back the last commits, and an audit trail that forgets its last lines is the wrong trade here).
// The file (and SQLite's -wal/-shm siblings, which copy its mode) is created 0600 whatever the umask: it
// holds password hashes. A file found wider than 0640 (an older version, a copy, a hand-made `touch`)
// is narrowed at open — group read is the most an operator may grant, for a backup group — and a
// directory we create is 0750.
import { chmodSync, closeSync, existsSync, fchmodSync, fstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** Schema migrations, applied in order; `PRAGMA user_version` records how many ran. Never edit a shipped one. */
const MIGRATIONS: string[] = [
  `CREATE TABLE users (
     id INTEGER PRIMARY KEY,
     username TEXT NOT NULL UNIQUE,
     role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'auditor')),
     password_hash TEXT NOT NULL,
     must_change INTEGER NOT NULL DEFAULT 0,
     disabled INTEGER NOT NULL DEFAULT 0,
     failed_count INTEGER NOT NULL DEFAULT 0,
     locked_until_ms INTEGER NOT NULL DEFAULT 0,
     totp_secret TEXT,
     totp_last_step INTEGER NOT NULL DEFAULT 0,
     created_ms INTEGER NOT NULL,
     password_changed_ms INTEGER NOT NULL,
     last_login_ms INTEGER
   ) STRICT;
   CREATE TABLE sessions (
     id_hash TEXT PRIMARY KEY,
     user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
     data TEXT NOT NULL,
     expires_ms INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX sessions_user ON sessions(user_id);
   CREATE INDEX sessions_expires ON sessions(expires_ms);
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY,
     time_ms INTEGER NOT NULL,
     user TEXT NOT NULL,
     source TEXT NOT NULL,
     action TEXT NOT NULL,
     case_ref TEXT,
     justification TEXT,
     query TEXT,
     result_count INTEGER,
     prev_hash TEXT NOT NULL,
     hash TEXT NOT NULL
   ) STRICT;
   CREATE INDEX audit_time ON audit(time_ms);
   CREATE INDEX audit_user ON audit(user, id);
   CREATE INDEX audit_action ON audit(action, id);
   CREATE INDEX audit_case ON audit(case_ref, id);
   CREATE TABLE audit_head (
     one INTEGER PRIMARY KEY CHECK (one = 1),
     last_id INTEGER NOT NULL,
     last_hash TEXT NOT NULL,
     entries INTEGER NOT NULL
   ) STRICT;`,
];

/** users.db and its -wal/-shm as created: owner only. */
const FILE_MODE = 0o600;
/** The widest mode left as found. */
const MAX_MODE = 0o640;

/** Take off what MAX_MODE does not allow; a file we do not own (EPERM) is left as it is, with a warning. */
function narrow(path: string, mode: () => number, chmod: (mode: number) => void): void {
  const m = mode() & 0o777;
  if (!(m & ~MAX_MODE)) return;
  try {
    chmod(m & MAX_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    console.warn(`megalog: ${path} is mode ${m.toString(8)} and not ours to change; chmod 600 it`);
  }
}

export interface OpenOptions {
  readonly?: boolean;
}

/** Open (creating and migrating when needed) the users database at `path`. */
export function openUsersDatabase(path: string, opts: OpenOptions = {}): Db {
  if (!opts.readonly && path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    // Create with 0600 before SQLite does (it would use 0644 and the umask).
    const fd = openSync(path, 'a', FILE_MODE);
    try {
      narrow(path, () => fstatSync(fd).mode, (m) => fchmodSync(fd, m));
    } finally {
      closeSync(fd);
    }
    // SQLite gives -wal/-shm the main file's mode only when it creates them.
    for (const sibling of [`${path}-wal`, `${path}-shm`]) {
      if (existsSync(sibling)) narrow(sibling, () => statSync(sibling).mode, (m) => chmodSync(sibling, m));
    }
  }
  const db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  db.pragma('busy_timeout = 5000');
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  }
  return db;
}

function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`users.db schema version ${version} is newer than this MegaLog knows (${MIGRATIONS.length})`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
