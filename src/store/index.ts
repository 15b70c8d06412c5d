// The registry of stores, keyed by the `storage:` setting. Adding a store is one folder implementing
// store.ts, one line here, and the shared conformance suite run against it.
import type { Config } from '../config/load.js';
import { DayReader } from './sqlite/read.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { DayView, Store } from './store.js';

export type { DayView, Store } from './store.js';

interface StoreKind {
  /** The write side, for the committer. */
  open(cfg: Config): Store;
  /** One day of the store under `dir` for reading, or null when the store has no such day. */
  openDay(dir: string, day: string): DayView | null;
}

export const STORES: Record<Config['storage'], StoreKind> = {
  sqlite: {
    open: (cfg) => new SqliteStore(cfg),
    openDay: (dir, day) => DayReader.open(dir, day),
  },
};

export function openStore(cfg: Config): Store {
  return STORES[cfg.storage].open(cfg);
}

/** One day for the query engine (see StoreKind.openDay). */
export function openDay(dir: string, day: string, storage: Config['storage'] = 'sqlite'): DayView | null {
  return STORES[storage].openDay(dir, day);
}
