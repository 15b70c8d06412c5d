// The console in a real browser (Debian's headless chromium via playwright-core): first login as
// superadmin, forced password change, dashboard with its self-refreshing panel, logout — with no
// CSP violation, no script error, and no request leaving the console's origin.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchChromium, startTestWeb, type TestWeb } from '../helpers/browser.js';

let web: TestWeb;
let browser: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  web = await startTestWeb();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await web?.close();
});

test('login → forced password change → dashboard (refreshing itself) → logout', async () => {
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  const problems: string[] = [];
  const foreign: string[] = [];
  const polls: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()} ${res.url()}`);
  });
  page.on('request', (req) => {
    if (!req.url().startsWith(web.base)) foreign.push(req.url());
    if (req.headers()['x-megalog-poll'] === '1') polls.push(req.url());
  });

  await page.goto(`${web.base}/`);
  await page.waitForURL(/\/login\?m=login\.required$/);
  await page.getByLabel('Usuário').fill('superadmin');
  await page.getByLabel('Senha', { exact: true }).fill('admin123');
  await page.getByRole('button', { name: 'Entrar' }).click();

  await page.waitForURL(`${web.base}/account`);
  await expect.poll(() => page.locator('.notice').textContent()).toContain('Antes de continuar, defina uma nova senha');
  // Only the password page and logout are offered until then.
  expect(await page.locator('nav li a').allTextContents()).toEqual(['Senha']);
  await page.getByLabel('Senha atual', { exact: true }).fill('admin123');
  await page.getByLabel('Nova senha', { exact: true }).fill('uma frase longa e secreta');
  await page.getByLabel('Repita a nova senha').fill('uma frase longa e secreta');
  await page.getByRole('button', { name: 'Alterar senha' }).click();

  await page.waitForURL(`${web.base}/`);
  await expect.poll(() => page.locator('h1').textContent()).toBe('Painel');
  expect(await page.locator('.flash.ok').textContent()).toContain('Senha alterada');
  expect(await page.locator('nav li a').allTextContents()).toEqual(['Painel', 'Busca', 'Exportações', 'Auditoria', 'Usuários', 'Senha']);
  expect(await page.locator('#dash-panel').textContent()).toContain('98.765');
  // A device name from the network shows as text, never as markup.
  expect(await page.locator('#dash-panel td', { hasText: 'cgnat-' }).first().textContent()).toBe('cgnat-<b>02</b>');
  expect(await page.locator('#dash-panel b').count()).toBe(0);

  // htmx replaces the panel by itself (every 5 s), marked as a poll.
  web.deps.snapshot = { ...web.deps.snapshot, records_today: 123_456 };
  await expect.poll(() => page.locator('#dash-panel .kpi-value').first().textContent(), { timeout: 12_000, interval: 500 }).toBe('123.456');
  expect(polls.length).toBeGreaterThan(0);

  await page.getByRole('button', { name: 'Sair' }).click();
  await page.waitForURL(/\/login\?m=login\.logged_out$/);
  expect(await page.locator('.notice').textContent()).toContain('Você saiu do MegaLog.');
  await page.goto(`${web.base}/users`);
  await page.waitForURL(/\/login\?m=login\.required/);

  expect(problems).toEqual([]);
  expect(foreign).toEqual([]);
});
