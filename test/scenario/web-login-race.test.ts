// Password guessing in parallel against the real `megalog run`: the account lockout and the
// per-address throttle hold under a burst (the slot is taken before the hash, not after), and a
// flood from a few addresses does not fill the hash queue for everyone else.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bootstrapAdmin, Client, createUser, userWithPassword } from '../helpers/client.js';
import { startDaemon, stopDaemon, tempDir, type Daemon } from '../helpers/daemon.js';

let d: Daemon;
let dir: string;
let base: string;
let admin: Client;

beforeAll(async () => {
  dir = tempDir('megalog-login-race-');
  d = await startDaemon(dir, {}, 'run');
  base = `http://127.0.0.1:${d.webPort}`;
  admin = await bootstrapAdmin(base);
}, 60_000);

afterAll(async () => {
  if (d) await stopDaemon(d);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function failures(where: string, arg: string): Array<{ user: string; source: string; reason: string }> {
  const db = new Database(join(dir, 'users.db'), { readonly: true });
  try {
    return (db.prepare(`SELECT user, source, query FROM audit WHERE action = 'login_failed' AND ${where} ORDER BY id`).all(arg) as Array<{ user: string; source: string; query: string }>).map(
      (r) => ({ user: r.user, source: r.source, reason: JSON.parse(r.query).reason as string }),
    );
  } finally {
    db.close();
  }
}

/** Clients that already hold the login page's CSRF token, so the POSTs below go out together. */
async function ready(n: number, ip: (i: number) => string): Promise<Client[]> {
  const cs: Client[] = [];
  for (let i = 0; i < n; i++) {
    const c = new Client(base, { 'x-forwarded-for': ip(i) });
    await c.get('/login');
    cs.push(c);
  }
  return cs;
}

async function newUser(name: string, password: string): Promise<void> {
  const temp = await createUser(admin, name, 'analyst');
  await userWithPassword(base, name, temp, password);
}

describe('lockout and throttle under parallel guesses', () => {
  test('60 parallel wrong passwords for one account: only 5 are checked, and the right one 0.3 s later is refused', async () => {
    await newUser('race.victim', 'victim long passphrase');
    const guessers = await ready(60, (i) => `198.51.100.${i + 1}`);
    const owner = await ready(1, () => '192.0.2.200');
    const burst = guessers.map((c, i) => c.post('/login', { username: 'race.victim', password: `wrong guess ${i}` }));
    await new Promise((r) => setTimeout(r, 300));
    const right = await owner[0]!.post('/login', { username: 'race.victim', password: 'victim long passphrase' });
    const statuses = (await Promise.all(burst)).map((r) => r.status);

    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(right.status).toBe(401);
    const reasons = failures('user = ?', 'race.victim').map((f) => f.reason);
    expect(reasons.filter((r) => r === 'bad_password')).toHaveLength(5);
    expect(reasons.filter((r) => r === 'locked')).toHaveLength(56);
  });

  test('80 parallel tries from one address: 20 are checked, the other 60 are throttled without a hash', async () => {
    const ip = '203.0.113.80';
    const cs = await ready(80, () => ip);
    const statuses = (await Promise.all(cs.map((c, i) => c.post('/login', { username: `ghost${i}`, password: 'nope nope nope' })))).map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(60);
    expect(failures('source = ?', ip)).toHaveLength(20);
  });
});

describe('the account page', () => {
  test('a signed-in session guessing the current password in parallel gets 5 checks, then none', async () => {
    const temp = await createUser(admin, 'race.session', 'analyst');
    const c = new Client(base, { 'x-forwarded-for': '192.0.2.77' });
    await c.login('race.session', temp);
    await c.get('/account');
    const change = (current: string) => c.post('/account/password', { current, new_password: 'brand new passphrase', confirm: 'brand new passphrase' });
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => change(`guess number ${i}`)));
    expect(new Set(burst.map((r) => r.status))).toEqual(new Set([422]));
    // The account is locked now: even the right current password is not checked.
    expect((await change(temp)).status).toBe(422);
    const db = new Database(join(dir, 'users.db'), { readonly: true });
    try {
      const u = db.prepare("SELECT failed_count, locked_until_ms FROM users WHERE username = 'race.session'").get() as { failed_count: number; locked_until_ms: number };
      expect(u.failed_count).toBe(5);
      expect(u.locked_until_ms).toBeGreaterThan(Date.now());
    } finally {
      db.close();
    }
  });
});

describe('hash queue fairness', () => {
  test('while a few addresses flood the login, a user from another address still signs in', async () => {
    await newUser('flood.user', 'flood user passphrase');
    // 8 attacker addresses (20 tries each before their throttle) keep more checks outstanding than
    // the queue holds, refiring whatever is turned away.
    const attackers = await ready(8, (i) => `100.80.${i}.1`);
    let stop = false;
    let busy = 0;
    let n = 0;
    const flood = async () => {
      while (!stop) {
        const i = n++;
        const r = await attackers[i % attackers.length]!.post('/login', { username: `nobody${i}`, password: 'guess guess guess' });
        if (r.status === 503) busy++;
        if (r.status !== 401) await new Promise((res) => setTimeout(res, 30));
      }
    };
    const loops = Array.from({ length: 70 }, flood);
    let status = 0;
    try {
      const deadline = Date.now() + 20_000;
      while (busy < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(busy).toBeGreaterThanOrEqual(20); // the queue is full: attackers are being turned away
      const [u] = await ready(1, () => '192.0.2.10');
      status = (await u!.post('/login', { username: 'flood.user', password: 'flood user passphrase' })).status;
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    expect(status).toBe(303);
  });
});
