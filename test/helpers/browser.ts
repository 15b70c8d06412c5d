// Web console test harness: a stub of the processor side (WebDeps), the console started on
// 127.0.0.1:0 with a temporary users.db, an HTTP client that behaves like a browser (cookie jar,
// Origin header, CSRF token taken from the last page), and Debian's headless chromium for the
// browser test (never a downloaded browser).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/index.js';
import { startWeb } from '../../src/web/app.js';
import type { DashboardSnapshot, ProcessorHealth, WebDeps } from '../../src/web/deps.js';

export interface TestWeb {
  base: string;
  port: number;
  dir: string;
  config: Config;
  deps: WebDeps & { health: ProcessorHealth; snapshot: DashboardSnapshot };
  close(): Promise<void>;
}

export function sampleSnapshot(now = Date.now()): DashboardSnapshot {
  return {
    started_ms: now - 3_600_000,
    received_by_transport: { udp: 120_345, tcp: 2_001 },
    records_committed: 118_000,
    lines_unparsed: 12,
    lines_ignored: 7,
    dropped_by_reason: { spool_full: 0, oversize_frame: 3 },
    spool_backlog_bytes: 4096,
    ingest_rate_per_sec: 1234.5,
    records_today: 98_765,
    devices: [
      { address: '10.0.0.1', name: 'bng-01', last_seen_ms: now - 2_000, messages: 100_000 },
      { address: '10.0.0.2', name: 'cgnat-<b>02</b>', last_seen_ms: now - 900_000, messages: 22_346 },
    ],
    hot_disk: { total_bytes: 100 * 2 ** 30, free_bytes: 60 * 2 ** 30 },
    cold_disk: { total_bytes: 4 * 2 ** 40, free_bytes: 3 * 2 ** 40 },
  };
}

/** Start the console on a free port with a temporary users.db and stubbed processor figures. */
export async function startTestWeb(overrides: Partial<Record<keyof Config, unknown>> = {}, extra: Partial<WebDeps> = {}): Promise<TestWeb> {
  const dir = mkdtempSync(join(tmpdir(), 'megalog-web-'));
  const config = loadConfig({
    file: null,
    env: {},
    overrides: { users_db_path: join(dir, 'users.db'), timezone: 'America/Sao_Paulo', ...overrides },
  });
  const deps = {
    config,
    version: '0.1.0-test',
    metricsContentType: 'text/plain; version=0.0.4; charset=utf-8',
    metricsText: async () => '# HELP megalog_records_committed_total Records committed.\nmegalog_records_committed_total 118000\n',
    health: { status: 'healthy', checks: { logs_db: true, buffer: true }, details: {} } as ProcessorHealth,
    snapshot: sampleSnapshot(),
    async processorHealth() {
      return this.health;
    },
    async dashboard() {
      return this.snapshot;
    },
    ...extra,
  };
  const web = await startWeb(deps, { host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${web.port}`;
  return {
    base,
    port: web.port,
    dir,
    config,
    deps,
    async close() {
      await web.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Res {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
}

/** A cookie-keeping HTTP client that sends Origin like a browser and finds the page's CSRF token. */
export class Client {
  readonly cookies = new Map<string, string>();
  csrf = '';
  last: Res | null = null;

  constructor(
    readonly base: string,
    readonly extraHeaders: Record<string, string> = {},
  ) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private absorb(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now());
      if (!value || expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(method: string, path: string, opts: { body?: string; headers?: Record<string, string> } = {}): Promise<Res> {
    const headers: Record<string, string> = { ...this.extraHeaders, ...(opts.headers ?? {}) };
    const c = this.cookieHeader();
    if (c) headers.cookie = c;
    const res = await fetch(this.base + path, { method, headers, body: opts.body, redirect: 'manual' });
    this.absorb(res);
    const text = await res.text();
    const m = /name="_csrf" value="([^"]+)"/.exec(text);
    if (m) this.csrf = m[1]!;
    this.last = { status: res.status, headers: res.headers, text, location: res.headers.get('location') };
    return this.last;
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Res> {
    return this.request('GET', path, { headers });
  }

  /** POST a form; the page's CSRF token and this site's Origin are added unless given. */
  post(path: string, form: Record<string, string>, opts: { csrf?: string | null; origin?: string | null; headers?: Record<string, string> } = {}): Promise<Res> {
    const body = new URLSearchParams(form);
    const token = opts.csrf === undefined ? this.csrf : opts.csrf;
    if (token !== null && !('_csrf' in form)) body.set('_csrf', token);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...(opts.headers ?? {}) };
    const origin = opts.origin === undefined ? this.base : opts.origin;
    if (origin !== null) headers.origin = origin;
    return this.request('POST', path, { body: body.toString(), headers });
  }

  /** GET the login page (for its token), then POST the credentials. */
  async login(username: string, password: string): Promise<Res> {
    await this.get('/login');
    return this.post('/login', { username, password });
  }
}

/** The first-start flow: superadmin/admin123, forced change to `newPassword`. Returns the signed-in client. */
export async function bootstrapAdmin(base: string, newPassword = 'correct horse battery staple'): Promise<Client> {
  const c = new Client(base);
  const r = await c.login('superadmin', 'admin123');
  if (r.status !== 303 || r.location !== '/account') throw new Error(`bootstrap login: ${r.status} ${r.location}`);
  await c.get('/account');
  const ch = await c.post('/account/password', { current: 'admin123', new_password: newPassword, confirm: newPassword });
  if (ch.status !== 303) throw new Error(`bootstrap password change: ${ch.status}`);
  return c;
}

/** Create a user through the admin page and return the temporary password shown. */
export async function createUser(admin: Client, username: string, role: string): Promise<string> {
  await admin.get('/users');
  const r = await admin.post('/users', { username, role });
  const m = /<code class="secret">([^<]+)<\/code>/.exec(r.text);
  if (r.status !== 201 || !m) throw new Error(`create user ${username}: ${r.status}`);
  return m[1]!;
}

/** A user who has logged in with the temporary password and set `password`. */
export async function userWithPassword(base: string, username: string, temp: string, password: string): Promise<Client> {
  const c = new Client(base);
  await c.login(username, temp);
  await c.get('/account');
  const r = await c.post('/account/password', { current: temp, new_password: password, confirm: password });
  if (r.status !== 303) throw new Error(`${username} password change: ${r.status}`);
  return c;
}

export const CHROMIUM = '/usr/bin/chromium';

/** Debian's chromium, headless, in a fresh profile. Close the returned context, then remove `profile`. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'megalog-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    profile,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
