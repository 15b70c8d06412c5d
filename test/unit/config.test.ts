import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { tempDir } from '../helpers/daemon.js';

describe('configuration', () => {
  it('has the original guide defaults', () => {
    const c = loadConfig({ file: null, env: {} });
    expect(c).toMatchObject({ batch_size: 500, batch_timeout_sec: 10, db_journal_mode: 'WAL', log_retention_days: 365, web_listen: '127.0.0.1:5000' });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads YAML and lets MEGALOG_* override it', () => {
    const f = join(tempDir(), 'm.yaml');
    writeFileSync(f, 'batch_size: 100\nnoise_filters: [keepalive]\ndevices:\n  10.0.0.1: {name: bng1, vendor: mikrotik}\n');
    const c = loadConfig({ file: f, env: { MEGALOG_BATCH_SIZE: '200', MEGALOG_DB_SYNCHRONOUS: 'full' } });
    expect(c.batch_size).toBe(200);
    expect(c.db_synchronous).toBe('FULL');
    expect(c.noise_filters).toEqual(['keepalive']);
    expect(c.devices['10.0.0.1']).toEqual({ name: 'bng1', vendor: 'mikrotik', timezone: null });
  });

  it('stops on unknown keys and bad values, naming every one with what is allowed', () => {
    const f = join(tempDir(), 'm.yaml');
    writeFileSync(f, 'batch_sise: 1\nbatch_size: -3\ndb_synchronous: SOMETIMES\nsyslog_udp_listen: "nohost"\ntimezone: Mars/Olympus\n');
    try {
      loadConfig({ file: f, env: { MEGALOG_NOPE: '1' } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toMatch(/batch_sise: unknown key \(did you mean "batch_size"\?\)/);
      // one pass: the time zone (a cross check) is reported with the bad values, not after they are fixed
      expect(msg).toMatch(/timezone: unknown IANA time zone "Mars\/Olympus"/);
      expect(msg).toMatch(/batch_size: must be a whole number from 1 to/);
      expect(msg).toMatch(/db_synchronous: must be one of OFF, NORMAL, FULL, EXTRA/);
      expect(msg).toMatch(/syslog_udp_listen: "nohost" is not host:port/);
      expect(msg).toMatch(/MEGALOG_NOPE: unknown environment key/);
      expect(() => loadConfig({ file: null, env: { MEGALOG_BATCH_TIMEOUT_SECS: '5' } })).toThrow(/did you mean "MEGALOG_BATCH_TIMEOUT_SEC"\?/);
    }
  });

  it('checks the time zone and TLS files together', () => {
    expect(() => loadConfig({ env: { MEGALOG_TIMEZONE: 'Mars/Olympus' } })).toThrow(/timezone: unknown IANA time zone/);
    expect(() => loadConfig({ env: { MEGALOG_SYSLOG_TLS_LISTEN: '127.0.0.1:6514' } })).toThrow(/needs tls_cert_file and tls_key_file/);
    expect(() => loadConfig({ env: { MEGALOG_NOKIA_FLOW_FIELDS: 'proto,src_ip,bogus' } })).toThrow(/nokia_flow_fields: unknown field\(s\) bogus/);
    // a store that does not exist: refused with the list of stores there are, never silently SQLite
    expect(() => loadConfig({ env: { MEGALOG_STORAGE: 'postgres' } })).toThrow(/storage: must be one of sqlite, clickhouse/);
    // ClickHouse needs its URL, without credentials in it (they would be logged), and plain identifiers
    expect(() => loadConfig({ env: { MEGALOG_STORAGE: 'clickhouse' } })).toThrow(/clickhouse_url: needed with storage: clickhouse/);
    expect(() => loadConfig({ env: { MEGALOG_STORAGE: 'clickhouse', MEGALOG_CLICKHOUSE_URL: 'http://u:secret@127.0.0.1:8123' } })).toThrow(/clickhouse_url: must not hold credentials/);
    let msg = '';
    try {
      loadConfig({ env: { MEGALOG_STORAGE: 'clickhouse', MEGALOG_CLICKHOUSE_URL: 'http://u:secret@127.0.0.1:8123' } });
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).not.toContain('secret');
    expect(() => loadConfig({ env: { MEGALOG_STORAGE: 'clickhouse', MEGALOG_CLICKHOUSE_URL: 'ftp://127.0.0.1' } })).toThrow(/clickhouse_url: must be an http/);
    expect(() => loadConfig({ env: { MEGALOG_STORAGE: 'clickhouse', MEGALOG_CLICKHOUSE_URL: 'http://127.0.0.1:8123', MEGALOG_CLICKHOUSE_DATABASE: 'x; DROP TABLE y' } })).toThrow(/clickhouse_database: must be a plain identifier/);
    expect(loadConfig({ env: { MEGALOG_STORAGE: 'clickhouse', MEGALOG_CLICKHOUSE_URL: 'https://ch.example:8443' } }).storage).toBe('clickhouse');
    expect(() => loadConfig({ env: { MEGALOG_WEB_LISTEN: '127.0.0.1:5000,127.0.0.1:5001' } })).toThrow(/web_listen: .* is not host:port/);
  });
});
