// Anyone who can send a UDP packet writes "log lines": this test sends MikroTik lines whose log prefix,
// PPPoE user, interface and host name carry <script>, <img onerror>, <svg onload> and hx-get /
// hx-trigger payloads (plus a line that is not UTF-8 and has terminal escapes) to the real
// `megalog run`, then in headless chromium searches for them, opens every original line, a bulk answer
// and the court report, and proves nothing ran: window.__pwned stays unset, no dialog opened, no
// injected element exists, and every request went to the console's own origin on an expected path.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { firstLogin, launchChromium } from '../helpers/browser.js';
import { committedRaw, sendUdp, startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';
import { mikrotikLine, type Mapping } from '../helpers/gen.js';

const T = Math.floor((Date.now() - 2 * 3600_000) / 1000) * 1000;
const WALL = new Date(T).toISOString().slice(0, 19).replace('T', ' ');
const NAT = '203.0.113.66';
const m = (i: number, extra: Partial<Mapping>): Mapping => ({ time: T + i * 1000, srcIp: `100.64.5.${i + 1}`, srcPort: 5000 + i, natIp: NAT, natPort: 41000 + i, dstIp: '198.18.0.1', dstPort: 443, proto: 'TCP', ...extra });

const SCRIPT = '<script>window.__pwned=1;alert(1)</script>';
const IMG = '<img src=x onerror=window.__pwned=2;alert(2)>';
const HTMX = '<div hx-get="/users?pwned=3" hx-trigger="load" hx-target="body" hx-swap="outerHTML">x</div>';
const ATTR = 'a" hx-get="/users?pwned=4" hx-trigger="load" x="';
const SVG = '<svg/onload=window.__pwned=5>';
const LINES: (string | Buffer)[] = [
  mikrotikLine(m(0, { tag: SCRIPT })),
  mikrotikLine(m(1, { user: IMG })),
  mikrotikLine(m(2, { tag: HTMX })),
  mikrotikLine(m(3, { user: ATTR })).replace('out:sfp-sfpplus1', `out:${SVG}`),
  mikrotikLine(m(4, {}), SVG),
  Buffer.concat([Buffer.from(mikrotikLine(m(5, {}))), Buffer.from([0xe9, 0x1b]), Buffer.from('[31m<b>red</b>')]),
];
const N = LINES.length;

let d: Daemon;
let dir: string;
let base: string;
let browser: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  dir = tempDir('megalog-web-xss-');
  d = await startDaemon(dir, {}, 'run');
  base = `http://127.0.0.1:${d.webPort}`;
  await sendUdp(d.udpPort, LINES);
  await waitFor('lines committed', () => [...committedRaw(join(dir, 'cold')).values()].flat().length >= N);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (d) await stopDaemon(d);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const EXPECTED_PATH = [
  /^\/$/,
  /^\/login(\?.*)?$/,
  /^\/account(\/password)?$/,
  /^\/static\/(htmx-2\.0\.8\.min\.js|megalog\.css|favicon\.svg)$/,
  /^\/favicon\.ico$/,
  /^\/search(\/bulk)?$/,
  /^\/search\/r\/[\w-]+(\?page=\d+)?$/,
  /^\/search\/bulk\/r\/[\w-]+$/,
  /^\/search\/bulk\/j\/[\w-]+$/, // a bulk still running after the POST's short wait: its panel polls
  /^\/search\/r\/[\w-]+\/line\/\d+$/,
  /^\/exports\/[\w-]+\/report$/,
];

interface Watch {
  requests: string[];
  dialogs: string[];
  errors: string[];
}

function watch(page: Page, w: Watch): void {
  page.on('request', (r) => w.requests.push(r.url()));
  page.on('dialog', (dlg) => {
    w.dialogs.push(dlg.message());
    void dlg.dismiss();
  });
  page.on('pageerror', (e) => w.errors.push(e.message));
}

async function assertClean(page: Page, w: Watch): Promise<void> {
  expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined();
  expect(await page.locator('main script, main img, main svg[onload], main [onerror], [hx-get*="pwned"], [hx-trigger="load"]').count()).toBe(0);
  expect(w.dialogs).toEqual([]);
  expect(w.errors).toEqual([]);
  for (const u of w.requests) {
    const url = new URL(u);
    expect(url.origin, u).toBe(base);
    expect(EXPECTED_PATH.some((re) => re.test(url.pathname + url.search)), u).toBe(true);
    expect(u).not.toContain('pwned');
  }
}

test('hostile log lines are shown as text: nothing executes, no unexpected request', async () => {
  const w: Watch = { requests: [], dialogs: [], errors: [] };
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  watch(page, w);

  await firstLogin(page, base);

  // IP-only search: one candidate per hostile line; open every original line.
  await page.goto(`${base}/search`);
  await page.locator('input[name=nat_ip]').fill(NAT);
  await page.locator('input[name=time]').fill(WALL);
  await page.locator('input[name=window]').fill('120');
  await page.locator('input[name=case_ref]').fill('XSS-2026/1');
  await page.locator('textarea[name=justification]').fill('Teste de segurança com linhas hostis');
  await page.getByRole('button', { name: 'Buscar' }).click();
  await expect.poll(() => page.locator('.verdict-name').textContent()).toBe('Ambíguo');
  const links = page.getByRole('link', { name: 'linha original' });
  expect(await links.count()).toBe(N);
  for (let i = 0; i < N; i++) await links.nth(i).click();
  await expect.poll(() => page.locator('.rawline pre').count()).toBe(N);
  const shown = (await page.locator('.rawline pre').allTextContents()).join('\n');
  for (const p of [SCRIPT, IMG, HTMX, ATTR, SVG]) expect(shown).toContain(p);
  expect(shown).toContain('len 60é\\x1b[31m<b>red</b>'); // not UTF-8: shown as Latin-1, the escape made visible
  // The fragments carry hx-disable, so htmx would not process anything inside even if it were markup.
  expect(await page.locator('.rawline[hx-disable]').count()).toBe(N);
  await page.waitForTimeout(500); // give any hx-trigger="load" or onerror a chance to fire
  await assertClean(page, w);

  // Each line found by its own port (unique), then the court report with every original line.
  await page.locator('input[name=nat_port]').fill('41002');
  await page.getByRole('button', { name: 'Buscar' }).click();
  await expect.poll(() => page.locator('.verdict-name').textContent()).toBe('Único');
  await page.getByRole('link', { name: 'linha original' }).first().click();
  await expect.poll(() => page.locator('.rawline pre').textContent()).toContain(HTMX);
  const [report] = await Promise.all([page.context().waitForEvent('page'), page.getByRole('link', { name: 'Relatório para o ofício' }).click()]);
  watch(report, w);
  await report.waitForLoadState();
  expect(await report.locator('article.report pre').textContent()).toContain(HTMX);
  await report.waitForTimeout(300);
  await assertClean(report, w);
  await report.close();

  // A bulk answer over the same lines.
  await page.goto(`${base}/search/bulk`);
  await page.locator('textarea[name=list]').fill(Array.from({ length: N }, (_, i) => `${NAT} ${41000 + i} ${new Date(T).toISOString()}`).join('\n'));
  await page.locator('input[name=window]').fill('120');
  await page.locator('input[name=case_ref]').fill('XSS-2026/2');
  await page.locator('textarea[name=justification]').fill('Teste de segurança em lote');
  await page.getByRole('button', { name: 'Consultar a lista' }).click();
  await expect.poll(() => page.locator('table.bulk tbody tr').count()).toBe(N);
  const bl = page.getByRole('link', { name: 'linha original' });
  for (let i = 0; i < N; i++) await bl.nth(i).click();
  await expect.poll(() => page.locator('.rawline pre').count()).toBe(N);
  expect((await page.locator('.rawline pre').allTextContents()).join('\n')).toContain(SCRIPT);
  await page.waitForTimeout(500);
  await assertClean(page, w);
  expect(w.requests.length).toBeGreaterThan(10);
}, 90_000);
