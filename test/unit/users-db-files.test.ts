// users.db holds password hashes: it and its -wal/-shm are 0600 whatever the umask, a file found
// wider than 0640 is narrowed when opened, and the folder created for it is not open to others.
import { chmodSync, closeSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { openUsersDb } from '../../src/users/users-db.js';

let dir: string;
let umask: number;
const mode = (p: string) => statSync(p).mode & 0o777;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'megalog-usersdb-'));
  umask = process.umask(0); // the worst case: nothing taken off by the process
});
afterEach(() => {
  process.umask(umask);
  rmSync(dir, { recursive: true, force: true });
});

test('users.db, -wal and -shm are created 0600 and its new folder 0750 under umask 0', () => {
  const path = join(dir, 'var', 'lib', 'users.db');
  const udb = openUsersDb(path);
  try {
    udb.audit({ user: 'x', source: 'test', action: 'login' }); // writes the WAL
    for (const f of [path, `${path}-wal`, `${path}-shm`]) expect(mode(f).toString(8), f).toBe('600');
    expect(mode(join(dir, 'var', 'lib')).toString(8)).toBe('750');
  } finally {
    udb.close();
  }
});

test('an existing users.db and -wal wider than 0640 are narrowed at open; 0640 is left alone', () => {
  const path = join(dir, 'users.db');
  for (const f of [path, `${path}-wal`]) {
    closeSync(openSync(f, 'w', 0o666));
    chmodSync(f, 0o666);
  }
  openUsersDb(path).close();
  expect(mode(path).toString(8)).toBe('640');
  chmodSync(path, 0o640);
  openUsersDb(path).close();
  expect(mode(path).toString(8)).toBe('640');
});
