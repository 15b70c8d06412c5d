// `megalog search` end to end: the built executable against real day files, configured only through
// MEGALOG_* environment variables, audited into users.db.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWorld } from '../fixtures/query/world.js';
import { BIN } from '../helpers/daemon.js';

let dir: string;
let env: Record<string, string>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'megalog-qcli-'));
  const cold = buildWorld(dir);
  env = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('MEGALOG_')) env[k] = v;
  Object.assign(env, {
    MEGALOG_COLD_STORAGE_DIR: cold,
    MEGALOG_HOT_STORAGE_DIR: join(dir, 'hot'),
    MEGALOG_USERS_DB_PATH: join(dir, 'users.db'),
    MEGALOG_TIMEZONE: 'America/Sao_Paulo',
  });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The built executable, as an operator runs it (the scenario lane builds dist/ first). */
const run = (args: string[]) => spawnSync(process.execPath, [BIN, 'search', ...args], { env, encoding: 'utf8', cwd: dir });

describe('megalog search', () => {
  it('prints the contract JSON for a zone-less time read in the configured zone, and audits the search', () => {
    const r = run(['--nat-ip', '203.0.113.7', '--nat-port', '40312', '--at', '2026-03-05T10:11:12', '--case', 'PROC-123/2026', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['verdict', 'candidates']);
    expect(out.verdict).toBe('unique');
    expect(out.candidates).toEqual([
      {
        src_ip: '100.64.0.10',
        src_port: 51000,
        nat_ip: '203.0.113.7',
        nat_port_start: 40312,
        nat_port_end: 40312,
        proto: 'tcp',
        start: '2026-03-05T10:11:00-03:00',
        end: '2026-03-05T12:00:00-03:00',
        device: '192.0.2.1',
        raw: '<134>bng session_create tcp 100.64.0.10:51000 -> 203.0.113.7:40312 at 2026-03-05T13:11:00',
        dst_ip: '198.18.0.1',
        dst_port: 443,
        subscriber: null,
        // the chain's last step: no RADIUS accounting in these day files, and the answer says so
        subscriber_step: expect.objectContaining({ source: 'radius', verdict: 'no_data', reason: 'no_accounting', inside_ip: '100.64.0.10', lookback_days: 7, evidence: [] }),
      },
    ]);
    const db = new Database(join(dir, 'users.db'), { readonly: true });
    try {
      const rows = db.prepare("SELECT * FROM audit WHERE action = 'search'").all() as { user: string; source: string; case_ref: string; query: string; result_count: number }[];
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ source: 'local', case_ref: 'PROC-123/2026', result_count: 1 });
      expect(rows[0]!.user).toMatch(/^cli:/);
      expect(JSON.parse(rows[0]!.query)).toMatchObject({ nat_ip: '203.0.113.7', nat_port: 40312, at: '2026-03-05T10:11:12-03:00', window_sec: 60, verdict: 'unique' });
    } finally {
      db.close();
    }
  });

  it('narrows by --dst-ip/--dst-port and says so; names the subscriber the line gave', () => {
    const both = JSON.parse(run(['--nat-ip', '203.0.113.20', '--nat-port', '41000', '--at', '2026-03-05T12:00:10Z', '--case', 'EDM-1', '--json']).stdout);
    expect(both.verdict).toBe('ambiguous');
    expect(both.destination).toBeUndefined();
    const r = run(['--nat-ip', '203.0.113.20', '--nat-port', '41000', '--at', '2026-03-05T12:00:10Z', '--dst-ip', '198.51.100.80', '--dst-port', '443', '--case', 'EDM-1', '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.verdict).toBe('unique');
    expect(out.destination).toEqual({ dst_ip: '198.51.100.80', dst_port: 443, inside_without: 2 });
    expect(out.candidates[0]).toMatchObject({ src_ip: '100.64.0.30', dst_ip: '198.51.100.80', dst_port: 443, subscriber: { login: 'cliente30', mac: null, nas: null, session_start: null, session_end: null, source: 'log' } });
    const human = run(['--nat-ip', '203.0.113.20', '--nat-port', '41000', '--at', '2026-03-05T12:00:10Z', '--dst-ip', '198.51.100.80', '--case', 'EDM-1']);
    expect(human.stdout).toMatch(/(narrowed by destination|restrita pelo destino) 198\.51\.100\.80:\*: 2 /);
    expect(human.stdout).toMatch(/cliente30/);
  });

  it('answers --login over a range, audited', () => {
    const r = run(['--login', 'cliente30', '--from', '2026-03-05T08:00:00', '--to', '2026-03-05T20:00:00', '--case', 'LOGIN-1', '--json']);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.login).toBe('cliente30');
    expect(out.inside).toEqual(['100.64.0.30']);
    expect(out.mappings.map((m: { nat_port_start: number }) => m.nat_port_start)).toEqual([41000, 41001]);
    const db = new Database(join(dir, 'users.db'), { readonly: true });
    try {
      expect(db.prepare("SELECT case_ref FROM audit WHERE action = 'search_login'").pluck().all()).toEqual(['LOGIN-1']);
    } finally {
      db.close();
    }
    expect(run(['--login', 'cliente30', '--from', '2026-03-05T08:00:00', '--case', 'X', '--json']).status).toBe(64);
  });

  it('prints a human table without --json, and lists every candidate of an ambiguous answer', () => {
    const r = run(['--nat-ip', '203.0.113.7', '--nat-port', '40000', '--at', '2026-03-05T12:00:20Z', '--window', '60', '--proto', 'tcp', '--case', 'PROC-9']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ambiguous/);
    expect(r.stdout).toMatch(/100\.64\.0\.20/);
    expect(r.stdout).toMatch(/100\.64\.0\.21/);
  });

  it('refuses a search without --case, a bad port and a bad time with exit 64 and a coded message', () => {
    const noCase = run(['--nat-ip', '203.0.113.7', '--at', '2026-03-05T10:11:12', '--json']);
    expect(noCase.status).toBe(64);
    expect(JSON.parse(noCase.stdout).error.code).toBe('MEGALOG_ERR_QUERY_MISSING');
    const port = run(['--nat-ip', '203.0.113.7', '--nat-port', '70000', '--at', '2026-03-05T10:11:12', '--case', 'X', '--json']);
    expect(port.status).toBe(64);
    expect(JSON.parse(port.stdout).error).toMatchObject({ code: 'MEGALOG_ERR_QUERY_BAD_PORT' });
    expect(port.stderr).toMatch(/MEGALOG_ERR_QUERY_BAD_PORT: Porta inválida/);
    const time = run(['--nat-ip', '203.0.113.7', '--at', 'ontem', '--case', 'X']);
    expect(time.status).toBe(64);
    expect(time.stderr).toMatch(/MEGALOG_ERR_QUERY_BAD_TIME/);
    expect(time.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it('answers no_data for a silent device', () => {
    const r = run(['--nat-ip', '198.51.100.50', '--nat-port', '6000', '--at', '2026-03-05T09:00:00-03:00', '--case', 'PROC-1', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ verdict: 'no_data', candidates: [] });
  });

  it('prints its usage with --help', () => {
    const r = spawnSync(process.execPath, [BIN, 'search', '--help'], { env, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--nat-ip/);
  });
});
