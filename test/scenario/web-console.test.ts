// The console around the pages: /health and /metrics, the dashboard and its self-refreshing
// fragment, escaping of values that come from the network, headers, static files, errors, language,
// and the session key kept next to users.db.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { addressKey } from '../../src/parse/ip.js';
import { isLoopback } from '../../src/web/middleware/proxy.js';
import { formatInstant } from '../../src/core/time.js';
import { parseLocalDate } from '../../src/web/time.js';
import { safeNext } from '../../src/web/middleware/onerror.js';
import { base32Decode, base32Encode, hotp, verifyTotp } from '../../src/users/totp.js';
import { passwordProblems, temporaryPassword } from '../../src/users/password.js';
import { bootstrapAdmin, Client, sampleSnapshot, startTestWeb, type TestWeb } from '../helpers/browser.js';

let web: TestWeb;
let admin: Client;

beforeAll(async () => {
  web = await startTestWeb();
  admin = await bootstrapAdmin(web.base);
});
afterAll(async () => web?.close());

describe('/health and /metrics', () => {
  test('health merges the processor checks with a real users.db query; 503 only when unhealthy', async () => {
    const c = new Client(web.base);
    let r = await c.get('/health');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ status: 'healthy', version: '0.1.0-test', checks: { logs_db: true, buffer: true, users_db: true } });

    web.deps.health = { status: 'degraded', checks: { logs_db: true, buffer: false }, details: {} };
    r = await c.get('/health');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).status).toBe('degraded');

    web.deps.health = { status: 'unhealthy', checks: { logs_db: false, buffer: true }, details: {} };
    r = await c.get('/health');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text).checks).toEqual({ logs_db: false, buffer: true, users_db: true });

    const orig = web.deps.processorHealth;
    web.deps.processorHealth = async () => {
      throw new Error('processor gone');
    };
    r = await c.get('/health');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text)).toMatchObject({ status: 'unhealthy', checks: { processor: false, users_db: true } });
    web.deps.processorHealth = orig;
    web.deps.health = { status: 'healthy', checks: { logs_db: true, buffer: true }, details: {} };
  });

  test('metrics are served as Prometheus text without a login', async () => {
    const r = await new Client(web.base).get('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(r.text).toContain('megalog_records_committed_total 118000');
  });
});

describe('dashboard', () => {
  test('shows the figures, times with their offset, and escapes names from the network', async () => {
    const r = await admin.get('/');
    expect(r.status).toBe(200);
    expect(r.text).toContain('98.765'); // records today, pt-BR grouping
    expect(r.text).toContain('1.234,5/s');
    expect(r.text).toMatch(/<td>empty<\/td><td class="num">3<\/td>/); // messages
    expect(r.text).toMatch(/<td>oversize_tail<\/td><td class="num">8\.192 bytes<\/td>/); // bytes, with the unit
    expect(r.text).not.toContain('spool_full'); // zero drops are not listed
    expect(r.text).not.toContain('spool_torn');
    expect(r.text).toContain('40 GiB usados de 100 GiB (40%)');
    expect(r.text).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} -03:00/);
    expect(r.text).toContain('cgnat-&lt;b&gt;02&lt;/b&gt;');
    expect(r.text).not.toContain('<b>02</b>');
    expect(r.text).toContain('silencioso'); // the device quiet for 15 min
    expect(r.text).toContain('hx-trigger="every 5s"');
  });

  test('the same route answers htmx with just the panel', async () => {
    const r = await admin.get('/', { 'HX-Request': 'true', 'X-MegaLog-Poll': '1' });
    expect(r.status).toBe(200);
    expect(r.text.trimStart().startsWith('<div id="dash-panel"')).toBe(true);
    expect(r.text).not.toContain('<html');
    expect(r.headers.get('vary')).toMatch(/HX-Request/i);
    // A history restore asks for the full page.
    const h = await admin.get('/', { 'HX-Request': 'true', 'HX-History-Restore-Request': 'true' });
    expect(h.text).toContain('<html');
  });

  test('a processor that does not answer gives a notice, not an error page', async () => {
    const orig = web.deps.dashboard;
    web.deps.dashboard = () => new Promise(() => {});
    const r = await admin.get('/', { 'HX-Request': 'true' });
    expect(r.status).toBe(200);
    expect(r.text).toContain('Os números do processador estão indisponíveis no momento.');
    web.deps.dashboard = orig;
  });

  test('an unexpected failure is logged with an id and shown without a stack trace', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const orig = web.deps.dashboard;
    web.deps.dashboard = async () => ({ ...sampleSnapshot(), devices: null as never });
    try {
      const r = await admin.get('/');
      expect(r.status).toBe(500);
      const id = /Erro interno\. Se persistir, informe ao administrador o código ([0-9a-f]{12})\./.exec(r.text)?.[1];
      expect(id).toBeTruthy();
      expect(r.text).not.toMatch(/TypeError|\n\s+at |\.ts:\d+/);
      expect(spy.mock.calls.some((c) => String(c[0]).includes(id!))).toBe(true);
    } finally {
      web.deps.dashboard = orig;
      spy.mockRestore();
    }
  });
});

describe('pages and headers', () => {
  test('security headers on every page: CSP without inline script or style, no caching, no framing', async () => {
    const r = await admin.get('/');
    const csp = r.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.text).not.toMatch(/<script>|<script [^>]*>[^<]|style="| on\w+="/);
    expect(r.text).not.toContain('| safe');
  });

  test('Server-Timing for signed-in users only (not on the login page, where it would time passwords)', async () => {
    expect((await admin.get('/')).headers.get('server-timing')).toMatch(/^app;dur=\d+(\.\d)?$/);
    const anon = await new Client(web.base).get('/login');
    expect(anon.status).toBe(200);
    expect(anon.headers.get('server-timing')).toBeNull();
  });

  test('templates never use | safe', () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else files.push(join(d, e.name));
      }
    };
    walk(join(import.meta.dirname, '..', '..', 'templates'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect(readFileSync(f, 'utf8'), f).not.toMatch(/\|\s*safe\b|autoescape\s+false/);
  });

  test('static files: htmx (vendored, cached a year) and the stylesheet', async () => {
    const c = new Client(web.base);
    const js = await c.get('/static/htmx-2.0.8.min.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('cache-control')).toContain('immutable');
    const css = await c.get('/static/megalog.css');
    expect(css.status).toBe(200);
    expect((await c.get('/static/megalog.css', { 'if-none-match': css.headers.get('etag')! })).status).toBe(304);
    expect((await c.get('/static/../package.json')).status).not.toBe(200);
    expect((await c.get('/static/%2e%2e/package.json')).status).not.toBe(200);
  });

  test('unknown pages get a 404 page', async () => {
    const r = await admin.get('/no/such/page');
    expect(r.status).toBe(404);
    expect(r.text).toContain('Página não encontrada.');
  });

  test('English on request, remembered by the browser', async () => {
    const c = new Client(web.base);
    const r = await c.get('/login?lang=en');
    expect(r.text).toContain('<html lang="en">');
    expect(r.text).toContain('Sign in');
    expect((await c.get('/login')).text).toContain('User name');
    expect((await c.get('/login?lang=pt-BR')).text).toContain('Usuário');
    expect((await c.get('/login?lang=xx')).text).toContain('Usuário');
  });

  test('the session key is generated once, kept 0600 next to users.db', () => {
    const file = join(web.dir, 'secret.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(web.config.users_db_path).mode & 0o777).toBe(0o600);
  });
});

describe('building blocks', () => {
  test('TOTP matches RFC 6238 and RFC 4226 test vectors', () => {
    const key = Buffer.from('12345678901234567890');
    // RFC 6238 appendix B (SHA-1, 8 digits)
    expect(hotp(key, Math.floor(59 / 30), 8)).toBe('94287082');
    expect(hotp(key, Math.floor(1111111109 / 30), 8)).toBe('07081804');
    expect(hotp(key, Math.floor(20000000000 / 30), 8)).toBe('65353130');
    // RFC 4226 appendix D (6 digits)
    expect([0, 1, 2, 9].map((c) => hotp(key, c))).toEqual(['755224', '287082', '359152', '520489']);
    const b32 = base32Encode(key);
    expect(b32).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(base32Decode(b32).equals(key)).toBe(true);
    const now = 59_000;
    expect(verifyTotp(b32, '287082', now, 0)).toBe(1);
    expect(verifyTotp(b32, '287082', now, 1)).toBeNull(); // replay
    expect(verifyTotp(b32, '28708', now, 0)).toBeNull();
  });

  test('addresses: loopback, IPv6 throttled by /64', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('10.0.0.1')).toBe(false);
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(addressKey('198.51.100.7')).toBe('198.51.100.7');
  });

  test('times: shown with offset, dates read in the configured zone', () => {
    expect(formatInstant(Date.UTC(2026, 2, 5, 13, 11, 12), 'America/Sao_Paulo')).toBe('2026-03-05 10:11:12 -03:00');
    expect(formatInstant(Date.UTC(2026, 2, 5, 13, 11, 12), 'UTC')).toBe('2026-03-05 13:11:12 +00:00');
    expect(parseLocalDate('2026-03-05', 'America/Sao_Paulo')).toBe(Date.UTC(2026, 2, 5, 3, 0, 0));
    expect(parseLocalDate('2026-02-30', 'UTC')).toBeNull();
    expect(parseLocalDate('05/03/2026', 'UTC')).toBeNull();
  });

  test('redirect targets stay on this site', () => {
    expect(safeNext('/audit?user=a')).toBe('/audit?user=a');
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example', '/login?next=/', '']) expect(safeNext(bad)).toBeNull();
  });

  test('password policy and temporary passwords', () => {
    expect(passwordProblems('short', { username: 'ana' })).toEqual(['pw.too_short']);
    expect(passwordProblems('admin123', { username: 'superadmin' })).toEqual(['pw.too_short', 'pw.is_default']);
    expect(passwordProblems('superadmin', { username: 'superadmin' })).toEqual(['pw.is_username']);
    expect(passwordProblems('same passphrase', { username: 'a', current: 'same passphrase' })).toEqual(['pw.same_as_current']);
    const t = temporaryPassword();
    expect(t).toMatch(/^[a-zA-Z0-9]{20}$/);
    expect(temporaryPassword()).not.toBe(t);
  });
});
