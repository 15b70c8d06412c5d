// Replication: two clickhouse-server replicas of one shard coordinated by Debian's ZooKeeper, the
// table created as ReplicatedMergeTree before MegaLog's first start (docs/clickhouse.md): MegaLog keeps
// it, writes to one replica, searches answer from the other, and after the first replica is killed
// a processor writing to the second resumes from the position replicated with the rows — no line
// twice. Skipped where Debian's `zookeeper` (or clickhouse-server) is not installed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/load.js';
import { forensicLookup, type QueryConfig } from '../../src/query/engine.js';
import { ChClient } from '../../src/store/clickhouse/client.js';
import { ClickhouseStore } from '../../src/store/clickhouse/ch-store.js';
import { tableDdl } from '../../src/store/clickhouse/schema.js';
import { readConfigOf } from '../../src/store/index.js';
import { worldLines, Z } from '../fixtures/query/world.js';
import { forensicSuite } from '../conformance/forensic.js';
import { ClickhouseServer, hasClickhouse, hasZookeeper, NO_CLICKHOUSE, NO_ZOOKEEPER, ZookeeperServer } from '../helpers/clickhouse.js';

const ready = hasClickhouse && hasZookeeper;
let zk: ZookeeperServer;
let replicas: ClickhouseServer[] = [];
let dir: string;
let cfg2: QueryConfig;

const configOf = (url: string): Config =>
  loadConfig({ file: null, env: {}, overrides: { storage: 'clickhouse', clickhouse_url: url, cold_storage_dir: join(dir, 'cold'), hot_storage_dir: join(dir, 'hot') } });

const count = async (s: ClickhouseServer) => Number((await s.query('SELECT count() FROM megalog.rec WHERE kind != 3')).trim());

beforeAll(async () => {
  if (!ready) return;
  dir = mkdtempSync(join(tmpdir(), 'megalog-replicas-'));
  zk = new ZookeeperServer();
  await zk.start();
  replicas = ['r1', 'r2'].map((name) => new ClickhouseServer({ replica: { zookeeperPort: zk.port, shard: '01', name } }));
  await Promise.all(replicas.map((r) => r.start()));
  for (const r of replicas) {
    const features = new ChClient(configOf(r.url)).features();
    await r.query('CREATE DATABASE IF NOT EXISTS megalog');
    await r.query(tableDdl('megalog', features).replace('ENGINE = MergeTree', "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/megalog_rec', '{replica}')"));
  }
  // The first site's processor writes the world to replica 1, all but its last day's second half.
  const { byDay, pos } = worldLines();
  const store = new ClickhouseStore(configOf(replicas[0]!.url));
  for (const [day, lines] of byDay) store.commitDay(day, lines, pos);
  store.close();
  const want = await count(replicas[0]!);
  const deadline = Date.now() + 30_000;
  while ((await count(replicas[1]!)) < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  cfg2 = { ...readConfigOf(configOf(replicas[1]!.url)), timezone: 'America/Sao_Paulo' };
}, 240_000);
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.destroy()));
  await zk?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!ready)('replicated ClickHouse' + (NO_CLICKHOUSE || NO_ZOOKEEPER), () => {
  it('keeps the ReplicatedMergeTree table it finds, and the second replica holds every row', async () => {
    expect((await replicas[1]!.query("SELECT engine FROM system.tables WHERE database = 'megalog' AND name = 'rec'")).trim()).toBe('ReplicatedMergeTree');
    expect(await count(replicas[1]!)).toBe(await count(replicas[0]!));
  });

  forensicSuite('clickhouse, second replica', () => cfg2);

  it('resumes on the other replica after the first dies: the position came with the rows, nothing twice', async () => {
    await replicas[0]!.kill();
    const { byDay, pos } = worldLines();
    const store = new ClickhouseStore(configOf(replicas[1]!.url));
    const before = await count(replicas[1]!);
    // the spool replays the last batch (a restart after a crash): nothing is written again
    for (const [day, lines] of byDay) expect(store.commitDay(day, lines, pos)).toMatchObject({ records: 0, skipped: lines.length });
    const late = byDay.get('2026-03-05')!.slice(0, 2).map((l, i) => ({ ...l, end: pos + 1 + i }));
    expect(store.commitDay('2026-03-05', late, pos + 2).lines).toBe(2);
    store.close();
    expect(await count(replicas[1]!)).toBe(before + late.reduce((n, l) => n + Math.max(1, l.records.length), 0));
    expect(forensicLookup({ natIp: '203.0.113.7', natPort: 40312, at: Z('2026-03-05T13:11:12') }, cfg2).verdict).toBe('unique');
  });
});
