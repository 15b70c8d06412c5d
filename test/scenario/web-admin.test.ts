// Roles, user administration and the audit viewer: who may reach what (the authorization table),
// what admin actions do and record, and bad input answered with a clear message.
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bootstrapAdmin, Client, createUser, startTestWeb, userWithPassword, type TestWeb } from '../helpers/browser.js';

let web: TestWeb;
let admin: Client;
let analyst: Client;
let auditor: Client;

beforeAll(async () => {
  web = await startTestWeb();
  admin = await bootstrapAdmin(web.base);
  analyst = await userWithPassword(web.base, 'ana', await createUser(admin, 'ana', 'analyst'), 'analyst passphrase');
  auditor = await userWithPassword(web.base, 'audi', await createUser(admin, 'audi', 'auditor'), 'auditor passphrase');
});
afterAll(async () => web?.close());

const NO_STACK = /\n\s+at |Error:|node_modules|\.ts:\d+/;

describe('role × route', () => {
  test('each role reaches exactly its pages', async () => {
    const matrix: Record<string, Record<string, number>> = {
      '/': { admin: 200, analyst: 200, auditor: 200 },
      '/search': { admin: 200, analyst: 200, auditor: 403 },
      '/exports': { admin: 200, analyst: 200, auditor: 403 },
      '/audit': { admin: 200, analyst: 403, auditor: 200 },
      '/users': { admin: 200, analyst: 403, auditor: 403 },
      '/account': { admin: 200, analyst: 200, auditor: 200 },
    };
    const who = { admin, analyst, auditor };
    for (const [path, expected] of Object.entries(matrix)) {
      for (const [role, status] of Object.entries(expected)) {
        const r = await who[role as keyof typeof who].get(path);
        expect(r.status, `${role} GET ${path}`).toBe(status);
        if (status === 403) {
          expect(r.text).toContain('Acesso negado');
          expect(r.text).not.toMatch(NO_STACK);
        }
      }
    }
  });

  test('an analyst cannot use user admin actions either', async () => {
    await analyst.get('/');
    for (const path of ['/users', '/users/1/disable', '/users/1/reset', '/users/1/role']) {
      const r = await analyst.post(path, { username: 'x', role: 'admin' });
      expect(r.status, path).toBe(403);
    }
    const list = await admin.get('/users');
    expect(list.text).not.toContain('>x<');
  });

  test('navigation shows only what the role can open', async () => {
    const nav = (html: string) => [...html.matchAll(/<li><a href="([^"]+)"/g)].map((m) => m[1]);
    expect(nav((await admin.get('/')).text)).toEqual(['/', '/search', '/exports', '/audit', '/users', '/account']);
    expect(nav((await analyst.get('/')).text)).toEqual(['/', '/search', '/exports', '/account']);
    expect(nav((await auditor.get('/')).text)).toEqual(['/', '/audit', '/account']);
  });

  test('signed-out requests go to the login page and come back after it', async () => {
    const c = new Client(web.base);
    const r = await c.get('/audit?user=ana');
    expect(r.status).toBe(303);
    expect(r.location).toBe('/login?m=login.required&next=%2Faudit%3Fuser%3Dana');
    await c.get(r.location!);
    expect(c.last!.text).toContain('name="next" value="/audit?user=ana"');
    const back = await c.post('/login', { username: 'audi', password: 'auditor passphrase', next: '/audit?user=ana' });
    expect(back.location).toBe('/audit?user=ana');
    const evil = await new Client(web.base).login('audi', 'auditor passphrase');
    expect(evil.location).toBe('/');
    const c2 = new Client(web.base);
    await c2.get('/login');
    const offsite = await c2.post('/login', { username: 'audi', password: 'auditor passphrase', next: '//evil.example/x' });
    expect(offsite.location).toBe('/');
  });
});

describe('user admin', () => {
  test('bad input gets a clear message, the value back escaped, and no stack trace', async () => {
    await admin.get('/users');
    const r = await admin.post('/users', { username: '<script>alert(1)</script>', role: 'root' });
    expect(r.status).toBe(422);
    expect(r.text).toContain('Nome de usuário inválido');
    expect(r.text).toContain('Papel inválido');
    expect(r.text).toContain('value="&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(r.text).not.toContain('<script>alert');
    expect(r.text).not.toMatch(NO_STACK);

    const dup = await admin.post('/users', { username: 'ana', role: 'analyst' });
    expect(dup.status).toBe(422);
    expect(dup.text).toContain('Já existe um usuário com esse nome');

    const missing = await admin.post('/users/999999/disable', {});
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('Usuário não encontrado');
    const notNumber = await admin.post('/users/abc/disable', {});
    expect(notNumber.status).toBe(404);

    const json = await admin.request('POST', '/users', {
      body: JSON.stringify({ username: 'j', role: 'admin' }),
      headers: { 'content-type': 'application/json', origin: web.base, 'x-csrf-token': admin.csrf },
    });
    expect(json.status).toBe(415);
    expect(json.text).toContain('Formato de envio não suportado');

    const big = await admin.post('/users', { username: 'big', role: 'analyst', filler: 'x'.repeat(70_000) });
    expect(big.status).toBe(413);
    expect(big.text).toContain('grande demais');
    for (const res of [json, big, missing]) expect(res.text).not.toMatch(NO_STACK);
  });

  test('disable ends the sessions; enable restores; reset forces a new password', async () => {
    const bob = await userWithPassword(web.base, 'bob', await createUser(admin, 'bob', 'analyst'), 'bob passphrase 1');
    expect((await bob.get('/search')).status).toBe(200);
    const page = await admin.get('/users');
    const id = new RegExp(`action="/users/(\\d+)/disable"[^]*?`).exec(page.text.slice(page.text.indexOf('<strong>bob</strong>')))![1];

    expect((await admin.post(`/users/${id}/disable`, {})).status).toBe(303);
    expect((await admin.get('/users')).text).toContain('Usuário bob desativado');
    expect((await bob.get('/search')).location).toMatch(/^\/login/);
    const refused = await new Client(web.base).login('bob', 'bob passphrase 1');
    expect(refused.status).toBe(401);
    expect(refused.text).toContain('Usuário ou senha inválidos');

    await admin.post(`/users/${id}/enable`, {});
    expect((await new Client(web.base).login('bob', 'bob passphrase 1')).status).toBe(303);

    await admin.get('/users');
    const reset = await admin.post(`/users/${id}/reset`, {});
    const temp = /<code class="secret">([^<]+)<\/code>/.exec(reset.text)![1]!;
    expect((await new Client(web.base).login('bob', 'bob passphrase 1')).status).toBe(401);
    const again = await new Client(web.base).login('bob', temp);
    expect(again.location).toBe('/account');

    await admin.get('/users');
    await admin.post(`/users/${id}/role`, { role: 'auditor' });
    expect((await admin.get('/users')).text).toContain('Papel de bob alterado para Auditor');
  });

  test('an admin cannot disable or demote themselves, and the last admin stays', async () => {
    const page = await admin.get('/users');
    expect(page.text).not.toMatch(/<strong>superadmin<\/strong>[^]*?\/disable"[^]*?<strong>/);
    const me = /<strong>superadmin<\/strong>[^]*?action="\/users\/(\d+)\/reset"/.exec(page.text)![1];
    const r = await admin.post(`/users/${me}/disable`, {});
    expect(r.status).toBe(303);
    expect((await admin.get('/users')).text).toContain('Você não pode desativar a própria conta');
    await admin.post(`/users/${me}/role`, { role: 'analyst' });
    expect((await admin.get('/users')).text).toContain('Você não pode desativar a própria conta nem mudar o próprio papel');
    expect((await admin.get('/users')).status).toBe(200);
  });
});

describe('audit viewer', () => {
  test('auditors see logins and admin actions, filtered and paginated', async () => {
    for (let i = 0; i < 3; i++) await new Client(web.base).login('audi', 'auditor passphrase');
    const all = await auditor.get('/audit');
    expect(all.status).toBe(200);
    expect(all.text).toContain('usuário criado');
    expect(all.text).toContain('{&quot;target&quot;:&quot;ana&quot;,&quot;role&quot;:&quot;analyst&quot;}');

    const logins = await auditor.get('/audit?user=audi&action=login');
    const rows = [...logins.text.matchAll(/<tr class="act-(\w+)">/g)].map((m) => m[1]);
    expect(rows.length).toBeGreaterThanOrEqual(4);
    expect(new Set(rows)).toEqual(new Set(['login']));
    expect(logins.text).toContain('127.0.0.1');

    const frag = await auditor.get('/audit?action=user_create', { 'HX-Request': 'true' });
    expect(frag.text.trimStart().startsWith('<section class="card" id="audit-results">')).toBe(true);
    expect(frag.text).not.toContain('<html');

    const today = new Date().toISOString().slice(0, 10);
    const ranged = await auditor.get(`/audit?from=2000-01-01&to=${today}&action=user_create`);
    expect(ranged.text).toMatch(/\d+ registros · página 1 de 1/);
    const future = await auditor.get('/audit?from=2999-01-01');
    expect(future.text).toContain('Nenhum registro com esses filtros');

    const page2 = await auditor.get('/audit?page=2');
    expect(page2.status).toBe(200);
  });

  test('bad dates are answered in the page, not with an error page', async () => {
    const bad = await auditor.get('/audit?from=2026-13-45');
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('Data inválida: use o formato AAAA-MM-DD.');
    expect(bad.text).toContain('<form method="get" action="/audit"');
    const reversed = await auditor.get('/audit?from=2026-03-05&to=2026-03-01');
    expect(reversed.text).toContain('A data final é anterior à inicial.');
    const inj = await auditor.get(`/audit?case=${encodeURIComponent("' OR 1=1 --<img src=x onerror=alert(1)>")}`);
    expect(inj.status).toBe(200);
    expect(inj.text).toContain('Nenhum registro com esses filtros');
    expect(inj.text).toContain('value="&#39; OR 1=1 --&lt;img src=x onerror=alert(1)&gt;"');
  });
});

describe('refused requests are audited', () => {
  function lastAudit(action: string): { user: string; query: Record<string, unknown> } | null {
    const d = new Database(web.config.users_db_path, { readonly: true });
    try {
      const r = d.prepare('SELECT user, query FROM audit WHERE action = ? ORDER BY id DESC LIMIT 1').get(action) as { user: string; query: string } | undefined;
      return r ? { user: r.user, query: JSON.parse(r.query) as Record<string, unknown> } : null;
    } finally {
      d.close();
    }
  }

  test('403 (role, CSRF) is recorded as request_denied with who, the route and the error code', async () => {
    expect((await analyst.get('/users?filter=x')).status).toBe(403);
    expect(lastAudit('request_denied')).toEqual({
      user: 'ana',
      query: { method: 'GET', path: '/users', route: 'users', code: 'MEGALOG_ERR_WEB_FORBIDDEN', query: 'filter=x' },
    });
    await admin.get('/users');
    expect((await admin.post('/users', { username: 'csrf.less', role: 'admin' }, { csrf: 'A'.repeat(43) })).status).toBe(403);
    const csrf = lastAudit('request_denied')!;
    expect(csrf.user).toBe('superadmin');
    expect(csrf.query).toMatchObject({ method: 'POST', path: '/users', code: 'MEGALOG_ERR_WEB_CSRF', form: { username: 'csrf.less', role: 'admin', _csrf: '(omitted)' } });
  });

  test('422 is recorded as request_rejected with the input, never a password', async () => {
    await admin.get('/users');
    expect((await admin.post('/users', { username: 'Bad Name<b>', role: 'nope' })).status).toBe(422);
    expect(lastAudit('request_rejected')).toMatchObject({
      user: 'superadmin',
      query: { method: 'POST', path: '/users', route: 'users.create', code: null, form: { username: 'Bad Name<b>', role: 'nope' } },
    });
    await analyst.get('/account');
    const r = await analyst.post('/account/password', { current: 'not my password 1', new_password: 'secret new one 22', confirm: 'secret new one 22' });
    expect(r.status).toBe(422);
    const rej = lastAudit('request_rejected')!;
    expect(rej.user).toBe('ana');
    expect(rej.query.route).toBe('account.password');
    expect(JSON.stringify(rej)).not.toMatch(/not my password|secret new one/);
    // The viewer names the new actions.
    expect((await auditor.get('/audit?action=request_rejected')).text).toContain('dados recusados');
  });
});

describe('user admin under parallel requests', () => {
  test('two creations of the same name at once: one account, the other told the name exists', async () => {
    await admin.get('/users');
    const rs = await Promise.all([admin.post('/users', { username: 'twin', role: 'analyst' }), admin.post('/users', { username: 'twin', role: 'analyst' })]);
    expect(rs.map((r) => r.status).sort()).toEqual([201, 422]);
    expect(rs.find((r) => r.status === 422)!.text).not.toMatch(NO_STACK);
  });
});
