// Two clickhouse-server processes as two shards of one cluster, on loopback: two processors (sites)
// each write their routers' lines into their own shard's `rec`, and every search reads both through
// the Distributed table `rec_all` — the stores' conformance suite passes on the split world.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/load.js';
import type { QueryConfig } from '../../src/query/engine.js';
import { forensicLookup } from '../../src/query/engine.js';
import { ClickhouseStore } from '../../src/store/clickhouse/ch-store.js';
import { readConfigOf } from '../../src/store/index.js';
import { worldLines, Z } from '../fixtures/query/world.js';
import { forensicSuite } from '../conformance/forensic.js';
import { ClickhouseServer, hasClickhouse, NO_CLICKHOUSE } from '../helpers/clickhouse.js';

const CLUSTER = 'megalog_cluster';
let shards: ClickhouseServer[] = [];
let dir: string;
let cfg: QueryConfig;

function siteConfig(url: string, site: number): Config {
  return loadConfig({
    file: null,
    env: {},
    overrides: { storage: 'clickhouse', clickhouse_url: url, clickhouse_cluster: CLUSTER, clickhouse_site: site, cold_storage_dir: join(dir, `cold${site}`), hot_storage_dir: join(dir, `hot${site}`) },
  });
}

beforeAll(async () => {
  if (!hasClickhouse) return;
  dir = mkdtempSync(join(tmpdir(), 'megalog-shards-'));
  const a = new ClickhouseServer();
  const b = new ClickhouseServer();
  await a.ports();
  await b.ports();
  const cluster = { name: CLUSTER, shards: [{ tcpPort: a.tcpPort }, { tcpPort: b.tcpPort }] };
  shards = [new ClickhouseServer({ cluster }), new ClickhouseServer({ cluster })];
  Object.assign(shards[0]!, { httpPort: a.httpPort, tcpPort: a.tcpPort });
  Object.assign(shards[1]!, { httpPort: b.httpPort, tcpPort: b.tcpPort });
  await Promise.all([a.destroy(), b.destroy()]);
  await Promise.all(shards.map((s) => s.start()));
  // Site 1 runs the session routers (203.0.113.x), site 2 the port-block and silent ones (198.51.100.x).
  const site1 = new ClickhouseStore(siteConfig(shards[0]!.url, 1));
  const site2 = new ClickhouseStore(siteConfig(shards[1]!.url, 2));
  const { byDay, pos } = worldLines();
  for (const [day, lines] of byDay) {
    const second = (l: (typeof lines)[number]) => l.records.some((r) => r.nat_ip?.startsWith('198.51.100.')) || l.status !== 'records';
    site1.commitDay(day, lines.filter((l) => !second(l)), pos);
    site2.commitDay(day, lines.filter(second), pos);
  }
  site1.close();
  site2.close();
  cfg = { ...readConfigOf(siteConfig(shards[0]!.url, 1)), timezone: 'America/Sao_Paulo' };
}, 90_000);
afterAll(async () => {
  await Promise.all(shards.map((s) => s.destroy()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasClickhouse)('two shards behind a Distributed table' + NO_CLICKHOUSE, () => {
  it('lands records on both shards, each site in its own', async () => {
    const per = await Promise.all(shards.map(async (s) => (await s.query('SELECT site, count() FROM megalog.rec WHERE kind = 0 GROUP BY site FORMAT TSV')).trim()));
    expect(per[0]).toMatch(/^1\t\d+$/);
    expect(per[1]).toMatch(/^2\t\d+$/);
    const n = per.map((p) => Number(p.split('\t')[1]));
    expect(n[0]).toBeGreaterThan(10);
    expect(n[1]).toBeGreaterThan(5);
    expect(Number((await shards[1]!.query('SELECT count() FROM megalog.rec_all WHERE kind = 0')).trim())).toBe(n[0]! + n[1]!);
  });

  it('finds each shard’s records from either server', () => {
    const other = { ...readConfigOf(siteConfig(shards[1]!.url, 2)), timezone: 'America/Sao_Paulo' };
    for (const c of [cfg, other]) {
      expect(forensicLookup({ natIp: '203.0.113.7', natPort: 40312, at: Z('2026-03-05T13:11:12') }, c).candidates[0]?.src_ip).toBe('100.64.0.10');
      expect(forensicLookup({ natIp: '198.51.100.1', natPort: 1300, at: Z('2026-03-05T01:00:00') }, c).candidates[0]?.src_ip).toBe('100.64.1.1');
    }
  });

  forensicSuite('clickhouse, two shards', () => cfg);
});
