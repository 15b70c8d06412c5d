// TOTP secrets are encrypted at rest under totp.key, which lives beside users.db and not in it: the
// database file alone (a backup, a copied disk image) does not give anyone the second factor.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, test } from 'vitest';
import { newTotpSecret, totpCode, verifyTotp } from '../../src/users/totp.js';
import { openUsersDb } from '../../src/users/users-db.js';

const dir = mkdtempSync(join(tmpdir(), 'megalog-totp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a TOTP secret is stored sealed, opens with totp.key, and not without it', async () => {
  const path = join(dir, 'a', 'users.db');
  const udb = openUsersDb(path);
  const id = await udb.users.create('analista1', 'analyst', 'uma senha longa 123', false);
  const secret = newTotpSecret();
  udb.users.setTotp(id, secret);
  const now = Date.now();
  expect(udb.users.byId(id)!.totp_secret).toBe(secret);
  expect(verifyTotp(udb.users.byId(id)!.totp_secret!, totpCode(secret, now), now, 0)).not.toBeNull();
  udb.close();

  // on disk: neither the secret nor its base32 text is in users.db; the key file is 0600
  const raw = new Database(path, { readonly: true }).prepare('SELECT totp_secret FROM users WHERE id = ?').pluck().get(id) as string;
  expect(raw).toMatch(/^v1\./);
  expect(raw).not.toContain(secret);
  expect(readFileSync(path).includes(Buffer.from(secret))).toBe(false);
  expect(statSync(join(dir, 'a', 'totp.key')).mode & 0o777).toBe(0o600);

  // users.db copied without its key: the account keeps a second factor that no code opens
  mkdirSync(join(dir, 'b'));
  copyFileSync(path, join(dir, 'b', 'users.db'));
  const stolen = openUsersDb(join(dir, 'b', 'users.db'));
  const u = stolen.users.byId(id)!;
  expect(u.totp_secret).not.toBeNull();
  expect(u.totp_secret).not.toBe(secret);
  expect(verifyTotp(u.totp_secret!, totpCode(secret, now), now, 0)).toBeNull();
  stolen.close();
});

test('a sealed secret moved onto another account does not open', async () => {
  const udb = openUsersDb(join(dir, 'c', 'users.db'));
  const a = await udb.users.create('analista2', 'analyst', 'uma senha longa 123', false);
  const b = await udb.users.create('analista3', 'analyst', 'uma senha longa 123', false);
  udb.users.setTotp(a, newTotpSecret());
  udb.db.prepare('UPDATE users SET totp_secret = (SELECT totp_secret FROM users WHERE id = ?) WHERE id = ?').run(a, b);
  expect(udb.users.byId(b)!.totp_secret).toBe('!');
  udb.close();
});
