// Password hashing (argon2id, RFC 9106's second recommended profile: 64 MiB, 3 passes) and policy.
// Hashing runs on libuv's thread pool; at most HASH_CONCURRENCY run at once so a burst of logins
// cannot take the CPU (and 64 MiB each) away from the processor sharing this machine.
import { hash, verify, type Options } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { MEGALOG_ERR_HASH_BUSY } from '../core/errors.js';

const ARGON2: Options = { algorithm: 2 /* Argon2id */, memoryCost: 65536, timeCost: 3, parallelism: 1 };
const HASH_CONCURRENCY = 2;
const HASH_QUEUE_MAX = 64;

export const PASSWORD_MIN_LENGTH = 10;
/** Longer inputs are refused before hashing (argon2 cost does not depend on length, but bodies do). */
export const PASSWORD_MAX_LENGTH = 256;
/** The first-start password of `superadmin`; it only opens the forced change page. */
export const DEFAULT_ADMIN_PASSWORD = 'admin123';

/** Thrown when too many hashes are already waiting: answer "try again" rather than queue without end. */
export class HashBusyError extends Error {
  readonly code = MEGALOG_ERR_HASH_BUSY;
  constructor() {
    super('too many password checks in progress');
  }
}

let running = 0;
const waiting: Array<() => void> = [];

async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= HASH_CONCURRENCY) {
    if (waiting.length >= HASH_QUEUE_MAX) throw new HashBusyError();
    await new Promise<void>((resolve) => waiting.push(resolve));
  }
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

export function hashPassword(password: string): Promise<string> {
  return limited(() => hash(password, ARGON2));
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  return limited(async () => {
    try {
      return await verify(stored, password);
    } catch {
      return false; // a malformed stored hash never authenticates
    }
  });
}

let dummy: Promise<string> | null = null;
/** Spend the same time as a real check when there is no account to check against (no timing oracle). */
export async function verifyDummy(password: string): Promise<false> {
  dummy ??= hash(randomBytes(16).toString('hex'), ARGON2);
  await verifyPassword(await dummy, password);
  return false;
}

/** Policy problems as i18n keys (empty when the password is acceptable). */
export function passwordProblems(password: string, ctx: { username: string; current?: string }): string[] {
  const p: string[] = [];
  if (password.length < PASSWORD_MIN_LENGTH) p.push('pw.too_short');
  if (password.length > PASSWORD_MAX_LENGTH) p.push('pw.too_long');
  if (password.toLowerCase() === ctx.username.toLowerCase()) p.push('pw.is_username');
  if (password === DEFAULT_ADMIN_PASSWORD) p.push('pw.is_default');
  if (ctx.current !== undefined && password === ctx.current) p.push('pw.same_as_current');
  return p;
}

/** A temporary password for new accounts and admin resets: 20 characters, no look-alikes (~100 bits). */
export function temporaryPassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY346789';
  const bytes = randomBytes(40);
  let out = '';
  for (const b of bytes) {
    if (b >= 255 - (255 % alphabet.length)) continue; // reject to stay uniform
    out += alphabet[b % alphabet.length];
    if (out.length === 20) break;
  }
  return out.length === 20 ? out : temporaryPassword();
}
