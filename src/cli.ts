// `megalog` command line: one executable, one subcommand per job (see DESIGN.md "Contracts").
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, splitHostPort, type Config } from './config/index.js';
import { Metrics } from './metrics.js';
import { notifyReady, notifyStopping } from './notify.js';
import { Processor, computeHealth, dashboardFrom, readStatus, type Log } from './processor.js';
import type { WebDeps } from './web/deps.js';

export const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

const USAGE = `megalog ${VERSION} — forensic CGNAT log appliance

usage: megalog <command> [--config FILE] [options]

  run                      processor and web console in one process (quick start)
  processor                receive, spool and commit (megalog-processor.service)
  web                      web console, /health and /metrics (megalog-web.service)
  import FILE…             load raw log files (plain or gzip) through the parse and commit path
  parse                    stdin → one JSON value per line (check a router's format)
  stats [--json]           what the store holds, per day
  search …                 forensic answer (see megalog search --help)
  verify [--audit]         check the seal manifest, every day file against it / the audit chain
  user add|passwd|disable|list …   console users
  backup DEST | restore SRC

Configuration: --config FILE, else $MEGALOG_CONFIG, else /etc/megalog/megalog.yaml if present, else
built-in defaults (data under ./var, syslog on 127.0.0.1:5514, console on 127.0.0.1:5000).
Every key can be overridden by MEGALOG_<KEY>.`;

export interface Args {
  cmd: string;
  positional: string[];
  flags: Map<string, string | true>;
  /** Everything after the command, untouched (for subcommands with flags of their own). */
  rest: string[];
}

export function parseArgs(argv: string[]): Args {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  let cmd = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
      else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--') && VALUED.has(a.slice(2))) flags.set(a.slice(2), argv[++i]!);
      else flags.set(a.slice(2), true);
    } else if (!cmd) cmd = a;
    else positional.push(a);
  }
  const at = argv.indexOf(cmd);
  const rest = argv.slice(at + 1).filter((a, i, all) => a !== '--config' && all[i - 1] !== '--config' && !a.startsWith('--config='));
  return { cmd, positional, flags, rest };
}

const VALUED = new Set(['config', 'nat-ip', 'nat-port', 'at', 'window', 'proto', 'case', 'justification', 'user', 'role', 'src-ip', 'from', 'to', 'password']);

const log: Log = (level, msg) => {
  process.stderr.write(`${level === 'info' ? '' : `${level.toUpperCase()}: `}${msg}\n`);
};

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  if (!args.cmd || args.cmd === 'help' || args.flags.has('help') && !args.cmd) {
    console.log(USAGE);
    return;
  }
  if (args.cmd === 'version' || args.flags.has('version')) {
    console.log(VERSION);
    return;
  }
  let cfg: Config;
  try {
    const file = args.flags.get('config');
    cfg = loadConfig({ file: typeof file === 'string' ? file : null });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const code = await dispatch(args, cfg);
  if (typeof code === 'number') process.exitCode = code;
}

async function dispatch(args: Args, cfg: Config): Promise<number | void> {
  switch (args.cmd) {
    case 'run':
      return runDaemon(cfg, { processor: true, web: true });
    case 'processor':
      return runDaemon(cfg, { processor: true, web: false });
    case 'web':
      return runDaemon(cfg, { processor: false, web: true });
    case 'import':
      return (await import('./import.js')).runImport(cfg, args.positional, log);
    case 'stats':
      return (await import('./store/stats-command.js')).runStats(cfg, args.flags.has('json'));
    case 'parse': {
      const { runParse } = await import('./parse/command.js');
      (await import('./parse/index.js')).configureParsers(cfg);
      await runParse(process.stdin, process.stdout, { peer: null, device: null, timezone: cfg.timezone });
      return 0;
    }
    default:
      return dispatchMore(args, cfg);
  }
}

/** Commands that live with their own stage (web console, query, maintenance). */
async function dispatchMore(args: Args, cfg: Config): Promise<number> {
  const table: Record<string, () => Promise<number>> = {
    search: async () => (await import('./query/command.js')).runSearch(cfg, args.flags),
    backup: async () => (await import('./store/backup.js')).runBackup(cfg, args.positional[0]),
    restore: async () => (await import('./store/backup.js')).runRestore(cfg, args.positional[0], args.flags.has('force')),
    user: async () => (await import('./users/cli.js')).runUserCommand(cfg, args.rest),
    verify: async () => (await import('./store/verify.js')).runVerify(cfg, { auditOnly: args.flags.has('audit') }),
  };
  const f = table[args.cmd];
  if (!f) {
    console.error(`megalog: unknown command "${args.cmd}"\n\n${USAGE}`);
    return 64; // EX_USAGE
  }
  return f();
}

async function runDaemon(cfg: Config, what: { processor: boolean; web: boolean }): Promise<void> {
  let processor: Processor | null = null;
  try {
    if (what.processor) processor = await Processor.start(cfg, log);
  } catch (err) {
    log('error', `cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
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
        return dashboardFrom(cfg, st?.stats ?? {}, st?.devices ?? [], st?.rate ?? 0);
      },
    };
    const hp = splitHostPort(cfg.web_listen[0] ?? '127.0.0.1:5000')!;
    const { startWeb } = await import('./web/app.js');
    web = await startWeb(deps, hp);
    log('info', `web console on http://${hp.host}:${web.port}/`);
  }
  // Machine-readable line for tests and scripts: the ports actually bound.
  process.stdout.write(`${JSON.stringify({ ready: true, ports: processor?.ports ?? null, web_port: web?.port ?? null })}\n`);
  // The watchdog is fed only while the committer is not stuck (a commit within 5 batch timeouts, or nothing to do).
  notifyReady(() => {
    if (!processor) return true;
    const s = processor.stats;
    const backlog = s.get('spool_end') - s.get('committed_pos');
    return backlog === 0 || s.get('cold_full') > 0 || Date.now() - s.get('last_commit_ms') < cfg.batch_timeout_sec * 5000 + 60_000;
  });

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
}
