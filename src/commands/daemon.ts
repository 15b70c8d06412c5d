// `megalog run`, `megalog processor`, `megalog web`: start the processor (receiver + committer
// threads) and/or the web console in this process, tell systemd when ready, stop cleanly on SIGTERM.
import { splitHostPort, type Config } from '../config/load.js';
import type { Log } from '../core/log.js';
import { VERSION } from '../core/version.js';
import { computeHealth, dashboardFrom, readStatus } from '../daemon/health.js';
import { Metrics } from '../daemon/metrics.js';
import { notifyReady, notifyStopping } from '../daemon/notify.js';
import { Processor } from '../daemon/processor.js';
import { formatHead, openUsersDb } from '../users/users-db.js';
import type { WebDeps } from '../web/deps.js';

/**
 * How often the web logs the audit chain's head. The journal (and whatever ships it off the box) then
 * holds a head at most this old, for `megalog verify --audit --head`: a rewrite or a cut of the log
 * after it shows.
 */
export const AUDIT_HEAD_LOG_MS = 3600_000;

export async function runDaemon(cfg: Config, what: { processor: boolean; web: boolean }, log: Log): Promise<void> {
  log('info', `megalog ${VERSION}, config: ${cfg.source ?? 'built-in defaults'} (MEGALOG_* environment applied over it)`);
  // A start error (hot directory locked, a thread that cannot start) reaches cli.ts: one line, its exit status.
  const processor = what.processor ? await Processor.start(cfg, log) : null;
  if (processor) log('info', `processor ready: ${JSON.stringify(processor.ports)}`);
  let web: { close(): Promise<void>; port: number } | null = null;
  if (what.web) {
    const metrics = new Metrics(cfg, () => {
      if (processor) return { stats: processor.stats.snapshot(), devices: processor.devices };
      const st = readStatus(cfg);
      return { stats: st?.stats ?? {}, devices: st?.devices ?? [] };
    });
    const deps: WebDeps = {
      config: cfg,
      version: VERSION,
      metricsText: () => metrics.text(),
      metricsContentType: metrics.contentType,
      processorHealth: async () => {
        if (processor) return processor.health();
        const st = readStatus(cfg);
        return computeHealth(cfg, st?.stats ?? {}, !st || Date.now() - st.written_ms > 10_000);
      },
      dashboard: async () => {
        if (processor) return processor.dashboard();
        const st = readStatus(cfg);
        return dashboardFrom(cfg, st?.stats ?? {}, st?.devices ?? [], st?.rate ?? 0, st?.imports ?? []);
      },
    };
    const hp = splitHostPort(cfg.web_listen)!;
    const { startWeb } = await import('../web/app.js');
    web = await startWeb(deps, hp);
    log('info', `web console on http://${hp.host}:${web.port}/`);
    logAuditHead(cfg, log);
    setInterval(() => logAuditHead(cfg, log), AUDIT_HEAD_LOG_MS).unref();
  }
  // Handlers before anyone is told we are ready: a SIGTERM sent as soon as the ready line (or
  // READY=1) arrives must stop us cleanly, not kill us with the default action.
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log('info', `${sig}: stopping (flushing spool, committing what is pending)`);
    notifyStopping();
    await web?.close();
    await processor?.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => processor?.reload());

  // Machine-readable line for tests and scripts: the ports actually bound.
  process.stdout.write(`${JSON.stringify({ ready: true, ports: processor?.ports ?? null, web_port: web?.port ?? null })}\n`);
  // The watchdog is fed only while the committer is not stuck (a commit within 5 batch timeouts, or nothing to do).
  notifyReady(() => {
    if (!processor) return true;
    const s = processor.stats;
    const backlog = s.get('spool_end') - s.get('committed_pos');
    return backlog === 0 || s.get('cold_full') > 0 || Date.now() - s.get('last_commit_ms') < cfg.batch_timeout_sec * 5000 + 60_000;
  });
}

/** One line, `audit head ID:HASH (entries: N)`, from users.db as it is now. */
function logAuditHead(cfg: Config, log: Log): void {
  try {
    const udb = openUsersDb(cfg.users_db_path, { readonly: true });
    try {
      const h = udb.head();
      log('info', `audit head ${formatHead(h)} (entries: ${h.entries})`);
    } finally {
      udb.close();
    }
  } catch (err) {
    log('warn', `audit head: cannot read ${cfg.users_db_path}: ${(err as Error).message}`);
  }
}
