// The processor: receiver thread (sources → spool) and committer thread (spool → store), supervised
// from the main thread, which only relays logs, keeps the device table and answers health questions.
import { Worker } from 'node:worker_threads';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync, accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config/index.js';
import { Stats, type DeviceSeen } from './stats.js';
import { diskOf } from './store/sqlite/index.js';
import type { DashboardSnapshot, ProcessorHealth } from './web/deps.js';

export type Log = (level: 'info' | 'warn' | 'error', msg: string) => void;

export interface Ports {
  udp: number[];
  tcp: number[];
  tls: number[];
}

export class Processor {
  private receiver!: Worker;
  private committer!: Worker;
  devices: DeviceSeen[] = [];
  ports: Ports = { udp: [], tcp: [], tls: [] };
  private statusTimer: NodeJS.Timeout | null = null;
  private lastRate = { at: Date.now(), n: 0, rate: 0 };

  private constructor(readonly cfg: Config, readonly stats: Stats, private readonly log: Log) {}

  static async start(cfg: Config, log: Log): Promise<Processor> {
    const p = new Processor(cfg, new Stats(), log);
    await p.boot();
    return p;
  }

  private async boot(): Promise<void> {
    mkdirSync(this.cfg.hot_storage_dir, { recursive: true });
    acquireLock(this.cfg.hot_storage_dir, 'processor');
    const workerData = { config: { ...this.cfg }, statsBuffer: this.stats.buffer };
    this.committer = new Worker(new URL('./store/worker.js', import.meta.url), { workerData });
    const floor = await this.waitFor<{ floor: number }>(this.committer, 'floor');
    this.receiver = new Worker(new URL('./sources/worker.js', import.meta.url), { workerData: { ...workerData, floor: floor.floor } });
    const ready = await this.waitFor<{ ports: Ports }>(this.receiver, 'ready');
    this.ports = ready.ports;
    for (const w of [this.committer, this.receiver]) {
      w.on('message', (m: { type: string; level?: 'info' | 'warn' | 'error'; msg?: string; devices?: DeviceSeen[] }) => {
        if (m.type === 'log') this.log(m.level!, m.msg!);
        else if (m.type === 'devices') this.devices = m.devices!;
      });
      w.on('error', (err) => {
        // A thread died of a bug: the service manager restarts us (the spool makes that safe).
        this.log('error', `worker failed: ${err.stack ?? err}`);
        process.exitCode = 70;
        setTimeout(() => process.exit(70), 100).unref();
      });
    }
    this.statusTimer = setInterval(() => this.writeStatus(), 1000);
    this.statusTimer.unref();
  }

  private waitFor<T>(w: Worker, type: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMsg = (m: { type: string; level?: 'info' | 'warn' | 'error'; msg?: string }) => {
        if (m.type === type) {
          w.off('message', onMsg);
          resolve(m as T);
        } else if (m.type === 'fatal') {
          reject(Object.assign(new Error(m.msg), { code: 'MEGALOG_ERR_START' }));
        } else if (m.type === 'log') this.log(m.level!, m.msg!);
      };
      w.on('message', onMsg);
      w.once('error', reject);
    });
  }

  reload(): void {
    this.receiver.postMessage({ type: 'reload' });
  }

  health(): ProcessorHealth {
    return computeHealth(this.cfg, this.stats.snapshot());
  }

  dashboard(): DashboardSnapshot {
    return dashboardFrom(this.cfg, this.stats.snapshot(), this.devices, this.rate());
  }

  private rate(): number {
    const now = Date.now();
    const n = this.stats.get('lines_committed');
    if (now - this.lastRate.at >= 5000) {
      this.lastRate = { at: now, n, rate: ((n - this.lastRate.n) * 1000) / (now - this.lastRate.at) };
    }
    return this.lastRate.rate;
  }

  /** For a separate `megalog web`: what this process knows, rewritten every second. */
  private writeStatus(): void {
    const path = join(this.cfg.hot_storage_dir, 'status.json');
    try {
      writeFileSync(`${path}.tmp`, JSON.stringify({ written_ms: Date.now(), stats: this.stats.snapshot(), devices: this.devices, rate: this.rate() }));
      renameSync(`${path}.tmp`, path);
    } catch {
      /* a full hot disk shows in health anyway */
    }
  }

  async stop(): Promise<void> {
    if (this.statusTimer) clearInterval(this.statusTimer);
    const stopped = (w: Worker) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          void w.terminate();
          resolve();
        }, 30_000);
        w.on('message', (m: { type: string }) => {
          if (m.type === 'stopped') {
            clearTimeout(t);
            resolve();
          }
        });
        w.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        w.postMessage({ type: 'stop' });
      });
    await stopped(this.receiver); // stop receiving and flush the spool first…
    await stopped(this.committer); // …then commit everything spooled
    this.writeStatus();
    releaseLock(this.cfg.hot_storage_dir);
  }
}

/** Status of a processor running in another process (for `megalog web`). */
export function readStatus(cfg: Config): { stats: Record<string, number>; devices: DeviceSeen[]; rate: number; written_ms: number } | null {
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

export function dashboardFrom(cfg: Config, s: Record<string, number>, devices: DeviceSeen[], rate: number): DashboardSnapshot {
  const transports = ['udp', 'tcp', 'tls', 'tail', 'import'];
  const dropped: Record<string, number> = {};
  for (const [k, v] of Object.entries(s)) if (k.startsWith('dropped_')) dropped[k.slice(8)] = v;
  dropped.udp_kernel = s.udp_kernel_drops ?? 0;
  return {
    started_ms: s.started_ms ?? 0,
    received_by_transport: Object.fromEntries(transports.map((t) => [t, s[`received_${t}`] ?? 0])),
    records_committed: s.records_committed ?? 0,
    lines_unparsed: s.lines_unparsed ?? 0,
    lines_ignored: s.lines_ignored ?? 0,
    dropped_by_reason: dropped,
    spool_backlog_bytes: Math.max(0, (s.spool_end ?? 0) - (s.committed_pos ?? 0)),
    ingest_rate_per_sec: rate,
    records_today: s.records_today ?? 0,
    devices: devices.map((d) => ({ address: d.address, name: cfg.devices[d.address]?.name ?? d.address, last_seen_ms: d.last_seen_ms, messages: d.messages })),
    hot_disk: diskOf(cfg.hot_storage_dir),
    cold_disk: diskOf(cfg.cold_storage_dir),
  };
}

// ---- one writer per hot directory ----

/** Refuse to start when another live process owns this hot directory (two writers would corrupt the spool). */
export function acquireLock(hotDir: string, what: string): void {
  mkdirSync(hotDir, { recursive: true });
  const path = join(hotDir, 'megalog.pid');
  for (let i = 0; i < 2; i++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid} ${what}\n`);
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const [pidText, owner] = readFileSync(path, 'utf8').trim().split(' ');
      const pid = Number(pidText);
      if (pid && pid !== process.pid && alive(pid)) {
        throw Object.assign(new Error(`${hotDir} is in use by ${owner ?? 'megalog'} (pid ${pid}); stop it first`), { code: 'MEGALOG_ERR_LOCKED' });
      }
      unlinkSync(path); // stale: its owner died
    }
  }
}

export function releaseLock(hotDir: string): void {
  try {
    const path = join(hotDir, 'megalog.pid');
    if (Number(readFileSync(path, 'utf8').split(' ')[0]) === process.pid) unlinkSync(path);
  } catch {
    /* gone */
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
