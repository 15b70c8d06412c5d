// The processor: receiver thread (sources → spool, parsed batches handed over in memory) and committer
// thread (handoff, or the spool on recovery → store), supervised from the main thread, which only
// relays logs, keeps the device table and answers health questions.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { StartError } from '../core/errors.js';
import type { Log } from '../core/log.js';
import type { CommitterData, FromWorker, ImportProgress, Ports, ReceiverData, ToWorker } from '../core/messages.js';
import { Stats, type DeviceSeen, type ThreadRole } from '../core/counters.js';
import { threadCpuSeconds } from '../core/threads.js';
import { acquireLock, type DirLock } from '../core/lock.js';
import { computeHealth, dashboardFrom, type DashboardSnapshot, type ProcessorHealth } from './health.js';


export type { Ports };

export class Processor {
  private receiver!: Worker;
  private committer!: Worker;
  devices: DeviceSeen[] = [];
  /** Import jobs waiting or running, as the receiver last said. */
  imports: ImportProgress[] = [];
  ports: Ports = { udp: [], tcp: [], tls: [], radius: [] };
  private statusTimer: NodeJS.Timeout | null = null;
  private lastRate = { at: Date.now(), n: 0, rate: 0 };
  private lock: DirLock | null = null;

  private constructor(readonly cfg: Config, readonly stats: Stats, private readonly log: Log) {}

  static async start(cfg: Config, log: Log): Promise<Processor> {
    const p = new Processor(cfg, new Stats(), log);
    await p.boot();
    return p;
  }

  private async boot(): Promise<void> {
    this.lock = acquireLock({ hot: this.cfg.hot_storage_dir, cold: this.cfg.cold_storage_dir }, 'processor');
    const c = await startCommitterThread(this.cfg, this.stats, this.log, true);
    this.committer = c.worker;
    const receiverData: ReceiverData = { config: { ...this.cfg }, statsBuffer: this.stats.buffer, handoff: c.handoff, floor: c.floor };
    this.receiver = new Worker(new URL('../sources/thread.js', import.meta.url), { workerData: receiverData, transferList: [c.handoff] });
    this.ports = (await waitFor(this.receiver, 'ready', this.log)).ports;
    for (const w of [this.committer, this.receiver]) {
      w.on('message', (m: FromWorker) => {
        if (m.type === 'log') this.log(m.level, m.msg);
        else if (m.type === 'devices') this.devices = m.devices;
        else if (m.type === 'imports') this.imports = m.jobs;
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

  private post(w: Worker, m: ToWorker): void {
    w.postMessage(m);
  }

  reload(): void {
    this.post(this.receiver, { type: 'reload' });
  }

  health(): ProcessorHealth {
    return computeHealth(this.cfg, this.stats.snapshot());
  }

  dashboard(): DashboardSnapshot {
    return dashboardFrom(this.cfg, this.stats.snapshot(), this.devices, this.rate(), this.imports);
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
    for (const [role, secs] of Object.entries(threadCpuSeconds())) this.stats.set(`cpu_seconds_${role as ThreadRole}`, secs);
    try {
      writeFileSync(`${path}.tmp`, JSON.stringify({ written_ms: Date.now(), stats: this.stats.snapshot(), devices: this.devices, rate: this.rate(), imports: this.imports }));
      renameSync(`${path}.tmp`, path);
    } catch {
      /* a full hot disk shows in health anyway */
    }
  }

  async stop(): Promise<void> {
    if (this.statusTimer) clearInterval(this.statusTimer);
    await stopWorker(this.receiver); // stop receiving and flush the spool first…
    await stopWorker(this.committer); // …then commit everything spooled
    this.writeStatus();
    this.lock?.release();
  }
}

/**
 * The committer thread, with the channel a producer hands it parsed batches on (spool/handoff.ts):
 * the processor's receiver, or `megalog import`. `housekeeping`: it also applies retention and seals
 * the days that are over (the processor; an import leaves both to the processor).
 */
export async function startCommitterThread(cfg: Config, stats: Stats, log: Log, housekeeping: boolean): Promise<{ worker: Worker; handoff: MessagePort; floor: number }> {
  const { port1, port2 } = new MessageChannel();
  const data: CommitterData = { config: { ...cfg }, statsBuffer: stats.buffer, handoff: port1, housekeeping };
  const worker = new Worker(new URL('../commit/thread.js', import.meta.url), { workerData: data, transferList: [port1] });
  const { floor } = await waitFor(worker, 'floor', log);
  return { worker, handoff: port2, floor };
}

/** The first message of a type from a starting thread; its logs meanwhile go to `log`. */
function waitFor<K extends FromWorker['type']>(w: Worker, type: K, log: Log): Promise<Extract<FromWorker, { type: K }>> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: FromWorker) => {
      if (m.type === type) {
        w.off('message', onMsg);
        resolve(m as Extract<FromWorker, { type: K }>);
      } else if (m.type === 'fatal') {
        // A configuration a thread reads itself (the RADIUS NAS clients) exits 78 like the rest of the config.
        reject(new StartError(m.code === 'MEGALOG_ERR_CONFIG' ? 'MEGALOG_ERR_CONFIG' : 'MEGALOG_ERR_START', m.msg));
      } else if (m.type === 'log') log(m.level, m.msg);
    };
    w.on('message', onMsg);
    w.once('error', reject);
  });
}

/** Ask a thread to stop (it finishes its work first) and wait until it has, at most `timeoutMs` (null: as long as it takes). */
export function stopWorker(w: Worker, timeoutMs: number | null = 30_000): Promise<void> {
  return new Promise<void>((resolve) => {
    const t =
      timeoutMs === null
        ? undefined
        : setTimeout(() => {
            void w.terminate();
            resolve();
          }, timeoutMs);
    w.on('message', (m: FromWorker) => {
      if (m.type === 'stopped') {
        clearTimeout(t);
        resolve();
      }
    });
    w.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    w.postMessage({ type: 'stop' } satisfies ToWorker);
  });
}
