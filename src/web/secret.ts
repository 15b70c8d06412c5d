// The key that signs session cookies and derives nothing else: deps.secretKey, else MEGALOG_SECRET_KEY
// (config/ leaves that variable to us, so this is the one place the web reads process.env), else a
// random key generated once and kept next to users.db as `secret.key`, mode 0600.
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StartError } from '../core/errors.js';
import { createFileOnce } from '../core/fs.js';

export const SECRET_MIN_CHARS = 32;

export class SecretKeyError extends StartError {
  constructor(message: string) {
    super('MEGALOG_ERR_SECRET_KEY', message);
  }
}

export function resolveSecretKey(explicit: string | undefined, usersDbPath: string): string {
  const fromEnv = explicit ?? process.env.MEGALOG_SECRET_KEY;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < SECRET_MIN_CHARS) {
      throw new SecretKeyError(`MEGALOG_SECRET_KEY: must have at least ${SECRET_MIN_CHARS} characters (e.g. openssl rand -hex 32)`);
    }
    return fromEnv;
  }
  const file = join(dirname(usersDbPath), 'secret.key');
  try {
    const key = readFileSync(file, 'utf8').trim();
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) console.warn(`megalog web: ${file} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
    if (key.length >= SECRET_MIN_CHARS) return key;
    throw new SecretKeyError(`${file}: too short; delete it to generate a new one (every session ends)`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  createFileOnce(file, `${randomBytes(32).toString('hex')}\n`, 0o600);
  return readFileSync(file, 'utf8').trim();
}
