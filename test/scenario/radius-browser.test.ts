// The answer chain in a real browser (Debian's chromium): radclient accounting for a PPPoE session and
// a MikroTik NAT line for its inside address reach `megalog run`; a search by public ip:port@T shows,
// under the candidate, the subscriber step (login, MAC, NAS, session times, its own verdict), and the
// court report carries the chain with the accounting packets as evidence.
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { firstLogin, launchChromium } from '../helpers/browser.js';
import { committedRaw, sendUdp, startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';
import { mikrotikLine } from '../helpers/gen.js';

const SECRET = 'browser-secret';
let d: Daemon;
let dir: string;
let base: string;
let wall = '';
let browser: Awaited<ReturnType<typeof launchChromium>>;
const problems: string[] = [];

function radclient(attrs: string[]): string {
  const r = spawnSync('radclient', ['-x', '-r', '1', '-t', '3', `127.0.0.1:${d.radiusPort}`, 'acct', SECRET], { input: `${attrs.join('\n')}\n`, encoding: 'utf8', timeout: 20_000 });
  return `${r.stdout}${r.stderr}`;
}

beforeAll(async () => {
  dir = tempDir('megalog-radius-browser-');
  const clients = join(dir, 'radius-clients');
  writeFileSync(clients, `127.0.0.1 ${SECRET}\n`);
  chmodSync(clients, 0o600);
  d = await startDaemon(dir, { MEGALOG_RADIUS_ACCT_LISTEN: '127.0.0.1:0', MEGALOG_RADIUS_CLIENTS_FILE: clients }, 'run');
  base = `http://127.0.0.1:${d.webPort}`;
  const session = ['User-Name = "joana@provedor"', 'Framed-IP-Address = 100.64.9.9', 'Calling-Station-Id = "AA-BB-CC-00-11-22"', 'NAS-Identifier = "bng-sp-01"', 'Acct-Session-Id = "81a0beef"'];
  expect(radclient(['Acct-Status-Type = Start', ...session])).toMatch(/Received Accounting-Response/);
  await new Promise((r) => setTimeout(r, 1100));
  const t = Math.floor(Date.now() / 1000) * 1000;
  wall = new Date(t).toISOString().slice(0, 19).replace('T', ' '); // the daemon's zone is UTC here
  await sendUdp(d.udpPort, [mikrotikLine({ time: t, srcIp: '100.64.9.9', srcPort: 5555, natIp: '203.0.113.77', natPort: 40312, dstIp: '198.18.0.1', dstPort: 443, proto: 'TCP', user: 'joana' })]);
  await new Promise((r) => setTimeout(r, 1100));
  expect(radclient(['Acct-Status-Type = Stop', 'Acct-Session-Time = 3', ...session])).toMatch(/Received Accounting-Response/);
  await waitFor('line committed', () => [...committedRaw(join(dir, 'cold')).values()].flat().length >= 1);
  await waitFor('sessions committed', async () => /megalog_radius_events_committed_total 2\b/.test(await (await fetch(`${base}/metrics`)).text()));
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (d) await stopDaemon(d);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function watch(page: Page): void {
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
}

test('search by public ip:port@T shows the subscriber session, and the court report carries the chain', async () => {
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  watch(page);
  await firstLogin(page, base);

  await page.getByRole('link', { name: 'Busca', exact: true }).click();
  await page.locator('input[name=nat_ip]').fill('203.0.113.77');
  await page.locator('input[name=nat_port]').fill('40312');
  await page.locator('input[name=time]').fill(wall);
  await page.locator('input[name=case_ref]').fill('Ofício 16/2026');
  await page.locator('input[name=authority]').fill('2ª Vara Federal');
  await page.locator('textarea[name=justification]').fill('Identificação do assinante');
  await page.getByRole('button', { name: 'Buscar' }).click();
  await expect.poll(() => page.locator('.verdict-name').textContent()).toBe('Único');
  const chain = page.locator('table.candidates .chain').first();
  const text = (await chain.textContent()) ?? '';
  expect(text).toContain('Assinante em T (sessão RADIUS)');
  expect(text).toContain('uma sessão');
  // the login the NAT line named (<pppoe-joana>) is kept; the accounting session adds MAC, NAS and times
  expect(await chain.locator('.sub-login').textContent()).toBe('joana');
  expect(await chain.locator('.sub-mac').textContent()).toBe('aa:bb:cc:00:11:22');
  expect(await chain.locator('.sub-nas').textContent()).toBe('bng-sp-01');
  expect(text).toContain('a sessão detinha o endereço interno em T');
  await chain.locator('summary').click();
  await expect.poll(() => chain.locator('table.chain-events tbody tr').count()).toBe(2); // start, stop

  const [report] = await Promise.all([page.context().waitForEvent('page'), page.getByRole('link', { name: 'Relatório para o ofício' }).click()]);
  watch(report);
  await report.waitForLoadState();
  const body = (await report.locator('article.report').textContent()) ?? '';
  expect(body).toContain('Assinante em T (sessão RADIUS)');
  expect(body).toContain('joana@provedor');
  expect(body).toContain('aa:bb:cc:00:11:22');
  expect(body).toContain('81a0beef');
  expect(await report.locator('code.hex').first().textContent()).toMatch(/^04[0-9a-f]{38,}$/); // the Accounting-Request as received, in hex
  await report.close();
  expect(problems).toEqual([]);
}, 90_000);
