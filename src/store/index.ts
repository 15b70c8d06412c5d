// The registry of stores, keyed by the `storage:` setting. Adding a store is one folder implementing
// store.ts, one line here, and the shared conformance suite run against it.
import type { Config } from '../config/load.js';
import { ChClient, type ChConfig } from './clickhouse/client.js';
import { ClickhouseDay } from './clickhouse/ch-day.js';
import { ClickhouseStore } from './clickhouse/ch-store.js';
import { DayReader } from './sqlite/read.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { DayView, Store } from './store.js';

export type { DayView, Store } from './store.js';

/** What a reader of the store needs from the configuration (the query engine's config carries it). */
export type StoreReadConfig = Pick<Config, 'cold_storage_dir'> & Partial<Pick<Config, 'storage'> & ChConfig>;

interface StoreKind {
  /** The write side, for the committer. */
  open(cfg: Config): Store;
  /** One day of the store for reading, or null when the store has no such day. */
  openDay(cfg: StoreReadConfig, day: string): DayView | null;
}

/** One client per server and user: the password file is read once. */
const clients = new Map<string, ChClient>();
function clientFor(cfg: StoreReadConfig): { client: ChClient; cfg: ChConfig } {
  const c = cfg as ChConfig;
  const key = [c.clickhouse_url, c.clickhouse_user, c.clickhouse_password_file, c.clickhouse_ca_file].join('\n');
  let client = clients.get(key);
  if (!client) clients.set(key, (client = new ChClient(c)));
  return { client, cfg: c };
}

export const STORES: Record<Config['storage'], StoreKind> = {
  sqlite: {
    open: (cfg) => new SqliteStore(cfg),
    openDay: (cfg, day) => DayReader.open(cfg.cold_storage_dir, day),
  },
  clickhouse: {
    open: (cfg) => new ClickhouseStore(cfg),
    openDay: (cfg, day) => {
      const { client, cfg: c } = clientFor(cfg);
      return ClickhouseDay.open(client, c, day);
    },
  },
};

export function openStore(cfg: Config): Store {
  return STORES[cfg.storage].open(cfg);
}

/** One day for the query engine (see StoreKind.openDay); a directory alone means SQLite day files. */
export function openDay(src: string | StoreReadConfig, day: string): DayView | null {
  const cfg = typeof src === 'string' ? { cold_storage_dir: src } : src;
  return STORES[cfg.storage ?? 'sqlite'].openDay(cfg, day);
}

/** The part of a configuration a reader of the store needs. */
export function readConfigOf(cfg: Config): StoreReadConfig {
  const { cold_storage_dir, storage, clickhouse_url, clickhouse_user, clickhouse_password_file, clickhouse_ca_file, clickhouse_database, clickhouse_cluster, clickhouse_site } = cfg;
  return { cold_storage_dir, storage, clickhouse_url, clickhouse_user, clickhouse_password_file, clickhouse_ca_file, clickhouse_database, clickhouse_cluster, clickhouse_site };
}
