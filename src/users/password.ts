// Password hashing (scrypt, RFC 7914, from Node's own OpenSSL: N = 2^15, r = 8, p = 3, OWASP's
// equivalent of its N = 2^17 minimum; 32 MiB a hash, a 16-byte salt, 32 bytes out) and policy. Node
// has no argon2 before version 24; scrypt is the other memory-hard function OWASP lists, and it
// needs no binary from outside the runtime. Stored as
// `$scrypt$ln=15,r=8,p=3$<salt>$<hash>` (base64, no padding), so the cost can rise later.
// Hashing runs on libuv's thread pool; at most HASH_CONCURRENCY run at once so a burst of logins
// cannot take the CPU (and 32 MiB each) away from the processor sharing this machine. Waiting is
// shared fairly between clients (hash-queue.ts), keyed by the caller's address.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { FairQueue } from './hash-queue.js';

export { HashBusyError } from './hash-queue.js';

const COST = { ln: 15, r: 8, p: 3 } as const;
const KEY_BYTES = 32;
/** scrypt needs 128·N·r bytes; Node refuses above maxmem (32 MiB by default). */
const MAXMEM = 256 << 20;

function derive(password: string, salt: Buffer, c: { ln: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, { N: 2 ** c.ln, r: c.r, p: c.p, maxmem: MAXMEM }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

async function hash(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST);
  return `$scrypt$ln=${COST.ln},r=${COST.r},p=${COST.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Whether `password` matches `stored`; throws on a malformed hash (or costs no one would set: a tampered row). */
async function verify(stored: string, password: string): Promise<boolean> {
  const m = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{32,128})$/.exec(stored);
  if (!m) throw new Error('not a scrypt hash');
  const c = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (c.ln < 14 || c.ln > 20 || c.r < 1 || c.r > 16 || c.p < 1 || c.p > 16 || 128 * 2 ** c.ln * c.r > MAXMEM) throw new Error('scrypt cost out of bounds');
  const want = Buffer.from(m[5]!, 'base64url');
  const got = await derive(password, Buffer.from(m[4]!, 'base64url'), c);
  return got.length === want.length && timingSafeEqual(got, want);
}
const HASH_CONCURRENCY = 2;
const HASH_QUEUE_MAX = 64;
/** Queue key of work that comes from no network client (the CLI, the first-start account). */
export const LOCAL_KEY = 'local';

export const PASSWORD_MIN_LENGTH = 10;
/** Longer inputs are refused before hashing (the hash's cost does not depend on length, but bodies do). */
export const PASSWORD_MAX_LENGTH = 256;
/** The first-start password of `superadmin`; it only opens the forced change page. */
export const DEFAULT_ADMIN_PASSWORD = 'admin123';

const queue = new FairQueue(HASH_CONCURRENCY, HASH_QUEUE_MAX);

/** Hash a new password; `key` is the requester's address key (fair queueing). */
export function hashPassword(password: string, key = LOCAL_KEY): Promise<string> {
  return queue.run(key, () => hash(password));
}

/** What a password check found: `refused` when its claim failed (account locked) and nothing was checked. */
export type CheckResult = 'ok' | 'wrong' | 'refused';

let dummy: Promise<string> | null = null;
/** A hash of a random password: checked against when there is no account, so timing tells nothing. */
function dummyHash(): Promise<string> {
  dummy ??= hash(randomBytes(16).toString('hex'));
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
