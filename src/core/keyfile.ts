// Key files kept beside users.db but apart from it (a copy of the database alone does not carry
// them): one random key per purpose, hex text, mode 0600, created once (core/fs.ts createFileOnce:
// a crash never leaves half a key to be read back).
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createFileOnce } from './fs.js';

export interface KeyFile {
  /** The key as written (hex). */
  key: string;
  /** A warning for the operator when the file is readable by others, else null. */
  warning: string | null;
}

/** The key in `path`, or null when there is none. */
export function readKeyFile(path: string): KeyFile | null {
  let key: string;
  try {
    key = readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const mode = statSync(path).mode & 0o777;
  return { key, warning: mode & 0o077 ? `${path} is readable by others (mode ${mode.toString(8)}); chmod 600 it` : null };
}

/** The key in `path`, created with `bytes` random bytes when absent (of two creators at once, one wins). */
export function readOrCreateKeyFile(path: string, bytes = 32): KeyFile {
  const found = readKeyFile(path);
  if (found) return found;
  createFileOnce(path, `${randomBytes(bytes).toString('hex')}\n`, 0o600);
  return readKeyFile(path)!;
}
