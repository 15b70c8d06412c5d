// What the processor tells about itself: health checks and the dashboard's numbers, from its live
// counters (`megalog run`, `megalog processor`) or from the status file a processor in another
// process rewrites every second (`megalog web`).
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { diskOf } from '../core/fs.js';
import { DROP_BYTE_REASONS, DROP_REASONS, TRANSPORTS, type DeviceSeen } from '../core/counters.js';
import type { ImportProgress } from '../core/messages.js';

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
  /** Messages refused or lost, by reason (with the kernel's UDP drops as `udp_kernel`). */
  dropped_by_reason: Record<string, number>;
  /** Bytes lost where no message count is known, by reason. */
  dropped_bytes_by_reason: Record<string, number>;
  spool_backlog_bytes: number;
  ingest_rate_per_sec: number;
  records_today: number;
  devices: DeviceSnapshot[];
  hot_disk: { total_bytes: number; free_bytes: number } | null;
  cold_disk: { total_bytes: number; free_bytes: number } | null;
  /** Import jobs waiting or running in the processor. */
  imports: ImportProgress[];
}

/** Status of a processor running in another process (for `megalog web`). */
export function readStatus(cfg: Config): { stats: Record<string, number>; devices: DeviceSeen[]; rate: number; written_ms: number; imports?: ImportProgress[] } | null {
  try {
    return JSON.parse(readFileSync(join(cfg.hot_storage_dir, 'status.json'), 'utf8'));
  } catch {
    return null;
  }
}

export function computeHealth(cfg: Config, s: Record<string, number>, stale = false): ProcessorHealth {
  const backlog = Math.max(0, (s.spool_end ?? 0) - (s.committed_pos ?? 0));
  const cold = diskOf(cfg.cold_storage_dir);
  const hot = diskOf(cfg.hot_storage_dir);
  const writable = (d: string) => {
    try {
      accessSync(d, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  };
  const coldFull = (s.cold_full ?? 0) > 0 || (cold != null && cold.free_bytes < cfg.cold_min_free_bytes);
  const logsDb = writable(cfg.cold_storage_dir) && !(s.cold_full ?? 0);
  const buffer = writable(cfg.hot_storage_dir) && backlog <= cfg.spool_degraded_bytes && !stale;
  let status: ProcessorHealth['status'] = 'healthy';
  if (!logsDb || !buffer || coldFull) status = 'degraded';
  if (!writable(cfg.hot_storage_dir) || stale) status = 'unhealthy';
  return {
    status,
    checks: { logs_db: logsDb, buffer, cold_disk: !coldFull, processor: !stale },
    details: {
      spool_backlog_bytes: backlog,
      cold_free_bytes: cold?.free_bytes ?? null,
      hot_free_bytes: hot?.free_bytes ?? null,
      last_commit_ms: s.last_commit_ms || null,
      udp_kernel_drops: s.udp_kernel_drops ?? 0,
    },
  };
}

export function dashboardFrom(cfg: Config, s: Record<string, number>, devices: DeviceSeen[], rate: number, imports: ImportProgress[] = []): DashboardSnapshot {
  const dropped: Record<string, number> = Object.fromEntries(DROP_REASONS.map((r) => [r, s[`dropped_${r}`] ?? 0]));
  dropped.udp_kernel = s.udp_kernel_drops ?? 0;
  return {
    started_ms: s.started_ms ?? 0,
    received_by_transport: Object.fromEntries(TRANSPORTS.map((t) => [t, s[`received_${t}`] ?? 0])),
    records_committed: s.records_committed ?? 0,
    lines_unparsed: s.lines_unparsed ?? 0,
    lines_ignored: s.lines_ignored ?? 0,
    dropped_by_reason: dropped,
    dropped_bytes_by_reason: Object.fromEntries(DROP_BYTE_REASONS.map((r) => [r, s[`dropped_bytes_${r}`] ?? 0])),
    spool_backlog_bytes: Math.max(0, (s.spool_end ?? 0) - (s.committed_pos ?? 0)),
    ingest_rate_per_sec: rate,
    records_today: s.records_today ?? 0,
    devices: devices.map((d) => ({ address: d.address, name: cfg.devices[d.address]?.name ?? d.address, last_seen_ms: d.last_seen_ms, messages: d.messages })),
    hot_disk: diskOf(cfg.hot_storage_dir),
    cold_disk: diskOf(cfg.cold_storage_dir),
    imports,
  };
}

