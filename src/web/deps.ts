// What the web console needs from the rest of MegaLog, injected by the CLI (`megalog run` / `megalog web`).
import type { Config } from '../config/index.js';
import type { UsersDb } from '../users/index.js';

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** The processor's view of health: `logs_db` and `buffer` checks plus details (the web adds `users_db`). */
export interface ProcessorHealth {
  status: HealthStatus;
  checks: Record<string, boolean>;
  details: Record<string, unknown>;
}

export interface DeviceSnapshot {
  address: string;
  name: string;
  last_seen_ms: number;
  messages: number;
}

/** Numbers the dashboard shows; all counters since processor start unless said otherwise. */
export interface DashboardSnapshot {
  started_ms: number;
  received_by_transport: Record<string, number>;
  records_committed: number;
  lines_unparsed: number;
  lines_ignored: number;
  dropped_by_reason: Record<string, number>;
  spool_backlog_bytes: number;
  ingest_rate_per_sec: number;
  records_today: number;
  devices: DeviceSnapshot[];
  hot_disk: { total_bytes: number; free_bytes: number } | null;
  cold_disk: { total_bytes: number; free_bytes: number } | null;
}

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
