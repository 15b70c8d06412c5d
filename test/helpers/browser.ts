// Web console test harness: a stub of the processor side (WebDeps), the console started on
// 127.0.0.1:0 with a temporary users.db, the browser-like HTTP client (client.ts, re-exported), and
// Debian's headless chromium for the browser test (never a downloaded browser).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/load.js';
import { startWeb } from '../../src/web/app.js';
import type { DashboardSnapshot, ProcessorHealth } from '../../src/daemon/health.js';
import type { WebDeps } from '../../src/web/deps.js';
import { CHROMIUM_FLAGS } from '../../src/web/pdf.js';

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
    dropped_by_reason: { spool_full: 0, empty: 3 },
    dropped_bytes_by_reason: { oversize_tail: 8192, spool_torn: 0 },
    spool_backlog_bytes: 4096,
    ingest_rate_per_sec: 1234.5,
    records_today: 98_765,
    devices: [
      { address: '10.0.0.1', name: 'bng-01', last_seen_ms: now - 2_000, messages: 100_000 },
      { address: '10.0.0.2', name: 'cgnat-<b>02</b>', last_seen_ms: now - 900_000, messages: 22_346 },
    ],
    hot_disk: { total_bytes: 100 * 2 ** 30, free_bytes: 60 * 2 ** 30 },
    cold_disk: { total_bytes: 4 * 2 ** 40, free_bytes: 3 * 2 ** 40 },
    imports: [],
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

export { Client, bootstrapAdmin, createUser, userWithPassword, type Res } from './client.js';

export const CHROMIUM = '/usr/bin/chromium';

/** Debian's chromium, headless, in a fresh profile. Close the returned context, then remove `profile`. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'megalog-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, '--no-sandbox'],
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

/** The administrator's first login on a fresh console: the first-start password, then the forced change. */
export async function firstLogin(page: import('playwright-core').Page, base: string, password = 'frase longa do administrador'): Promise<void> {
  await page.goto(`${base}/login`);
  await page.getByLabel('Usuário').fill('superadmin');
  await page.getByLabel('Senha', { exact: true }).fill('admin123');
  await page.getByRole('button', { name: 'Entrar' }).click();
  await page.waitForURL(`${base}/account`);
  await page.getByLabel('Senha atual', { exact: true }).fill('admin123');
  await page.getByLabel('Nova senha', { exact: true }).fill(password);
  await page.getByLabel('Repita a nova senha').fill(password);
  await page.getByRole('button', { name: 'Alterar senha' }).click();
  await page.waitForURL(`${base}/`);
}
