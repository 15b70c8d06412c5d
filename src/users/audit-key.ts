// The key of the audit chain's HMAC (audit.ts), kept apart from users.db so that whoever can write
// users.db (a copy, a restore, SQL access) cannot recompute the chain: MEGALOG_AUDIT_KEY, else
// `audit.key` beside users.db (mode 0600), generated on first use. Losing it makes the existing chain
// unverifiable, so it is never generated again while the log holds entries: keep a copy off the box.
// Like MEGALOG_SECRET_KEY (web/secret.ts), config/ leaves MEGALOG_AUDIT_KEY to this file.
import { dirname, join } from 'node:path';
import { StartError } from '../core/errors.js';
import { readKeyFile, readOrCreateKeyFile } from '../core/keyfile.js';

export const AUDIT_KEY_MIN_CHARS = 32;
export const AUDIT_KEY_FILE = 'audit.key';

/** Where the key lives when MEGALOG_AUDIT_KEY is not set. */
export function auditKeyPath(usersDbPath: string): string {
  return join(dirname(usersDbPath), AUDIT_KEY_FILE);
}

/** The key, or null when neither MEGALOG_AUDIT_KEY nor the file exists (never creates it: verification). */
export function readAuditKey(usersDbPath: string, env: NodeJS.ProcessEnv = process.env): Buffer | null {
  const fromEnv = env.MEGALOG_AUDIT_KEY;
  if (fromEnv !== undefined && fromEnv !== '') return checked(fromEnv, 'MEGALOG_AUDIT_KEY');
  const file = auditKeyPath(usersDbPath);
  let kf;
  try {
    kf = readKeyFile(file);
  } catch (err) {
    throw new StartError('MEGALOG_ERR_AUDIT_KEY', `${file}: ${(err as Error).message}`);
  }
  if (!kf) return null;
  if (kf.warning) console.warn(`megalog: ${kf.warning}`);
  return checked(kf.key, file);
}

/**
 * The key for writing: read, or generated into `audit.key` when the log is still empty. A log with
 * entries and no key is an error, not a new key (every existing entry would then fail to verify).
 */
export function auditKeyForWriting(usersDbPath: string, entries: number, env: NodeJS.ProcessEnv = process.env): Buffer {
  const key = readAuditKey(usersDbPath, env);
  if (key) return key;
  const file = auditKeyPath(usersDbPath);
  if (entries > 0) {
    throw new StartError('MEGALOG_ERR_AUDIT_KEY', `the audit log holds ${entries} entries but its key ${file} is missing: put it back (or set MEGALOG_AUDIT_KEY)`);
  }
  readOrCreateKeyFile(file);
  return readAuditKey(usersDbPath, env)!;
}

function checked(text: string, from: string): Buffer {
  if (text.length < AUDIT_KEY_MIN_CHARS) {
    throw new StartError('MEGALOG_ERR_AUDIT_KEY', `${from}: must have at least ${AUDIT_KEY_MIN_CHARS} characters (e.g. openssl rand -hex 32)`);
  }
  return Buffer.from(text, 'utf8');
}
