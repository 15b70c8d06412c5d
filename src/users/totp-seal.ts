// TOTP secrets at rest: AES-256-GCM under a key kept in `totp.key` beside users.db, never in it, so a
// copy of users.db (a backup, a stolen disk image without that file) does not carry second factors.
// Stored form: `v1.<iv>.<tag>.<ciphertext>`, base64url, with the user id as associated data (a
// secret copied onto another account does not open).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { readKeyFile, readOrCreateKeyFile } from '../core/keyfile.js';

export const TOTP_KEY_FILE = 'totp.key';

export class TotpSeal {
  private key: Buffer | null = null;

  constructor(private readonly usersDbPath: string | null) {}

  private keyFor(create: boolean): Buffer | null {
    if (this.key) return this.key;
    if (!this.usersDbPath) return null;
    const path = join(dirname(this.usersDbPath), TOTP_KEY_FILE);
    const kf = create ? readOrCreateKeyFile(path) : readKeyFile(path);
    if (kf?.warning) console.warn(`megalog: ${kf.warning}`);
    this.key = kf ? Buffer.from(kf.key, 'hex') : null;
    return this.key;
  }

  seal(secret: string, userId: number): string {
    const key = this.keyFor(true);
    if (!key) throw new Error('no TOTP key: users.db is in memory');
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(Buffer.from(String(userId)));
    const ct = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
    return ['v1', iv.toString('base64url'), c.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  /** The secret, or null when it cannot be opened (no key file, another key, a row edited). */
  open(stored: string, userId: number): string | null {
    const [v, iv, tag, ct] = stored.split('.');
    const key = this.keyFor(false);
    if (v !== 'v1' || !iv || !tag || ct === undefined || !key) return null;
    try {
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      d.setAAD(Buffer.from(String(userId)));
      d.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}
