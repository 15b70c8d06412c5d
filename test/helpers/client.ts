// An HTTP client that behaves like a browser toward the console (cookie jar, Origin header, CSRF token
// from the last page) and the login flows on it. Imports nothing of the web stack: loading nunjucks
// more than halves the parsers' speed in that process, and the bench measures both in one.

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
