// `megalog` command line: one executable, one subcommand per job (docs/architecture.md, "Contracts").
import { loadConfig, type Config } from './config/load.js';
import { startExitStatus } from './core/errors.js';
import { stderrLog as log } from './core/log.js';
import { VERSION } from './core/version.js';

const USAGE = `megalog ${VERSION} — forensic CGNAT log appliance

usage: megalog <command> [--config FILE] [options]

  run                      processor and web console in one process (quick start)
  processor                receive, spool and commit (megalog-processor.service)
  web                      web console, /health and /metrics (megalog-web.service)
  import FILE…             load raw log files (plain or gzip) through the parse and commit path
  parse [--explain]        stdin → one JSON value per line (check a router's format); --explain says on
                           stderr why a line gave null
  stats [--json]           what the store holds, per day
  search …                 forensic answer, or what a login held (see megalog search --help)
  verify [--audit] [--head ID:HASH]   check the seal manifest, every day file against it / the
                           audit chain (and that it still holds a head published earlier)
  audit head               the audit chain's head (ID:HASH), to keep off the appliance
  user add|passwd|disable|list …   console users
  hold add|remove|list …   legal hold: a held day is never deleted by retention
  rules import|list|show … deterministic NAT rule sets (versioned, in force over a period)
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

const VALUED = new Set(['config', 'nat-ip', 'nat-port', 'at', 'window', 'proto', 'case', 'justification', 'user', 'role', 'src-ip', 'dst-ip', 'dst-port', 'login', 'from', 'to', 'password', 'head', 'format', 'valid-from', 'valid-to']);


/** The registry of commands: each one lives in src/commands/ and is loaded only when asked for. */
const COMMANDS: Record<string, (cfg: Config, args: Args) => Promise<number | void>> = {
  run: async (cfg) => (await import('./commands/daemon.js')).runDaemon(cfg, { processor: true, web: true }, log),
  processor: async (cfg) => (await import('./commands/daemon.js')).runDaemon(cfg, { processor: true, web: false }, log),
  web: async (cfg) => (await import('./commands/daemon.js')).runDaemon(cfg, { processor: false, web: true }, log),
  import: async (cfg, a) => (await import('./commands/import.js')).runImport(cfg, a.positional, log, { force: a.flags.has('force'), help: a.flags.has('help'), detach: a.flags.has('detach'), format: a.flags.get('format') }),
  parse: async (cfg, a) => (await import('./commands/parse.js')).runParseCommand(cfg, a.flags.has('explain')),
  stats: async (cfg, a) => (await import('./commands/stats.js')).runStats(cfg, a.flags.has('json')),
  search: async (cfg, a) => (await import('./commands/search.js')).runSearch(cfg, a.flags),
  verify: async (cfg, a) => (await import('./commands/verify.js')).runVerify(cfg, { auditOnly: a.flags.has('audit'), head: a.flags.get('head') }),
  audit: async (cfg, a) => (await import('./commands/audit.js')).runAuditCommand(cfg, a.positional),
  user: async (cfg, a) => (await import('./commands/user.js')).runUserCommand(cfg, a.rest),
  hold: async (cfg, a) => (await import('./commands/hold.js')).runHold(cfg, a.positional, a.flags),
  rules: async (cfg, a) => (await import('./commands/rules.js')).runRules(cfg, a.positional, a.flags),
  backup: async (cfg, a) => (await import('./commands/backup.js')).runBackup(cfg, a.positional[0]),
  restore: async (cfg, a) => (await import('./commands/backup.js')).runRestore(cfg, a.positional[0], a.flags.has('force')),
};

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  if (args.cmd === 'version' || (!args.cmd && args.flags.has('version'))) {
    console.log(VERSION);
    return;
  }
  if (!args.cmd || args.cmd === 'help') {
    console.log(USAGE);
    return;
  }
  const command = COMMANDS[args.cmd];
  if (!command) {
    console.error(`megalog: unknown command "${args.cmd}"\n\n${USAGE}`);
    process.exitCode = 64; // EX_USAGE
    return;
  }
  try {
    const file = args.flags.get('config');
    const cfg = loadConfig({ file: typeof file === 'string' ? file : null });
    const code = await command(cfg, args);
    if (typeof code === 'number') process.exitCode = code;
  } catch (err) {
    // A start error is the operator's to fix: its message, its exit status, no stack. Anything else is a bug.
    const status = startExitStatus(err);
    if (status === null) throw err;
    console.error(`megalog ${args.cmd}: ${(err as Error).message}`);
    process.exit(status);
  }
}
