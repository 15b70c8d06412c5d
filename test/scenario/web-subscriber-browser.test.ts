// Issue #16 in a real browser (Debian's chromium via playwright-core) against the real `megalog run`
// fed by UDP: MikroTik lines whose PPPoE interfaces name the subscribers → a search by public
// ip:port@T shows the login; an endpoint-dependent mapping (one public ip:port, two subscribers, two
// destinations) is ambiguous, and the destination narrows it to one, saying so; "what did login X
// hold" over a range; the court report and the CSV carry the login; the daily view counts logins.
// A hostile login (markup) is shown as text. A public address no log covers, under deterministic NAT,
// is answered from the rule set in force (imported with `megalog rules`), in the page and the report.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { firstLogin, launchChromium } from '../helpers/browser.js';
import { BIN, committedRaw, sendUdp, startDaemon, stopDaemon, tempDir, testEnv, waitFor, type Daemon } from '../helpers/daemon.js';
import { mikrotikLine } from '../helpers/gen.js';

const T = Math.floor((Date.now() - 2 * 3600_000) / 1000) * 1000;
const wall = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' '); // the daemon's zone is UTC here
let d: Daemon;
let dir: string;
let base: string;
let browser: Awaited<ReturnType<typeof launchChromium>>;
const problems: string[] = [];

beforeAll(async () => {
  dir = tempDir('megalog-web-subscriber-');
  d = await startDaemon(dir, {}, 'run');
  base = `http://127.0.0.1:${d.webPort}`;
  const lines = [
    mikrotikLine({ time: T, srcIp: '100.64.9.9', srcPort: 5555, natIp: '203.0.113.77', natPort: 40312, dstIp: '198.18.0.1', dstPort: 443, proto: 'TCP', user: 'joana' }),
    // EDM: the same public ip:port to two subscribers at once, one per destination
    mikrotikLine({ time: T, srcIp: '100.64.9.10', srcPort: 6000, natIp: '203.0.113.78', natPort: 41000, dstIp: '198.51.100.80', dstPort: 443, proto: 'TCP', user: 'pedro' }),
    mikrotikLine({ time: T + 5000, srcIp: '100.64.9.11', srcPort: 6100, natIp: '203.0.113.78', natPort: 41000, dstIp: '198.51.100.81', dstPort: 443, proto: 'TCP', user: '<b>maria</b>' }),
  ];
  await sendUdp(d.udpPort, lines);
  await waitFor('lines committed', () => [...committedRaw(join(dir, 'cold')).values()].flat().length >= 3);
  // Deterministic NAT for another public address, which no router logs.
  writeFileSync(join(dir, 'cgnat.txt'), '100.64.20.1 198.51.100.9 1024-17023 tcp\n100.64.20.2 198.51.100.9 17024-33023 tcp\n');
  const imp = spawnSync(process.execPath, [BIN, 'rules', 'import', join(dir, 'cgnat.txt'), '--format', 'table', '--valid-from', wall(T - 86_400_000), '--case', 'CHG-16/2026'], { env: testEnv(dir), encoding: 'utf8' });
  expect(imp.status, imp.stderr).toBe(0);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (d) await stopDaemon(d);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function search(page: Page, fields: Record<string, string>): Promise<void> {
  await page.goto(`${base}/search`);
  for (const [k, v] of Object.entries(fields)) await page.locator(`input[name=${k}]`).fill(v);
  await page.locator('input[name=case_ref]').fill('Ofício 16/2026');
  await page.locator('textarea[name=justification]').fill('Identificação do assinante pedida no ofício');
  await page.getByRole('button', { name: 'Buscar' }).click();
}

test('a search by public ip:port@T shows the login; the destination narrows an EDM answer; login search; report, CSV, daily view', async () => {
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  await firstLogin(page, base);

  // 1. ip:port@T → the login the PPPoE interface named
  await search(page, { nat_ip: '203.0.113.77', nat_port: '40312', time: wall(T + 10_000) });
  await expect.poll(() => page.locator('.verdict-name').textContent()).toBe('Único');
  const row = page.locator('table.candidates tbody tr').first();
  expect(await row.locator('td.subscriber').textContent()).toMatch(/joana\s*\(do log\)/);
  expect(await row.locator('td.dst').textContent()).toContain('198.18.0.1:443');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Exportar CSV' }).click()]);
  const csv = readFileSync((await download.path())!, 'utf8');
  expect(csv.split('\r\n')[0]).toContain('"dst_ip","dst_port","login","subscriber_source","raw"');
  expect(csv).toContain('"198.18.0.1","443","joana","log"');
  const [report] = await Promise.all([page.context().waitForEvent('page'), page.getByRole('link', { name: 'Relatório para o ofício' }).click()]);
  await report.waitForLoadState();
  expect(await report.locator('table.report-cands tbody tr').first().textContent()).toMatch(/joana/);
  await report.close();

  // 2. EDM: ambiguous without the destination…
  await search(page, { nat_ip: '203.0.113.78', nat_port: '41000', time: wall(T + 10_000) });
  await expect.poll(() => page.locator('.verdict-name').textContent()).toBe('Ambíguo');
  expect(await page.locator('table.candidates td.subscriber').allTextContents()).toEqual([expect.stringContaining('pedro'), expect.stringContaining('<b>maria</b>')]);
  expect(await page.locator('table.candidates b').count()).toBe(0); // the login's markup is text, never HTML
  expect(await page.locator('#narrowed').count()).toBe(0);
  // …unique with it, and the answer says it was narrowed
  await search(page, { nat_ip: '203.0.113.78', nat_port: '41000', time: wall(T + 10_000), dst_ip: '198.51.100.81', dst_port: '443' });
  await expect.poll(() => page.locator('.verdict-name').textContent()).toBe('Único');
  expect(await page.locator('#narrowed').textContent()).toMatch(/restrita pelo destino 198\.51\.100\.81:443: sem ele, 2 endereço/);
  expect(await page.locator('table.candidates tbody tr').first().textContent()).toContain('100.64.9.11:6100');
  expect(await page.locator('table.candidates td.subscriber').allTextContents()).toEqual([expect.stringContaining('<b>maria</b>')]);

  // 3. what did login pedro hold over a range
  await page.goto(`${base}/search?mode=subscriber`);
  await page.locator('input[name=login]').fill('pedro');
  await page.locator('input[name=from]').fill(wall(T - 3600_000));
  await page.locator('input[name=to]').fill(wall(T + 3600_000));
  await page.locator('input[name=case_ref]').fill('Ofício 16/2026');
  await page.locator('textarea[name=justification]').fill('O que o login usou no período');
  await page.getByRole('button', { name: 'Buscar' }).click();
  await expect.poll(() => page.locator('table.candidates tbody tr').count()).toBeGreaterThan(0);
  const held = await page.locator('table.candidates tbody tr:not(.rawrow)').allTextContents();
  expect(held).toHaveLength(1);
  expect(held[0]).toContain('203.0.113.78:41000');
  expect(held[0]).toContain('100.64.9.10:6000');
  expect(await page.locator('#search-results dl').textContent()).toMatch(/Login consultado\s*pedro/);

  // 4. deterministic NAT: no log covers 198.51.100.9, the rules in force answer, and say so
  await search(page, { nat_ip: '198.51.100.9', nat_port: '20000', time: wall(T) });
  await expect.poll(() => page.locator('.verdict-name').textContent()).toBe('Único');
  expect(await page.locator('.verdict .rules-rules').textContent()).toMatch(/Resposta pelas regras de NAT determinístico.*conjunto 1 \(cgnat\.txt, SHA-256 [0-9a-f]{64}\).*CHG-16\/2026/);
  const ruleRow = page.locator('table.candidates tbody tr').first();
  expect(await ruleRow.textContent()).toContain('100.64.20.2');
  expect(await ruleRow.textContent()).toContain('198.51.100.9:17024');
  const [rulesReport] = await Promise.all([page.context().waitForEvent('page'), page.getByRole('link', { name: 'Relatório para o ofício' }).click()]);
  await rulesReport.waitForLoadState();
  expect(await rulesReport.locator('.verdict .rules-rules').textContent()).toMatch(/regras de NAT determinístico.*SHA-256/);
  expect(await rulesReport.locator('table.report-cands').textContent()).toContain('100.64.20.2 198.51.100.9 17024-33023 tcp');
  await rulesReport.close();

  // 5. the daily view counts the day's logins
  await page.goto(`${base}/search/daily?day=${new Date(T).toISOString().slice(0, 10)}`);
  expect(await page.locator('#daily-logins').textContent()).toBe('3');
  expect(problems).toEqual([]);
}, 120_000);
