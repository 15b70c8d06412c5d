// The legal hold as an operator places it for a preservation request (Marco Civil art. 13 §2):
// `megalog hold`, audited with its case reference; retention announces before it deletes.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { dayOf } from '../../src/store/codes.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { BIN, startDaemon, stopDaemon, tempDir, testEnv, waitFor, type Daemon } from '../helpers/daemon.js';

const cli = (dir: string, args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env: testEnv(dir), encoding: 'utf8', timeout: 30_000 });
const audited = (dir: string) =>
  new Database(join(dir, 'users.db'), { readonly: true }).prepare("SELECT action, case_ref, query FROM audit WHERE action LIKE 'legal_hold%' ORDER BY id").all() as { action: string; case_ref: string; query: string }[];

let d: Daemon | null = null;
afterEach(async () => {
  if (d) await stopDaemon(d);
  d = null;
});

describe('legal hold', () => {
  it('is placed and lifted with a case reference, audited, and listed', () => {
    const dir = tempDir();
    expect(cli(dir, ['hold', 'add', '2025-01-10']).status).toBe(64); // no case reference
    expect(cli(dir, ['hold', 'add', '2025-13-40', '--case', 'OF-9/2026']).status).toBe(64);
    const add = cli(dir, ['hold', 'add', '2025-01-10', '--case', 'OF-9/2026', '--justification', 'preservação pedida pela autoridade']);
    expect(add.status).toBe(0);
    const hold = join(dir, 'cold', '2025-01-10.db.hold');
    expect(JSON.parse(readFileSync(hold, 'utf8'))).toMatchObject({ case_ref: 'OF-9/2026', justification: 'preservação pedida pela autoridade' });
    expect(cli(dir, ['hold', 'list']).stdout).toMatch(/^2025-01-10 {2}OF-9\/2026 {2}cli:/m);
    expect(cli(dir, ['hold', 'remove', '2025-01-10', '--case', 'OF-9/2026']).status).toBe(0);
    expect(existsSync(hold)).toBe(false);
    expect(audited(dir).map((r) => [r.action, r.case_ref, JSON.parse(r.query).day])).toEqual([
      ['legal_hold_add', 'OF-9/2026', '2025-01-10'],
      ['legal_hold_remove', 'OF-9/2026', '2025-01-10'],
    ]);
  });

  it('retention names the days it will delete at start and deletes none at once', async () => {
    const dir = tempDir();
    const cfg = loadConfig({ file: null, env: { MEGALOG_COLD_STORAGE_DIR: join(dir, 'cold') } });
    const store = new SqliteStore(cfg);
    const old = dayOf(Date.now() - 400 * 86_400_000);
    store.commitDay(old, [{ end: 1, payload: Buffer.from('old line'), device: 'udp', time: Date.parse(`${old}T01:00:00Z`), status: 'unparsed', vendor: null, reason: null, records: [] }], 1);
    store.close();
    d = await startDaemon(dir);
    await waitFor('retention warning', () => /retention: 1 day files are older than 365 days and will be deleted in an hour/.test(d!.stderr()));
    expect(existsSync(join(dir, 'cold', `${old}.db`))).toBe(true);
  });
});
