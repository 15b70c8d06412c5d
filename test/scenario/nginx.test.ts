// The shipped nginx site (packaging/nginx/megalog) in front of the real console, on Debian's nginx
// (1.22 on Debian 12), with the certificate the package's postinst makes. Only the listen ports, the
// certificate paths and the upstream port are rewritten for the test; every other directive is the
// shipped one. The "elsewhere" client is 127.0.0.2: the site allows /metrics from 127.0.0.1 only.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as h2connect } from 'node:http2';
import { createServer, connect as tcpConnect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';

const NGINX = '/usr/sbin/nginx';
const SITE = join(ROOT, 'packaging', 'nginx', 'megalog');
const POSTINST = join(ROOT, 'packaging', 'debian', 'postinst');

interface Res {
  status: number;
  /** Header name (lower case) and value, one entry per header line as sent. */
  lines: [string, string][];
  body: string;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** `text` with each `from` replaced, checking it occurs exactly `times` times (so a changed site file is noticed). */
function rewrite(text: string, from: string, to: string, times: number): string {
  const n = text.split(from).length - 1;
  if (n !== times) throw new Error(`site file: expected ${times} × ${JSON.stringify(from)}, found ${n}`);
  return text.split(from).join(to);
}

/**
 * Run the package's postinst ("configure") against `dir` instead of /: paths under /etc/megalog and
 * /var/lib/megalog moved there, and the commands that would change the system (users, owners, sysctl,
 * systemd) replaced by stubs that log their arguments. openssl is the real one.
 */
function runPostinst(dir: string): { out: string; log: string } {
  const stubs = join(dir, 'stubs');
  mkdirSync(stubs, { recursive: true });
  const logFile = join(dir, 'stubs.log');
  writeFileSync(logFile, '');
  for (const cmd of ['getent', 'addgroup', 'adduser', 'chown', 'sysctl', 'systemctl']) {
    writeFileSync(join(stubs, cmd), `#!/bin/sh\necho "${cmd} $*" >> '${logFile}'\n`);
    chmodSync(join(stubs, cmd), 0o755);
  }
  // install -d [-o U] [-g G] [-m M] DIR...: the directories only (no megalog user here).
  writeFileSync(join(stubs, 'install'), `#!/bin/sh\necho "install $*" >> '${logFile}'\nwhile [ $# -gt 0 ]; do case $1 in -d) ;; -o|-g|-m) shift ;; *) mkdir -p "$1" ;; esac; shift; done\n`);
  chmodSync(join(stubs, 'install'), 0o755);
  mkdirSync(join(dir, 'etc', 'megalog'), { recursive: true });
  writeFileSync(join(dir, 'etc', 'megalog', 'megalog.yaml'), '');
  let script = readFileSync(POSTINST, 'utf8');
  script = script.replaceAll('/etc/megalog', join(dir, 'etc', 'megalog')).replaceAll('/var/lib/megalog', join(dir, 'var', 'lib', 'megalog'));
  script = script.replaceAll('/run/systemd/system', join(dir, 'no-systemd'));
  writeFileSync(join(dir, 'postinst'), script);
  const out = execFileSync('sh', [join(dir, 'postinst'), 'configure'], { encoding: 'utf8', env: { ...process.env, PATH: `${stubs}:${process.env.PATH}` } });
  return { out, log: readFileSync(logFile, 'utf8') };
}

describe('nginx site in front of the console', () => {
  let dir: string;
  let tls: string;
  let ca: Buffer;
  let web: Daemon;
  let nginx: ChildProcess | null = null;
  let nginxErr = '';
  let tlsPort: number;
  let postinst: { out: string; log: string };

  /** One HTTPS request through nginx, from `from` (127.0.0.1 by default). */
  function req(method: string, path: string, opts: { headers?: Record<string, string>; body?: string; from?: string } = {}): Promise<Res> {
    return new Promise((resolve, reject) => {
      const r = httpsRequest(
        {
          host: '127.0.0.1',
          port: tlsPort,
          method,
          path,
          headers: opts.headers ?? {},
          localAddress: opts.from ?? '127.0.0.1',
          ca,
          checkServerIdentity: () => undefined, // the chain is checked against the postinst's certificate; its name is the host's, not 127.0.0.1
          agent: false,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (body += c));
          res.on('end', () => {
            const lines: [string, string][] = [];
            for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
            resolve({ status: res.statusCode!, lines, body });
          });
        },
      );
      r.on('error', reject);
      r.end(opts.body);
    });
  }

  const header = (r: Res, name: string) => r.lines.filter(([k]) => k === name).map(([, v]) => v);

  /** A browser's first visit: the login page's cookies (name=value) and form token. */
  async function loginPage(): Promise<{ cookie: string; token: string }> {
    const r = await req('GET', '/login');
    expect(r.status).toBe(200);
    const cookie = header(r, 'set-cookie')
      .map((c) => c.split(';')[0]!)
      .join('; ');
    const token = /name="_csrf" value="([^"]+)"/.exec(r.body)?.[1];
    expect(token).toBeTruthy();
    return { cookie, token: token! };
  }

  function loginForm(token: string): string {
    return new URLSearchParams({ username: 'superadmin', password: 'admin123', _csrf: token }).toString();
  }

  beforeAll(async () => {
    dir = tempDir('megalog-nginx-');
    postinst = runPostinst(dir);
    tls = join(dir, 'etc', 'megalog', 'tls');
    ca = readFileSync(join(tls, 'console.crt'));
    web = await startDaemon(dir, {}, 'web');
    tlsPort = await freePort();
    const httpPort = await freePort();
    let site = readFileSync(SITE, 'utf8');
    site = rewrite(site, 'listen 80;', `listen 127.0.0.1:${httpPort};`, 1);
    site = rewrite(site, 'listen [::]:80;', '', 1);
    site = rewrite(site, 'listen 443 ssl http2;', `listen 127.0.0.1:${tlsPort} ssl http2;`, 1);
    site = rewrite(site, 'listen [::]:443 ssl http2;', '', 1);
    site = rewrite(site, ' /etc/megalog/tls/console.crt;', ` ${tls}/console.crt;`, 1);
    site = rewrite(site, ' /etc/megalog/tls/console.key;', ` ${tls}/console.key;`, 1);
    site = rewrite(site, 'http://127.0.0.1:5000;', `http://127.0.0.1:${web.webPort};`, 2);
    writeFileSync(join(dir, 'site.conf'), site);
    mkdirSync(join(dir, 'nginx-tmp'));
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${join(dir, 'nginx-tmp', t)};`).join('\n  ');
    writeFileSync(
      join(dir, 'nginx.conf'),
      `daemon off;
master_process off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'nginx-error.log')} notice;
events { worker_connections 64; }
http {
  access_log off;
  ${temp}
  include ${join(dir, 'site.conf')};
}
`,
    );
    // `nginx -t` first: the site must load on this nginx (Debian 12's 1.22 has no `http2 on;`).
    execFileSync(NGINX, ['-t', '-q', '-e', join(dir, 'nginx-error.log'), '-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'pipe' });
    nginx = spawn(NGINX, ['-e', join(dir, 'nginx-error.log'), '-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    nginx.stderr!.on('data', (c) => (nginxErr += c));
    await waitFor('nginx listening', () => {
      if (nginx!.exitCode !== null) throw new Error(`nginx exited: ${nginxErr}`);
      return new Promise<boolean>((resolve) => {
        const s = tcpConnect(tlsPort, '127.0.0.1', () => (s.destroy(), resolve(true)));
        s.on('error', () => resolve(false));
      });
    });
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((r) => nginx!.once('exit', r));
      nginx.kill('SIGQUIT');
      await exited;
    }
    if (web) await stopDaemon(web);
  });

  it('postinst made a self-signed certificate, key 0640 for root:megalog, and keeps it on the next run', () => {
    expect(postinst.out).toMatch(/self-signed console certificate/);
    expect(postinst.log).toContain(`chown root:megalog ${join(tls, 'console.key')}`);
    expect(statSync(join(tls, 'console.key')).mode & 0o777).toBe(0o640);
    const subject = execFileSync('openssl', ['x509', '-noout', '-subject', '-ext', 'subjectAltName', '-in', join(tls, 'console.crt')], { encoding: 'utf8' });
    expect(subject).toContain(`DNS:${execFileSync('uname', ['-n'], { encoding: 'utf8' }).trim()}`);
    const again = runPostinst(dir);
    expect(again.out).not.toMatch(/self-signed/);
    expect(readFileSync(join(tls, 'console.crt'))).toEqual(ca);
  });

  it('blocks /metrics from elsewhere whatever its case, and lets the host scrape it', async () => {
    for (const path of ['/metrics', '/METRICS', '/Metrics', '/metrics/', '/mEtRiCs?x=1']) {
      expect((await req('GET', path, { from: '127.0.0.2' })).status, path).toBe(403);
    }
    const own = await req('GET', '/metrics');
    expect(own.status).toBe(200);
    expect(own.body).toMatch(/^# HELP /m);
  });

  it('the console itself routes case-sensitively, as nginx does: /METRICS is not /metrics', async () => {
    expect((await fetch(`http://127.0.0.1:${web.webPort}/METRICS`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${web.webPort}/metrics`)).status).toBe(200);
  });

  it('sends exactly one Strict-Transport-Security header', async () => {
    for (const [path, from] of [['/login', '127.0.0.1'], ['/health', '127.0.0.1'], ['/METRICS', '127.0.0.2']] as const) {
      expect(header(await req('GET', path, { from }), 'strict-transport-security'), path).toEqual(['max-age=31536000']);
    }
  });

  it('a login POST on a TLS port other than 443 passes the Origin check', async () => {
    const { cookie, token } = await loginPage();
    const r = await req('POST', '/login', {
      headers: { origin: `https://127.0.0.1:${tlsPort}`, cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: loginForm(token),
    });
    expect(r.status, r.body.slice(0, 300)).toBe(303);
    expect(header(r, 'location')).toEqual(['/account']);
  });

  it('a login POST over HTTP/2 passes the Origin check too (Host from :authority)', async () => {
    const { cookie, token } = await loginPage();
    const session = h2connect(`https://127.0.0.1:${tlsPort}`, { ca, checkServerIdentity: () => undefined });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const s = session.request({
          ':method': 'POST',
          ':path': '/login',
          origin: `https://127.0.0.1:${tlsPort}`,
          cookie,
          'content-type': 'application/x-www-form-urlencoded',
        });
        s.on('response', (h) => resolve(Number(h[':status'])));
        s.on('error', reject);
        s.end(loginForm(token));
      });
      expect(status).toBe(303);
    } finally {
      session.close();
    }
  });

  it('a forged X-Forwarded-Host does not let a cross-origin POST through', async () => {
    const { cookie, token } = await loginPage();
    const r = await req('POST', '/login', {
      headers: { origin: 'https://evil.example', 'x-forwarded-host': 'evil.example', cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: loginForm(token),
    });
    expect(r.status).toBe(403);
    expect(header(r, 'location')).toEqual([]);
  });
});
