// Password hashing (argon2id, RFC 9106's second recommended profile: 64 MiB, 3 passes) and policy.
// Hashing runs on libuv's thread pool; at most HASH_CONCURRENCY run at once so a burst of logins
// cannot take the CPU (and 64 MiB each) away from the processor sharing this machine. Waiting is
// shared fairly between clients (hash-queue.ts), keyed by the caller's address.
import { hash, verify, type Options } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { FairQueue } from './hash-queue.js';

export { HashBusyError } from './hash-queue.js';

const ARGON2: Options = { algorithm: 2 /* Argon2id */, memoryCost: 65536, timeCost: 3, parallelism: 1 };
const HASH_CONCURRENCY = 2;
const HASH_QUEUE_MAX = 64;
/** Queue key of work that comes from no network client (the CLI, the first-start account). */
export const LOCAL_KEY = 'local';

export const PASSWORD_MIN_LENGTH = 10;
/** Longer inputs are refused before hashing (argon2 cost does not depend on length, but bodies do). */
export const PASSWORD_MAX_LENGTH = 256;
/** The first-start password of `superadmin`; it only opens the forced change page. */
export const DEFAULT_ADMIN_PASSWORD = 'admin123';

const queue = new FairQueue(HASH_CONCURRENCY, HASH_QUEUE_MAX);

/** Hash a new password; `key` is the requester's address key (fair queueing). */
export function hashPassword(password: string, key = LOCAL_KEY): Promise<string> {
  return queue.run(key, () => hash(password, ARGON2));
}

/** What a password check found: `refused` when its claim failed (account locked) and nothing was checked. */
export type CheckResult = 'ok' | 'wrong' | 'refused';

let dummy: Promise<string> | null = null;
/** A hash of a random password: checked against when there is no account, so timing tells nothing. */
function dummyHash(): Promise<string> {
  dummy ??= hash(randomBytes(16).toString('hex'), ARGON2);
  return dummy;
}

/**
 * Check `password` against `stored` (null: no such account, a dummy hash is checked instead). `claim`
 * runs when this check's turn to hash comes, synchronously, and takes the account's attempt (see
 * Users.beginAttempt): when it returns false the same time is spent on the dummy and the answer is
 * `refused`. Taking the attempt there, not after the hash, is what keeps parallel tries under the
 * lockout; taking it there, not on arrival, keeps a try turned away by a full queue from counting.
 * `key` is the requester's address key (fair queueing). Rejects with HashBusyError when refused a place.
 */
export async function checkPassword(stored: string | null, password: string, key = LOCAL_KEY, claim: () => boolean = () => true): Promise<CheckResult> {
  const fallback = await dummyHash();
  return queue.run(key, async () => {
    const real = stored !== null && claim();
    try {
      const ok = await verify(real ? stored : fallback, password);
      return !real ? 'refused' : ok ? 'ok' : 'wrong';
    } catch {
      return real ? 'wrong' : 'refused'; // a malformed stored hash never authenticates
    }
  });
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
