// Credentials and TLS to ClickHouse: a user with a password from MEGALOG_CLICKHOUSE_PASSWORD or from
// a file only its owner can read (a file others can read is refused), over https with a private CA;
// a wrong password or an unreachable server gives an error that never holds the password.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/load.js';
import { forensicLookup } from '../../src/query/engine.js';
import { ClickhouseStore } from '../../src/store/clickhouse/ch-store.js';
import { readConfigOf } from '../../src/store/index.js';
import { writeWorld, Z } from '../fixtures/query/world.js';
import { ClickhouseServer, freePort, hasClickhouse, NO_CLICKHOUSE } from '../helpers/clickhouse.js';

const PASSWORD = 'S3cret-for-the-test';
let ch: ClickhouseServer;
let dir: string;

beforeAll(async () => {
  if (!hasClickhouse) return;
  dir = mkdtempSync(join(tmpdir(), 'megalog-chauth-'));
  const cert = join(dir, 'server.pem');
  const key = join(dir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  chmodSync(key, 0o644); // clickhouse-server runs as this user and reads it
  ch = new ClickhouseServer({ password: PASSWORD, tls: { cert, key } });
  await ch.start();
}, 60_000);
afterAll(async () => {
  await ch?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function cfgOf(url: string, extra: Record<string, unknown> = {}): Config {
  return loadConfig({ file: null, env: {}, overrides: { storage: 'clickhouse', clickhouse_url: url, clickhouse_user: 'megalog', cold_storage_dir: join(dir, 'cold'), hot_storage_dir: join(dir, 'hot'), ...extra } });
}

describe.skipIf(!hasClickhouse)('ClickHouse credentials and TLS' + NO_CLICKHOUSE, () => {
  it('writes and answers over https with a password from a file only its owner reads', () => {
    const pwFile = join(dir, 'ch.pw');
    writeFileSync(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
    const cfg = cfgOf(`https://127.0.0.1:${ch.httpsPort}`, { clickhouse_password_file: pwFile, clickhouse_ca_file: join(dir, 'server.pem') });
    const store = new ClickhouseStore(cfg);
    writeWorld(store);
    store.close();
    const a = forensicLookup({ natIp: '203.0.113.7', natPort: 40312, at: Z('2026-03-05T13:11:12') }, { ...readConfigOf(cfg), timezone: 'UTC' });
    expect(a.candidates[0]?.src_ip).toBe('100.64.0.10');
    // a certificate the CA file does not vouch for is refused
    const noCa = new ClickhouseStore(cfgOf(`https://127.0.0.1:${ch.httpsPort}`, { clickhouse_password_file: pwFile }));
    expect(() => noCa.listDayNames()).toThrow(/MEGALOG_ERR_CLICKHOUSE_DOWN|certificate|self.signed/i);
    // a password file others can read is refused
    chmodSync(pwFile, 0o644);
    expect(() => new ClickhouseStore(cfgOf(ch.url, { clickhouse_password_file: pwFile }))).toThrow(/readable by others/);
  });

  it('takes the password from MEGALOG_CLICKHOUSE_PASSWORD, and never puts it in an error', async () => {
    const ok = new ClickhouseStore(cfgOf(ch.url), { MEGALOG_CLICKHOUSE_PASSWORD: PASSWORD });
    expect(ok.maxCommittedPos()).toBeGreaterThanOrEqual(0);
    const msgs: string[] = [];
    for (const [url, pw] of [[ch.url, 'wrong-' + PASSWORD], [`http://127.0.0.1:${await freePort()}`, PASSWORD]] as const) {
      const s = new ClickhouseStore(cfgOf(url), { MEGALOG_CLICKHOUSE_PASSWORD: pw });
      try {
        s.listDayNames();
        msgs.push('no error');
      } catch (err) {
        msgs.push(`${(err as { code?: string }).code}: ${(err as Error).message}`);
      }
    }
    expect(msgs[0]).toMatch(/MEGALOG_ERR_CLICKHOUSE_QUERY.*(password|Authentication)/i);
    expect(msgs[1]).toMatch(/MEGALOG_ERR_CLICKHOUSE_DOWN.*ECONNREFUSED/);
    for (const m of msgs) expect(m).not.toContain(PASSWORD);
  });
});
