// `megalog rules` end to end with the built executable: a RouterOS export imported (audited, kept
// byte for byte), a bad or clashing file refused whole, and `megalog search --json` answering from
// the rules in force where no log covers the time.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/daemon.js';

let dir: string;
let env: Record<string, string>;
const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', cwd: dir });

const EXPORT = `# RouterOS 7.16
/ip firewall nat
add action=netmap chain=CGNAT-0 protocol=tcp src-address=100.64.0.0 to-addresses=198.51.100.9 to-ports=1024-17023
add action=netmap chain=CGNAT-0 protocol=udp src-address=100.64.0.0 to-addresses=198.51.100.9 to-ports=1024-17023
add action=netmap chain=CGNAT-0 protocol=tcp src-address=100.64.0.1 \\
    to-addresses=198.51.100.9 to-ports=17024-33023
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'megalog-rules-cli-'));
  env = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('MEGALOG_')) env[k] = v;
  Object.assign(env, {
    MEGALOG_COLD_STORAGE_DIR: join(dir, 'cold'),
    MEGALOG_HOT_STORAGE_DIR: join(dir, 'hot'),
    MEGALOG_USERS_DB_PATH: join(dir, 'users.db'),
    MEGALOG_TIMEZONE: 'America/Sao_Paulo',
  });
  writeFileSync(join(dir, 'cgnat.rsc'), EXPORT);
  writeFileSync(join(dir, 'clash.txt'), '100.64.0.5 198.51.100.9 2000-2999\n100.64.0.6 198.51.100.9 2500-3499\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('megalog rules', () => {
  it('imports a RouterOS export, audited, and answers a search no log covers from it', () => {
    const imp = run(['rules', 'import', join(dir, 'cgnat.rsc'), '--format', 'routeros', '--valid-from', '2026-01-02T10:00', '--case', 'CHG-2026-004']);
    expect(imp.stderr).toBe('');
    expect(imp.status).toBe(0);
    expect(imp.stdout).toMatch(/^rule set 1: 3 mappings over 1 public address/);
    expect(run(['rules', 'show', '1']).stdout).toBe(EXPORT);
    expect(run(['rules', 'list']).stdout).toMatch(/^1 {2}2026-01-02T13:00:00.000Z → in force {2}3 mappings {2}routeros {2}cgnat\.rsc/);
    const audit = new Database(join(dir, 'users.db'), { readonly: true });
    expect(audit.prepare("SELECT case_ref, result_count FROM audit WHERE action = 'nat_rules_import'").all()).toEqual([{ case_ref: 'CHG-2026-004', result_count: 3 }]);
    audit.close();

    const s = run(['search', '--nat-ip', '198.51.100.9', '--nat-port', '20000', '--at', '2026-03-05T10:00:00', '--case', 'OF-1/2026', '--json']);
    expect(s.status).toBe(0);
    const a = JSON.parse(s.stdout);
    expect(a.verdict).toBe('unique');
    expect(a.rules).toMatchObject({ basis: 'rules', check: null, inside: ['100.64.0.1'], set: { id: 1, file_name: 'cgnat.rsc', case_ref: 'CHG-2026-004' } });
    expect(a.candidates).toHaveLength(1);
    expect(a.candidates[0]).toMatchObject({ src_ip: '100.64.0.1', nat_port_start: 17024, nat_port_end: 33023, proto: 'tcp', subscriber: { source: 'rules' } });
    expect(a.candidates[0].raw).toBe('add action=netmap chain=CGNAT-0 protocol=tcp src-address=100.64.0.1 to-addresses=198.51.100.9 to-ports=17024-33023');
    // before the rules came into force: no answer from them
    const before = JSON.parse(run(['search', '--nat-ip', '198.51.100.9', '--nat-port', '20000', '--at', '2025-12-01T10:00:00', '--case', 'OF-1/2026', '--json']).stdout);
    expect(before.verdict).toBe('no_data');
    expect(before.rules).toBeUndefined();
    // the text answer says where it comes from
    expect(run(['search', '--nat-ip', '198.51.100.9', '--nat-port', '20000', '--at', '2026-03-05T10:00:00', '--case', 'OF-1/2026']).stdout).toMatch(/answered from the deterministic NAT rules|resposta pelas regras de NAT determinístico/);
  });

  it('refuses a file whose mappings clash, or one it cannot read, and imports nothing', () => {
    const clash = run(['rules', 'import', join(dir, 'clash.txt'), '--format', 'table', '--valid-from', '2026-01-02T10:00', '--case', 'CHG-2026-005']);
    expect(clash.status).toBe(65);
    expect(clash.stderr).toMatch(/lines 1 and 2 give the same public port to two inside addresses/);
    expect(run(['rules', 'import', join(dir, 'cgnat.rsc'), '--format', 'table', '--valid-from', '2026-01-02T10:00', '--case', 'CHG-2026-006']).status).toBe(65);
    expect(run(['rules', 'import', join(dir, 'cgnat.rsc'), '--format', 'routeros', '--case', 'CHG-2026-007']).status).toBe(64); // no --valid-from
    expect(run(['rules', 'list']).stdout.trim().split('\n')).toHaveLength(1);
  });
});
