// Evidence on ClickHouse: a day over is sealed by the SHA-256 of its rows into the seal manifest
// (evidence/row-seal.ts); `megalog verify` recomputes it and shows a row added or removed since; a
// late line reopens the day on the chain; the court report cites the sealed hash.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVerify } from '../../src/commands/verify.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import { Stats } from '../../src/core/counters.js';
import { readManifest, manifestPath } from '../../src/evidence/manifest.js';
import { RowSealer } from '../../src/evidence/row-seal.js';
import { ClickhouseStore } from '../../src/store/clickhouse/ch-store.js';
import { dayHashes } from '../../src/web/routes/export-hash.js';
import { worldLines, writeWorld } from '../fixtures/query/world.js';
import { ClickhouseServer, hasClickhouse, NO_CLICKHOUSE } from '../helpers/clickhouse.js';

let ch: ClickhouseServer;
let dir: string;
let cfg: Config;

beforeAll(async () => {
  if (!hasClickhouse) return;
  dir = mkdtempSync(join(tmpdir(), 'megalog-chseal-'));
  ch = new ClickhouseServer();
  await ch.start();
  cfg = loadConfig({ file: null, env: {}, overrides: { storage: 'clickhouse', clickhouse_url: ch.url, cold_storage_dir: join(dir, 'cold'), hot_storage_dir: join(dir, 'hot'), users_db_path: join(dir, 'users.db') } });
}, 60_000);
afterAll(async () => {
  await ch?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const verify = async () => {
  let text = '';
  const code = await runVerify(cfg, { auditOnly: false, out: { write: (s: string) => (text += s) } });
  return { code, text };
};

describe.skipIf(!hasClickhouse)('sealing ClickHouse days' + NO_CLICKHOUSE, () => {
  it('seals each day over by the hash of its rows, verifies it, and shows rows changed since', async () => {
    const store = new ClickhouseStore(cfg);
    writeWorld(store);
    const sealer = new RowSealer(cfg, store, new Stats(), () => {});
    const now = Date.now();
    const sealed: string[] = [];
    for (let day = sealer.due(now, now, new Set()); day; day = sealer.due(now, now, new Set())) {
      expect(await sealer.seal(day)).toBe('sealed');
      sealed.push(day);
    }
    expect(sealed).toEqual(['2026-03-04', '2026-03-05']);
    const seals = readManifest(manifestPath(cfg.cold_storage_dir)).entries.filter((e) => e.event === 'seal');
    expect(seals).toHaveLength(2);
    expect(seals[1]).toMatchObject({ day: '2026-03-05', sha256: store.digest('2026-03-05').sha256 });
    expect((seals[1] as { records: number }).records).toBeGreaterThan(20);

    let v = await verify();
    expect(v.text).toMatch(/2026-03-05: ok; \d+ records; sealed on .* the rows' sha256 matches/);
    expect(v.code).toBe(0);

    // The court report cites the sealed hash of a ClickHouse day.
    const [h] = await dayHashes([{ day: '2026-03-05', path: `${ch.url}/megalog.rec/2026-03-05` }], cfg.cold_storage_dir, cfg);
    expect(h).toMatchObject({ sha256: seals[1]!.event === 'seal' ? seals[1]!.sha256 : '', sealed: true, source: 'manifest' });

    // A row slipped into the sealed day is seen.
    await ch.query("INSERT INTO megalog.rec (day, site, pos, kind, id, t, nat_ip, nat_port, port_end, src_ip, src_port, dst_ip, dst_port, code, nulls, device, vendor, reason, raw) VALUES ('2026-03-05', 0, 1, 0, 999999, 3600000, unhex('000000000000000000000000CB007107'), 40312, -1, unhex('00000000000000000000000064400063'), 1, unhex('00000000000000000000000000000000'), -1, 6, 2, '192.0.2.1', 'mikrotik', '', 'forged')");
    v = await verify();
    expect(v.code).toBe(1);
    expect(v.text).toMatch(/2026-03-05: PROBLEM rows do not match their seal/);
    expect(v.text).toMatch(/2026-03-04: ok/);
    store.close();
  });

  it('reopens a sealed day for late lines, on the chain', () => {
    const store = new ClickhouseStore(cfg);
    const sealer = new RowSealer(cfg, store, new Stats(), () => {});
    const { byDay, pos } = worldLines();
    const late = byDay.get('2026-03-04')!.slice(0, 1).map((l) => ({ ...l, end: pos + 10 }));
    expect(sealer.admit('2026-03-04', late.length)).toBe(true);
    store.commitDay('2026-03-04', late, pos + 10);
    const last = readManifest(manifestPath(cfg.cold_storage_dir)).entries.at(-1)!;
    expect(last).toMatchObject({ event: 'reopen', day: '2026-03-04', reason: 'late_lines' });
    store.close();
  });
});
