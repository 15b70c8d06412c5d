// The audit log's keyed hash chain (`verifyAuditChain`, `megalog verify --audit [--head]`, its key in
// audit.key) and the `megalog user …` commands that maintain accounts from the shell.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { loadConfig, type Config } from '../../src/config/load.js';
import { canonical, chainHash, formatHead, GENESIS, runVerifyAudit, type AuditRow } from '../../src/users/audit.js';
import { readAuditKey } from '../../src/users/audit-key.js';
import { openUsersDb, verifyAuditChain, type UsersDb } from '../../src/users/users-db.js';
import { runUserCommand } from '../../src/commands/user.js';

let dir: string;
let config: Config;
let udb: UsersDb;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'megalog-audit-'));
  config = loadConfig({ file: null, env: {}, overrides: { users_db_path: join(dir, 'users.db') } });
  udb = openUsersDb(config.users_db_path);
  const t0 = Date.UTC(2026, 2, 5, 13, 0, 0);
  for (let i = 1; i <= 6; i++) {
    udb.audit({
      user: i % 2 ? 'ana' : 'superadmin',
      source: '127.0.0.1',
      action: i === 4 ? 'search' : 'login',
      case_ref: i === 4 ? 'PROC-0001234-56.2026.8.26.0100' : null,
      justification: i === 4 ? 'Ofício 123/2026' : null,
      query: i === 4 ? { nat_ip: '203.0.113.7', nat_port: 40312, at: '2026-03-05T10:11:12-03:00' } : null,
      result_count: i === 4 ? 1 : null,
      time_ms: t0 + i * 1000,
    });
  }
});
afterEach(() => {
  udb.close();
  rmSync(dir, { recursive: true, force: true });
});

const sql = (s: string, ...args: unknown[]) => udb.db.prepare(s).run(...args);
const key = () => readAuditKey(config.users_db_path, {})!;

/**
 * What someone with write access to users.db but not the key can do: change entry `id`, recompute its
 * hash and every later one with `hash(prev, canonical)`, and set audit_head to match.
 */
function rewriteFrom(id: number, change: Partial<AuditRow>, hash: (prev: string, canon: string) => string) {
  const rows = udb.db.prepare('SELECT * FROM audit WHERE id >= ? ORDER BY id').all(id) as AuditRow[];
  let prev = (udb.db.prepare('SELECT hash FROM audit WHERE id < ? ORDER BY id DESC LIMIT 1').pluck().get(id) as string | undefined) ?? GENESIS;
  for (const r of rows) {
    const row = { ...r, ...(r.id === id ? change : {}), prev_hash: prev };
    row.hash = hash(prev, canonical(row));
    sql('UPDATE audit SET user = @user, case_ref = @case_ref, justification = @justification, prev_hash = @prev_hash, hash = @hash WHERE id = @id', row);
    prev = row.hash;
  }
  sql('UPDATE audit_head SET last_hash = ?', prev);
}

function capture() {
  let text = '';
  return { write: (s: string) => (text += s), get text() { return text; } };
}

describe('verifyAuditChain', () => {
  test('an untouched log verifies', () => {
    const r = verifyAuditChain(udb.db, key());
    expect(r).toMatchObject({ ok: true, entries: 6, problems: [] });
    expect(r.head!.id).toBe(6);
  });

  test('an edited entry is reported', () => {
    sql("UPDATE audit SET case_ref = 'PROC-9999' WHERE id = 4");
    const r = verifyAuditChain(udb.db, key());
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual(['entry #4: its contents do not match its hash (edited)']);
  });

  test('an edited entry whose hash was recomputed still breaks the next link', () => {
    const row = udb.db.prepare('SELECT * FROM audit WHERE id = 3').get() as Record<string, unknown>;
    const changed = { ...row, user: 'mallory' };
    sql('UPDATE audit SET user = ?, hash = ? WHERE id = 3', 'mallory', chainHash(key(), row.prev_hash as string, canonical(changed as never)));
    const r = verifyAuditChain(udb.db, key());
    expect(r.ok).toBe(false);
    expect(r.problems).toContain('the chain breaks between #3 and #4: an entry was deleted or edited there');
  });

  test('a deleted entry is reported', () => {
    sql('DELETE FROM audit WHERE id = 3');
    const r = verifyAuditChain(udb.db, key());
    expect(r.problems).toContain('entry #3 is missing (deleted)');
    expect(r.problems).toContain('the log should hold 6 entries but holds 5');
  });

  test('a deletion hidden by renumbering is still reported', () => {
    sql('DELETE FROM audit WHERE id = 3');
    for (const id of [4, 5, 6]) sql('UPDATE audit SET id = ? WHERE id = ?', id - 1, id);
    const r = verifyAuditChain(udb.db, key());
    expect(r.ok).toBe(false);
    expect(r.problems).toContain('the chain breaks between #2 and #3: an entry was deleted or edited there');
    expect(r.problems.some((p) => p.startsWith('the log should end at entry #6'))).toBe(true);
  });

  test('deleting the newest entries is reported', () => {
    sql('DELETE FROM audit WHERE id >= 5');
    const r = verifyAuditChain(udb.db, key());
    expect(r.problems.some((p) => p.startsWith('the log should end at entry #6') && p.includes('ends at #4'))).toBe(true);
  });

  test('reordered entries are reported', () => {
    // Swap rows 3 and 4 wholesale (each keeps its own valid hash; only their order changes).
    const cols = 'time_ms, user, source, action, case_ref, justification, query, result_count, prev_hash, hash';
    const r3 = udb.db.prepare(`SELECT ${cols} FROM audit WHERE id = 3`).get() as Record<string, unknown>;
    const r4 = udb.db.prepare(`SELECT ${cols} FROM audit WHERE id = 4`).get() as Record<string, unknown>;
    const set = udb.db.prepare(`UPDATE audit SET ${cols.split(', ').map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`);
    set.run({ ...r4, id: 3 });
    set.run({ ...r3, id: 4 });
    const r = verifyAuditChain(udb.db, key());
    expect(r.ok).toBe(false);
    expect(r.problems).toContain('entry #3 was written right after entry #4, not #2 (reordered)');
    expect(r.problems).toContain('entry #4 was written right after entry #2, not #3 (reordered)');
    expect(r.problems.every((p) => !p.includes('edited'))).toBe(true);
  });

  test('a rewritten entry with every later hash and the head recomputed as plain SHA-256 is reported', () => {
    rewriteFrom(4, { case_ref: 'PROC-9999' }, (prev, canon) => createHash('sha256').update(prev + canon).digest('hex'));
    const r = verifyAuditChain(udb.db, key());
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([4, 5, 6].map((id) => `entry #${id}: its contents do not match its hash (edited)`));
  });

  test('a rewrite under another key is reported the same way', () => {
    rewriteFrom(2, { user: 'mallory' }, (prev, canon) => chainHash(Buffer.from('x'.repeat(64)), prev, canon));
    expect(verifyAuditChain(udb.db, key()).problems).toHaveLength(5);
  });

  test('the last entry deleted and the head rewritten passes alone but fails against the published head', () => {
    const published = udb.head();
    expect(published).toMatchObject({ id: 6, entries: 6 });
    const h5 = udb.db.prepare('SELECT hash FROM audit WHERE id = 5').pluck().get() as string;
    sql('DELETE FROM audit WHERE id = 6');
    sql('UPDATE audit_head SET last_id = 5, last_hash = ?, entries = 5', h5);
    expect(verifyAuditChain(udb.db, key()).ok).toBe(true); // nothing inside the file shows it
    const r = verifyAuditChain(udb.db, key(), published);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([`the published head #6 (hash ${published.hash.slice(0, 16)}…) is not in the log (it ends at #5): entries were deleted`]);
    // An older head is still there: verification against it holds.
    expect(verifyAuditChain(udb.db, key(), { id: 5, hash: h5 }).ok).toBe(true);
  });

  test('an entry rewritten by a key holder no longer matches a head published after it', () => {
    const published = udb.head();
    rewriteFrom(6, { justification: 'changed' }, (prev, canon) => chainHash(key(), prev, canon));
    expect(verifyAuditChain(udb.db, key()).ok).toBe(true);
    expect(verifyAuditChain(udb.db, key(), published).problems[0]).toMatch(/^the published head #6 \(hash [0-9a-f]{16}…\) does not match entry #6/);
  });

  test('new entries after a verification keep extending the same chain', () => {
    udb.audit({ user: 'x', source: 'local', action: 'export', query: { rows: 1 } });
    expect(verifyAuditChain(udb.db, key()).ok).toBe(true);
  });
});

describe('the audit key', () => {
  test('is generated once, 0600 beside users.db, and keys the chain', () => {
    const file = join(dir, 'audit.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    const row = udb.db.prepare('SELECT * FROM audit WHERE id = 1').get() as AuditRow;
    expect(row.hash).toBe(chainHash(Buffer.from(readFileSync(file, 'utf8').trim()), GENESIS, canonical(row)));
    expect(row.hash).not.toBe(createHash('sha256').update(GENESIS + canonical(row)).digest('hex'));
  });

  test('a log with entries and no key refuses to open rather than start a new key', () => {
    udb.close();
    unlinkSync(join(dir, 'audit.key'));
    expect(() => openUsersDb(config.users_db_path)).toThrow(expect.objectContaining({ code: 'MEGALOG_ERR_AUDIT_KEY', message: expect.stringContaining('holds 6 entries but its key') }));
    const out = capture();
    expect(runVerifyAudit(config, out, { env: {} })).toBe(2);
    expect(out.text).toContain('cannot check the chain: its key');
    udb = openUsersDb(config.users_db_path, { auditEnabled: false });
  });

  test('MEGALOG_AUDIT_KEY is used instead of the file; a short one is refused', () => {
    const env = { MEGALOG_AUDIT_KEY: 'k'.repeat(40) };
    expect(readAuditKey(config.users_db_path, env)).toEqual(Buffer.from('k'.repeat(40)));
    expect(runVerifyAudit(config, capture(), { env })).toBe(1); // the chain was written under audit.key
    expect(() => readAuditKey(config.users_db_path, { MEGALOG_AUDIT_KEY: 'short' })).toThrow(/at least 32 characters/);
    writeFileSync(join(dir, 'audit.key'), 'short\n');
    expect(() => readAuditKey(config.users_db_path, {})).toThrow(/at least 32 characters/);
  });
});

describe('megalog verify --audit (runVerifyAudit)', () => {
  test('exit 0 and the head hash when intact, 1 with each problem when not, 2 when users.db is missing', () => {
    const ok = capture();
    expect(runVerifyAudit(config, ok)).toBe(0);
    expect(ok.text).toMatch(/audit: OK — 6 entries, chain intact \(last entry #6, hash [0-9a-f]{64}\)/);

    sql("UPDATE audit SET justification = 'changed' WHERE id = 4");
    sql('DELETE FROM audit WHERE id = 2');
    const bad = capture();
    expect(runVerifyAudit(config, bad)).toBe(1);
    expect(bad.text).toContain('audit: FAILED');
    expect(bad.text).toContain('  - entry #2 is missing (deleted)');
    expect(bad.text).toContain('  - entry #4: its contents do not match its hash (edited)');

    const missing = capture();
    expect(runVerifyAudit({ ...config, users_db_path: join(dir, 'nope', 'users.db') }, missing)).toBe(2);
    expect(missing.text).toContain('cannot open');
  });

  test('--head: exit 0 while the published head is in the chain, 1 once the log was cut before it', () => {
    const published = udb.head();
    const ok = capture();
    expect(runVerifyAudit(config, ok, { head: published })).toBe(0);
    expect(ok.text).toContain(`audit: the published head ${formatHead(published)} is in the chain`);
    const h4 = udb.db.prepare('SELECT hash FROM audit WHERE id = 4').pluck().get() as string;
    sql('DELETE FROM audit WHERE id > 4');
    sql('UPDATE audit_head SET last_id = 4, last_hash = ?, entries = 4', h4);
    expect(runVerifyAudit(config, capture())).toBe(0);
    const bad = capture();
    expect(runVerifyAudit(config, bad, { head: published })).toBe(1);
    expect(bad.text).toContain(`  - the published head #6 (hash ${published.hash.slice(0, 16)}…) is not in the log (it ends at #4): entries were deleted`);
  });
});

describe('megalog user (runUserCommand)', () => {
  function io(stdin = '') {
    const out = capture();
    const err = capture();
    return { stdin: Readable.from([stdin]), stdout: out, stderr: err, out, err };
  }

  test('add, list, passwd, disable, enable, unlock', async () => {
    udb.close();
    let x = io('a long enough password\n');
    expect(await runUserCommand(config, ['add', 'carol', '--role', 'auditor', '--password-stdin'], x)).toBe(0);
    expect(x.out.text).toBe('user carol created (auditor)\n');

    x = io();
    expect(await runUserCommand(config, ['list', '--json'], x)).toBe(0);
    expect(JSON.parse(x.out.text)).toEqual([
      { username: 'carol', role: 'auditor', disabled: false, locked: false, must_change: false, totp: false, last_login: null },
    ]);

    x = io('short\n');
    expect(await runUserCommand(config, ['passwd', 'carol', '--password-stdin'], x)).toBe(1);
    expect(x.err.text).toContain('at least 10 characters');

    x = io('another long password\n');
    expect(await runUserCommand(config, ['passwd', 'carol', '--password-stdin', '--temporary'], x)).toBe(0);

    x = io();
    expect(await runUserCommand(config, ['disable', 'carol'], x)).toBe(0);
    x = io();
    expect(await runUserCommand(config, ['list'], x)).toBe(0);
    expect(x.out.text).toMatch(/^USER\s+ROLE\s+STATE/);
    expect(x.out.text).toMatch(/carol\s+auditor\s+disabled,must-change\s+no\s+-/);
    expect(await runUserCommand(config, ['enable', 'carol'], io())).toBe(0);
    expect(await runUserCommand(config, ['unlock', 'carol'], io())).toBe(0);

    udb = openUsersDb(config.users_db_path);
    const actions = udb.db.prepare("SELECT action FROM audit WHERE user LIKE 'cli:%' ORDER BY id").all().map((r) => (r as { action: string }).action);
    expect(actions).toEqual(['user_create', 'user_reset_password', 'user_disable', 'user_enable', 'user_unlock']);
    expect(verifyAuditChain(udb.db, key()).ok).toBe(true);
  });

  test('refusals and usage errors', async () => {
    udb.close();
    const pw = 'a long enough password\n';
    expect(await runUserCommand(config, ['add', 'root', '--role', 'admin', '--password-stdin'], io(pw))).toBe(0);
    let x = io(pw);
    expect(await runUserCommand(config, ['add', 'root', '--password-stdin'], x)).toBe(1);
    expect(x.err.text).toContain('already exists');
    x = io(pw);
    expect(await runUserCommand(config, ['add', 'Bad Name!', '--password-stdin'], x)).toBe(2);
    expect(x.err.text).toContain('a user name has 3 to 32 characters');
    x = io(pw);
    expect(await runUserCommand(config, ['add', 'dave', '--role', 'god', '--password-stdin'], x)).toBe(2);
    x = io();
    expect(await runUserCommand(config, ['disable', 'root'], x)).toBe(1);
    expect(x.err.text).toContain('last enabled admin');
    x = io();
    expect(await runUserCommand(config, ['frobnicate'], x)).toBe(2);
    expect(x.err.text).toContain('usage:');
    x = io();
    expect(await runUserCommand(config, ['passwd', 'ghost', '--password-stdin'], x)).toBe(1);
    // Not a terminal and no --password-stdin: refuse rather than hang.
    x = io();
    expect(await runUserCommand(config, ['add', 'erin'], x)).toBe(2);
    expect(x.err.text).toContain('use --password-stdin');
    udb = openUsersDb(config.users_db_path);
  });
});
