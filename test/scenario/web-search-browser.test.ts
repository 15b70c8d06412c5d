// The forensic console in a real browser (Debian's headless chromium via playwright-core) against the
// real `megalog run` fed by UDP: first login and forced password change, an analyst created by the
// admin, then as analyst and as admin: search → verdict → original line → CSV download → court report;
// the analyst cannot reach user admin; the audit page lists each search with its case reference.
// No script error, no CSP violation, no request leaving the console's origin.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { committedRaw, sendUdp, startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';
import { mikrotikLine } from '../helpers/gen.js';

const T = Math.floor((Date.now() - 2 * 3600_000) / 1000) * 1000;
const WALL = new Date(T + 10_000).toISOString().slice(0, 19).replace('T', ' '); // the daemon's zone is UTC here
let d: Daemon;
let dir: string;
let base: string;
let browser: Awaited<ReturnType<typeof launchChromium>>;
const problems: string[] = [];
const foreign: string[] = [];

beforeAll(async () => {
  dir = tempDir('megalog-web-browser-search-');
  d = await startDaemon(dir, {}, 'run');
  base = `http://127.0.0.1:${d.webPort}`;
  const lines = [mikrotikLine({ time: T, srcIp: '100.64.9.9', srcPort: 5555, natIp: '203.0.113.77', natPort: 40312, dstIp: '198.18.0.1', dstPort: 443, proto: 'TCP', user: 'joana' })];
  await sendUdp(d.udpPort, lines);
  await waitFor('line committed', () => [...committedRaw(join(dir, 'cold')).values()].flat().length >= 1);
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
  page.on('request', (req) => {
    if (!req.url().startsWith(`${base}/`)) foreign.push(req.url());
  });
}

async function login(page: Page, user: string, password: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.getByLabel('Usuário').fill(user);
  await page.getByLabel('Senha', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Entrar' }).click();
}

async function changePassword(page: Page, current: string, next: string): Promise<void> {
  await page.waitForURL(`${base}/account`);
  await page.getByLabel('Senha atual', { exact: true }).fill(current);
  await page.getByLabel('Nova senha', { exact: true }).fill(next);
  await page.getByLabel('Repita a nova senha').fill(next);
  await page.getByRole('button', { name: 'Alterar senha' }).click();
  await page.waitForURL(`${base}/`);
}

async function logout(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sair' }).click();
  await page.waitForURL(/\/login\?m=login\.logged_out$/);
}

/** Search → verdict → original line → CSV → report, as whoever is signed in. */
async function searchAndExport(page: Page, caseRef: string): Promise<void> {
  await page.getByRole('link', { name: 'Busca', exact: true }).click();
  await page.waitForURL(`${base}/search`);
  expect(await page.locator('#zone-note').textContent()).toContain('UTC (UTC+00:00)');
  await page.locator('input[name=nat_ip]').fill('203.0.113.77');
  await page.locator('input[name=nat_port]').fill('40312');
  await page.locator('input[name=time]').fill(WALL);
  await page.locator('input[name=case_ref]').fill(caseRef);
  await page.locator('input[name=authority]').fill('2ª Vara Federal');
  await page.locator('textarea[name=justification]').fill('Identificação do assinante pedida no ofício');
  await page.getByRole('button', { name: 'Buscar' }).click();
  await expect.poll(() => page.locator('.verdict-name').textContent()).toBe('Único');
  expect(page.url()).toMatch(/\/search\/r\/[\w-]+$/); // htmx pushed the result's own address
  expect(await page.locator('table.candidates tbody tr').first().textContent()).toContain('100.64.9.9:5555');

  await page.getByRole('link', { name: 'linha original' }).first().click();
  await expect.poll(() => page.locator('.rawline pre').textContent()).toContain('in:<pppoe-joana>');
  expect(await page.locator('.rawline pre').textContent()).toContain('NAT (100.64.9.9:5555->203.0.113.77:40312)');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Exportar CSV' }).click()]);
  const csv = readFileSync((await download.path())!, 'utf8');
  expect(csv).toContain('"100.64.9.9","5555","203.0.113.77","40312","40312","tcp"');
  expect(download.suggestedFilename()).toMatch(/\.csv$/);

  const [report] = await Promise.all([page.context().waitForEvent('page'), page.getByRole('link', { name: 'Relatório para o ofício' }).click()]);
  watch(report);
  await report.waitForLoadState();
  const text = (await report.locator('article.report').textContent()) ?? '';
  expect(text).toContain(caseRef);
  expect(text).toContain('2ª Vara Federal');
  expect(text).toContain('Único');
  expect(text).toContain('in:<pppoe-joana>');
  // T's day is still being written: no hash yet (it could not be checked later), the time it is sealed instead.
  expect(text).toMatch(/sem hash: dia ainda aberto/);
  expect(text).toMatch(/aberto \(em gravação\); será selado após \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/);
  await report.close();
}

test('analyst and admin: search → original line → CSV → report; roles; audit lists each search', async () => {
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  watch(page);

  // First start: superadmin/admin123 only sets a new password.
  await login(page, 'superadmin', 'admin123');
  await changePassword(page, 'admin123', 'frase longa do administrador');
  await page.goto(`${base}/users`);
  await page.locator('input[name=username]').fill('ana.analista');
  await page.locator('select[name=role]').selectOption('analyst');
  await page.getByRole('button', { name: 'Criar', exact: true }).click();
  const temp = (await page.locator('code.secret').textContent())!.trim();
  await logout(page);

  // The analyst: forced change, search and exports, no user admin.
  await login(page, 'ana.analista', temp);
  await changePassword(page, temp, 'frase longa da analista');
  expect(await page.locator('nav li a').allTextContents()).toEqual(['Painel', 'Busca', 'Exportações', 'Senha']);
  await searchAndExport(page, 'Proc. 5001234-11.2026.4.03.6100');
  const res = await page.goto(`${base}/users`);
  expect(res!.status()).toBe(403);
  expect(await page.locator('main').textContent()).toContain('Acesso negado');
  // The only console message so far is the browser reporting that 403.
  expect(problems.splice(0)).toEqual(['console: Failed to load resource: the server responded with a status of 403 (Forbidden)']);
  await logout(page);

  // The admin does the same, then reads the audit log.
  await login(page, 'superadmin', 'frase longa do administrador');
  await page.waitForURL(`${base}/`);
  await searchAndExport(page, 'Ofício 42/2026-DP');
  await page.getByRole('link', { name: 'Auditoria' }).click();
  await page.locator('select[name=action]').selectOption('search');
  await page.getByRole('button', { name: 'Filtrar' }).click();
  await expect.poll(() => page.locator('#audit-results tbody tr').count()).toBe(2);
  const rows = await page.locator('#audit-results tbody tr').allTextContents();
  expect(rows.some((r) => r.includes('ana.analista') && r.includes('Proc. 5001234-11.2026.4.03.6100'))).toBe(true);
  expect(rows.some((r) => r.includes('superadmin') && r.includes('Ofício 42/2026-DP'))).toBe(true);
  await page.locator('select[name=action]').selectOption('export');
  await page.getByRole('button', { name: 'Filtrar' }).click();
  await expect.poll(() => page.locator('#audit-results tbody tr').count()).toBe(4); // CSV + report, twice

  expect(problems).toEqual([]);
  expect(foreign).toEqual([]);
}, 90_000);
