// `megalog user add|passwd|disable|enable|unlock|list`: account maintenance from the shell, e.g. to
// regain access when every admin is locked out. Each change is written to the audit log as `cli:<os user>`.
import { userInfo } from 'node:os';
import type { Config } from '../config/load.js';
import { openUsersDb, type UsersDb } from '../users/users-db.js';
import { passwordProblems } from '../users/password.js';
import { isRole, ROLES, type Role } from '../users/roles.js';
import { USERNAME_RE, isLocked } from '../users/users.js';

export interface CliIo {
  stdin: NodeJS.ReadStream | NodeJS.ReadableStream;
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

const USAGE = `usage:
  megalog user add NAME [--role admin|analyst|auditor] [--password-stdin] [--temporary]
  megalog user passwd NAME [--password-stdin] [--temporary]
  megalog user disable NAME
  megalog user enable NAME
  megalog user unlock NAME
  megalog user list [--json]
The password is read from standard input with --password-stdin (one line), otherwise asked on the terminal.
--temporary makes the user choose a new password at the next login.
`;

const POLICY_TEXT: Record<string, string> = {
  'pw.too_short': 'the password must have at least 10 characters',
  'pw.too_long': 'the password must have at most 256 characters',
  'pw.is_username': 'the password must not be the user name',
  'pw.is_default': 'the password must not be the default password',
  'pw.same_as_current': 'the new password must differ from the current one',
};

/** Run one `megalog user …` command; returns the exit code (0 ok, 1 refused, 2 usage). */
export async function runUserCommand(config: Config, args: string[], io: CliIo = process): Promise<number> {
  const [cmd, ...rest] = args;
  const flags = new Set(rest.filter((a) => a.startsWith('--')));
  const positional: string[] = [];
  let role: string | null = null;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--role') role = rest[++i] ?? '';
    else if (a.startsWith('--role=')) role = a.slice('--role='.length);
    else if (!a.startsWith('--')) positional.push(a);
  }
  const known = new Set(['--password-stdin', '--temporary', '--json', '--role']);
  const unknown = [...flags].filter((f) => !known.has(f) && !f.startsWith('--role='));
  const fail = (msg: string, code = 2) => {
    io.stderr.write(`megalog user: ${msg}\n${code === 2 ? USAGE : ''}`);
    return code;
  };
  if (!cmd || cmd === 'help' || cmd === '--help') {
    io.stdout.write(USAGE);
    return cmd ? 0 : 2;
  }
  if (unknown.length) return fail(`unknown option ${unknown.join(', ')}`);

  const needsName = ['add', 'passwd', 'disable', 'enable', 'unlock'];
  if (!needsName.includes(cmd) && cmd !== 'list') return fail(`unknown command "${cmd}"`);
  if (needsName.includes(cmd) && positional.length !== 1) return fail(`${cmd} takes exactly one user name`);

  const udb = openUsersDb(config.users_db_path, { auditEnabled: config.enable_audit_log });
  try {
    const actor = `cli:${safeOsUser()}`;
    const audit = (action: string, query: unknown) => udb.audit({ user: actor, source: 'local', action, query });
    const name = positional[0] ?? '';
    switch (cmd) {
      case 'list':
        return list(udb, flags.has('--json'), io);
      case 'add': {
        const r: Role | null = role === null ? 'analyst' : isRole(role) ? role : null;
        if (!r) return fail(`--role must be one of ${ROLES.join(', ')}`);
        if (!USERNAME_RE.test(name)) return fail('a user name has 3 to 32 characters: lower-case letters, digits, ".", "_" or "-", starting with a letter or digit');
        if (udb.users.byName(name)) return fail(`user "${name}" already exists`, 1);
        const pw = await readPassword(io, flags.has('--password-stdin'));
        if (pw === null) return fail('no password: use --password-stdin or run on a terminal');
        const bad = passwordProblems(pw, { username: name });
        if (bad.length) return fail(bad.map((k) => POLICY_TEXT[k] ?? k).join('; '), 1);
        await udb.users.create(name, r, pw, flags.has('--temporary'));
        audit('user_create', { target: name, role: r, temporary: flags.has('--temporary') });
        io.stdout.write(`user ${name} created (${r})\n`);
        return 0;
      }
      case 'passwd': {
        const u = udb.users.byName(name);
        if (!u) return fail(`no user "${name}"`, 1);
        const pw = await readPassword(io, flags.has('--password-stdin'));
        if (pw === null) return fail('no password: use --password-stdin or run on a terminal');
        const bad = passwordProblems(pw, { username: name });
        if (bad.length) return fail(bad.map((k) => POLICY_TEXT[k] ?? k).join('; '), 1);
        await udb.users.setPassword(u.id, pw, flags.has('--temporary'));
        udb.sessions.destroyForUser(u.id);
        audit('user_reset_password', { target: name, temporary: flags.has('--temporary') });
        io.stdout.write(`password of ${name} set; lockout cleared; sessions ended\n`);
        return 0;
      }
      case 'disable':
      case 'enable': {
        const u = udb.users.byName(name);
        if (!u) return fail(`no user "${name}"`, 1);
        const disable = cmd === 'disable';
        if (disable && u.role === 'admin' && !u.disabled && udb.users.enabledAdmins() <= 1) {
          return fail(`${name} is the last enabled admin; create or enable another admin first`, 1);
        }
        udb.users.setDisabled(u.id, disable);
        if (disable) udb.sessions.destroyForUser(u.id);
        audit(disable ? 'user_disable' : 'user_enable', { target: name });
        io.stdout.write(`user ${name} ${disable ? 'disabled' : 'enabled'}\n`);
        return 0;
      }
      case 'unlock': {
        const u = udb.users.byName(name);
        if (!u) return fail(`no user "${name}"`, 1);
        udb.users.unlock(u.id);
        audit('user_unlock', { target: name });
        io.stdout.write(`user ${name} unlocked\n`);
        return 0;
      }
    }
    return fail(`unknown command "${cmd}"`);
  } finally {
    udb.close();
  }
}

function list(udb: UsersDb, json: boolean, io: CliIo): number {
  const now = Date.now();
  const users = udb.users.list().map((u) => ({
    username: u.username,
    role: u.role,
    disabled: u.disabled,
    locked: isLocked(u, now),
    must_change: u.must_change,
    totp: u.totp_secret !== null,
    last_login: u.last_login_ms === null ? null : new Date(u.last_login_ms).toISOString(),
  }));
  if (json) {
    io.stdout.write(`${JSON.stringify(users)}\n`);
    return 0;
  }
  const rows = [['USER', 'ROLE', 'STATE', 'TOTP', 'LAST LOGIN (UTC)']];
  for (const u of users) {
    const state = [u.disabled ? 'disabled' : 'active', u.locked ? 'locked' : '', u.must_change ? 'must-change' : ''].filter(Boolean).join(',');
    rows.push([u.username, u.role, state, u.totp ? 'yes' : 'no', u.last_login ?? '-']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) io.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
  return 0;
}

function safeOsUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

/** One password: the first line of stdin with --password-stdin, or typed on the terminal without echo. */
async function readPassword(io: CliIo, fromStdin: boolean): Promise<string | null> {
  const stdin = io.stdin as NodeJS.ReadStream;
  if (fromStdin) {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
    const text = Buffer.concat(chunks).toString('utf8');
    return text.split(/\r?\n/)[0] ?? '';
  }
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') return null;
  const first = await promptHidden(stdin, io, 'New password: ');
  const again = await promptHidden(stdin, io, 'Repeat it: ');
  if (first !== again) {
    io.stderr.write('the two passwords differ\n');
    return null;
  }
  return first;
}

function promptHidden(stdin: NodeJS.ReadStream, io: CliIo, prompt: string): Promise<string> {
  io.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let buf = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (value: string | null) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      io.stderr.write('\n');
      if (value === null) reject(new Error('interrupted'));
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done(buf);
        if (ch === '\u0003' || ch === '\u0004') return done(null);
        if (ch === '\u007f' || ch === '\b') buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
    stdin.on('data', onData);
  });
}
