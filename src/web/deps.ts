// What the web console needs from the rest of MegaLog, injected by the CLI (`megalog run` / `megalog web`).
import type { Config } from '../config/load.js';
import type { DashboardSnapshot, ProcessorHealth } from '../daemon/health.js';
import type { UsersDb } from '../users/users-db.js';

export interface WebDeps {
  config: Config;
  version: string;
  /** Prometheus text exposition of every megalog_* metric. */
  metricsText(): Promise<string>;
  /** Content type of metricsText(). */
  metricsContentType: string;
  processorHealth(): Promise<ProcessorHealth>;
  dashboard(): Promise<DashboardSnapshot>;
  /**
   * Optional. Session-signing key; when absent the web reads MEGALOG_SECRET_KEY, else keeps a random
   * key in `secret.key` next to users.db (mode 0600).
   */
  secretKey?: string;
  /** Optional. An already open users.db (the caller then closes it); by default the web opens config.users_db_path. */
  usersDb?: UsersDb;
}
