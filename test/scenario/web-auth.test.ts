// Console authentication: first start, forced password change, CSRF, session fixation, lockout and
// throttling without user-name enumeration, idle timeout, TOTP. Real HTTP against a started console.
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { totpCode } from '../../src/users/totp.js';
import { bootstrapAdmin, Client, createUser, startTestWeb, userWithPassword, type TestWeb } from '../helpers/browser.js';

const ADMIN_PW = 'correct horse battery staple';
let web: TestWeb;
let admin: Client;

beforeAll(async () => {
  web = await startTestWeb({ session_idle_timeout_min: 1 });
  admin = await bootstrapAdmin(web.base, ADMIN_PW);
});
afterAll(async () => web?.close());

function db() {
  return new Database(web.config.users_db_path);
}

function auditRows(action: string): Array<{ user: string; source: string; query: string | null }> {
  const d = db();
  try {
    return d.prepare('SELECT user, source, query FROM audit WHERE action = ? ORDER BY id').all(action) as never;
  } finally {
    d.close();
  }
}

function errorText(html: string): string | null {
  return /<p class="error" role="alert">([^<]*)<\/p>/.exec(html)?.[1] ?? null;
}

describe('first start', () => {
  test('superadmin/admin123 only opens the forced password change, and stops working once changed', async () => {
    // (bootstrapAdmin already changed it in beforeAll; this re-checks what is left.)
    const c = new Client(web.base);
    const r = await c.login('superadmin', 'admin123');
    expect(r.status).toBe(401);
    expect(errorText(r.text)).toBe('Usuário ou senha inválidos, ou conta temporariamente bloqueada.');
    const ok = await new Client(web.base).login('superadmin', ADMIN_PW);
    expect(ok.status).toBe(303);
    expect(ok.location).toBe('/');
  });

  test('a temporary password reaches the password page and nothing else', async () => {
    const temp = await createUser(admin, 'temp.user', 'admin');
    const c = new Client(web.base);
    const r = await c.login('temp.user', temp);
    expect(r.status).toBe(303);
    expect(r.location).toBe('/account');
    for (const path of ['/', '/users', '/audit', '/search']) {
      const g = await c.get(path);
      expect(g.status, path).toBe(303);
      expect(g.location, path).toBe('/account');
    }
    await c.get('/account');
    expect(c.last!.text).toContain('Antes de continuar, defina uma nova senha');
    const p = await c.post('/users', { username: 'sneaky', role: 'admin' });
    expect(p.status).toBe(303);
    expect(p.location).toBe('/account');
    const weak = await c.post('/account/password', { current: temp, new_password: 'admin123', confirm: 'admin123' });
    expect(weak.status).toBe(422);
    expect(weak.text).toContain('pelo menos 10 caracteres');
    expect(weak.text).toContain('senha padrão de fábrica');
    const good = await c.post('/account/password', { current: temp, new_password: 'another long passphrase', confirm: 'another long passphrase' });
    expect(good.status).toBe(303);
    expect((await c.get('/users')).status).toBe(200);
    expect(auditRows('password_change').some((r) => r.user === 'temp.user' && r.query === '{"forced":true}')).toBe(true);
  });
});

describe('CSRF', () => {
  test('state-changing requests without a valid token or from another origin are refused', async () => {
    await admin.get('/users');
    const before = auditRows('user_create').length;
    const cases = [
      { name: 'no token', opts: { csrf: null } },
      { name: 'wrong token', opts: { csrf: 'A'.repeat(43) } },
      { name: 'foreign origin', opts: { origin: 'https://evil.example' } },
      { name: 'no origin or referer', opts: { origin: null } },
    ];
    for (const c of cases) {
      const r = await admin.post('/users', { username: `csrf-${cases.indexOf(c)}`, role: 'analyst' }, c.opts);
      expect(r.status, c.name).toBe(403);
      expect(r.text, c.name).toContain('Requisição recusada por segurança');
    }
    expect(auditRows('user_create').length).toBe(before);
  });

  test('the login form needs its token too', async () => {
    const c = new Client(web.base);
    await c.get('/login');
    const r = await c.post('/login', { username: 'superadmin', password: ADMIN_PW }, { csrf: null });
    expect(r.status).toBe(403);
    expect(c.cookies.has('megalog.sid')).toBe(false);
  });

  test('the X-CSRF-Token header (htmx) and a same-origin Referer are accepted', async () => {
    const c = new Client(web.base);
    await c.login('superadmin', ADMIN_PW);
    await c.get('/');
    const token = c.csrf;
    const r = await c.post('/logout', {}, { csrf: null, origin: null, headers: { 'x-csrf-token': token, referer: `${web.base}/` } });
    expect(r.status).toBe(303);
    expect(r.location).toBe('/login?m=login.logged_out');
  });
});

describe('sessions', () => {
  test('cookies are HttpOnly and SameSite=Strict, Secure behind TLS (X-Forwarded-Proto from loopback)', async () => {
    const plain = new Client(web.base);
    await plain.get('/login');
    const r = await plain.post('/login', { username: 'superadmin', password: ADMIN_PW });
    const sid = r.headers.getSetCookie().find((c) => c.startsWith('megalog.sid='))!;
    expect(sid).toMatch(/httponly/i);
    expect(sid).toMatch(/samesite=strict/i);
    expect(sid).not.toMatch(/secure/i);

    const tls = new Client(web.base, { 'x-forwarded-proto': 'https', 'x-forwarded-host': `127.0.0.1:${web.port}` });
    const page = await tls.get('/login');
    expect(page.headers.get('strict-transport-security')).toMatch(/max-age/);
    const r2 = await tls.post('/login', { username: 'superadmin', password: ADMIN_PW }, { origin: `https://127.0.0.1:${web.port}` });
    expect(r2.status).toBe(303);
    const sid2 = r2.headers.getSetCookie().find((c) => c.startsWith('megalog.sid='))!;
    expect(sid2).toMatch(/;\s*secure/i);
  });

  test('the session cookie stays a browser-session cookie (no Expires) through login, password change and later requests', async () => {
    const temp = await createUser(admin, 'cookie.user', 'analyst');
    const c = new Client(web.base);
    const sids: string[] = [];
    const keep = (r: { headers: Headers }) => sids.push(...r.headers.getSetCookie().filter((h) => h.startsWith('megalog.sid=')));
    await c.get('/login');
    keep(await c.post('/login', { username: 'cookie.user', password: temp }));
    await c.get('/account');
    keep(await c.post('/account/password', { current: temp, new_password: 'cookie user passphrase', confirm: 'cookie user passphrase' }));
    keep(await c.get('/')); // the flash is read: the session is saved again
    const d = db();
    try {
      const mine = "user_id = (SELECT id FROM users WHERE username = 'cookie.user')";
      d.prepare(`UPDATE sessions SET data = json_set(data, '$.last_ms', ?) WHERE ${mine}`).run(Date.now() - 30_000);
      keep(await c.get('/')); // activity after a while: the session is saved again
      // A row saved by an earlier version with koa-session's 24-hour lifetime in it: not restored.
      d.prepare(`UPDATE sessions SET data = json_set(data, '$._maxAge', 86400000, '$._expire', ?, '$.last_ms', ?) WHERE ${mine}`).run(Date.now() + 86_400_000, Date.now() - 30_000);
      keep(await c.get('/'));
      expect(sids.length).toBeGreaterThanOrEqual(4);
      for (const [i, h] of sids.entries()) expect(h, `Set-Cookie #${i}`).not.toMatch(/;\s*(expires|max-age)=/i);
      const rows = d.prepare<[], { data: string }>(`SELECT data FROM sessions WHERE ${mine}`).all();
      expect(rows.length).toBe(1);
      expect(JSON.parse(rows[0]!.data)).not.toHaveProperty('_expire');
    } finally {
      d.close();
    }
  });

  test('session fixation: the id changes at login and the old id is dead', async () => {
    const attacker = new Client(web.base);
    const temp = await createUser(admin, 'fix.analyst', 'analyst');
    await userWithPassword(web.base, 'fix.analyst', temp, 'analyst passphrase one');
    await attacker.login('fix.analyst', 'analyst passphrase one');
    const planted = new Map(attacker.cookies);
    expect(planted.get('megalog.sid')).toBeTruthy();

    // The victim's browser carries the attacker's session cookie, then the victim logs in.
    const victim = new Client(web.base);
    for (const [k, v] of planted) victim.cookies.set(k, v);
    const landing = await victim.get('/login'); // already "signed in" (as the attacker): sent on to /
    expect(landing.location).toBe('/');
    await victim.get('/');
    const r = await victim.post('/login', { username: 'superadmin', password: ADMIN_PW });
    expect(r.status).toBe(303);
    expect(victim.cookies.get('megalog.sid')).toBeTruthy();
    expect(victim.cookies.get('megalog.sid')).not.toBe(planted.get('megalog.sid'));
    expect((await victim.get('/users')).status).toBe(200);
    // The planted id neither became the admin's session nor survived.
    const stale = await attacker.get('/users');
    expect(stale.status).toBe(303);
    expect(stale.location).toMatch(/^\/login/);
  });

  test('idle timeout ends the session; self-refresh polls do not count as activity', async () => {
    const c = new Client(web.base);
    await c.login('superadmin', ADMIN_PW);
    const d = db();
    try {
      const setLast = d.prepare("UPDATE sessions SET data = json_set(data, '$.last_ms', ?) WHERE json_extract(data, '$.csrf') = ?");
      const getLast = d.prepare<[string], { l: number }>("SELECT json_extract(data, '$.last_ms') AS l FROM sessions WHERE json_extract(data, '$.csrf') = ?");
      await c.get('/');
      const token = c.csrf;
      const t20 = Date.now() - 20_000;
      setLast.run(t20, token);
      expect((await c.get('/', { 'HX-Request': 'true', 'X-MegaLog-Poll': '1' })).status).toBe(200);
      expect(getLast.get(token)!.l).toBe(t20);
      await c.get('/');
      expect(getLast.get(token)!.l).toBeGreaterThan(t20);

      setLast.run(Date.now() - 61_000, token);
      const r = await c.get('/users');
      expect(r.status).toBe(303);
      expect(r.location).toBe('/login?m=login.expired&next=%2Fusers');
      const page = await c.get(r.location!);
      expect(page.text).toContain('Sua sessão expirou por inatividade');
      expect(auditRows('session_expired').some((a) => a.user === 'superadmin')).toBe(true);
      // htmx requests are told to navigate instead.
      const h = await c.get('/', { 'HX-Request': 'true' });
      expect(h.headers.get('hx-redirect')).toMatch(/^\/login/);
    } finally {
      d.close();
    }
  });
});

describe('lockout and throttling', () => {
  test('an account locks after 5 failures, and the answers never reveal which user names exist', async () => {
    const temp = await createUser(admin, 'alice', 'analyst');
    await userWithPassword(web.base, 'alice', temp, 'alice long passphrase');
    const answers = async (username: string, password: string, ip: string) => {
      const c = new Client(web.base, { 'x-forwarded-for': ip });
      const r = await c.login(username, password);
      return { status: r.status, error: errorText(r.text) };
    };
    const real: Array<{ status: number; error: string | null }> = [];
    const ghost: Array<{ status: number; error: string | null }> = [];
    for (let i = 0; i < 5; i++) {
      real.push(await answers('alice', `wrong ${i}`, '198.51.100.10'));
      ghost.push(await answers('nobody-here', `wrong ${i}`, '198.51.100.11'));
    }
    // Locked now: even the right password gets the same answer as a user that does not exist.
    real.push(await answers('alice', 'alice long passphrase', '198.51.100.10'));
    ghost.push(await answers('nobody-here', 'alice long passphrase', '198.51.100.11'));
    expect(real).toEqual(ghost);
    expect(new Set(real.map((r) => `${r.status} ${r.error}`))).toEqual(new Set(['401 Usuário ou senha inválidos, ou conta temporariamente bloqueada.']));
    const reasons = auditRows('login_failed').filter((r) => r.user === 'alice').map((r) => JSON.parse(r.query!).reason);
    expect(reasons.slice(-6)).toEqual(['bad_password', 'bad_password', 'bad_password', 'bad_password', 'bad_password', 'locked']);
    expect(auditRows('login_failed').at(-1)!.source).toBe('198.51.100.11');

    // An admin unlocks; the right password works again.
    await admin.get('/users');
    const id = /action="\/users\/(\d+)\/unlock"/.exec(admin.last!.text)![1];
    expect((await admin.post(`/users/${id}/unlock`, {})).status).toBe(303);
    expect((await new Client(web.base).login('alice', 'alice long passphrase')).status).toBe(303);
  });

  test('one address is throttled after 20 failures, whatever names it tries', async () => {
    const ip = '203.0.113.77';
    for (let i = 0; i < 20; i++) {
      const r = await new Client(web.base, { 'x-forwarded-for': ip }).login(`user${i}`, 'nope nope nope');
      expect(r.status).toBe(401);
    }
    const blocked = await new Client(web.base, { 'x-forwarded-for': ip }).login('superadmin', ADMIN_PW);
    expect(blocked.status).toBe(429);
    expect(errorText(blocked.text)).toContain('Muitas tentativas a partir deste endereço');
    // Another address is unaffected; X-Forwarded-For takes the address the proxy appended.
    const other = await new Client(web.base, { 'x-forwarded-for': `${ip}, 198.51.100.99` }).login('superadmin', ADMIN_PW);
    expect(other.status).toBe(303);
    expect(auditRows('login_throttled').filter((r) => r.source === ip)).toHaveLength(1);
  });
});

describe('TOTP', () => {
  test('enrol, then sign in with password and code; a code is not accepted twice', async () => {
    const temp = await createUser(admin, 'totp.user', 'auditor');
    const c = await userWithPassword(web.base, 'totp.user', temp, 'totp user passphrase');
    await c.get('/account');
    await c.post('/account/totp/begin', {});
    const page = await c.get('/account');
    const secret = /<code class="secret">([A-Z2-7]+)<\/code>/.exec(page.text)![1]!;
    expect(page.text).toContain(`otpauth://totp/MegaLog:totp.user?secret=${secret}`);
    const bad = await c.post('/account/totp/confirm', { code: '000000' === totpCode(secret, Date.now()) ? '111111' : '000000' });
    expect(bad.status).toBe(422);
    // Enrol with the previous step's code (accepted: ±1 step), so the current step is still unused
    // for the login below. Stay clear of a step boundary.
    if (30_000 - (Date.now() % 30_000) < 2_000) await new Promise((r) => setTimeout(r, 2_500));
    const ok = await c.post('/account/totp/confirm', { code: totpCode(secret, Date.now() - 30_000) });
    expect(ok.status).toBe(303);

    const s = new Client(web.base);
    const r = await s.login('totp.user', 'totp user passphrase');
    expect(r.status).toBe(303);
    expect(r.location).toBe('/login/totp');
    expect((await s.get('/audit')).location).toMatch(/^\/login/); // not signed in yet
    await s.get('/login/totp');
    const wrong = await s.post('/login/totp', { code: '12345' });
    expect(wrong.status).toBe(401);
    const code = totpCode(secret, Date.now());
    const good = await s.post('/login/totp', { code });
    expect(good.status).toBe(303);
    expect(good.location).toBe('/');
    expect((await s.get('/audit')).status).toBe(200);

    const replay = new Client(web.base);
    await replay.login('totp.user', 'totp user passphrase');
    await replay.get('/login/totp');
    expect((await replay.post('/login/totp', { code })).status).toBe(401);
  });
});
