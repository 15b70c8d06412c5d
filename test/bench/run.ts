// `npm run bench [-- --quick] [--only parse,ingest,storage,import,search,clickhouse,soak] [--systems rsyslog,megalog] [--results FILE]`: the
// benchmark suite. Prints one JSON line per figure as it is measured, then a table and the time each
// case took; with --results writes the Markdown quoted by docs/performance.md
// (test/bench/RESULTS.md). Budgets on the 2-core reference machine: full < 30 min (the search case fills
// its own pair of 10 M-record days, ~5 min), --quick < 3 min. The soak case runs only when named
// (`--only soak [--soak-minutes 30] [--soak-rate 22000] [--soak-warmup 10]`): it is 30 minutes
// after a warm-up of up to 10. The clickhouse case (SQLite and ClickHouse side by side on a 10 M day,
// `--ch-records N` for another size) runs when clickhouse-server is installed; it fills that day
// twice, outside the 30 min budget (not measured at full size yet: checked at 200 k records).
// Everything it starts runs on 127.0.0.1 and is stopped on exit, error or Ctrl-C; net.core.rmem_max
// is raised for the ingest case (root only) and restored.
import { readFileSync, writeFileSync } from 'node:fs';
import { benchClickhouse } from './clickhouse.js';
import { benchImport } from './import.js';
import { benchIngest } from './ingest.js';
import { benchParse } from './parse.js';
import { benchSearch } from './search.js';
import { benchSoak } from './soak.js';
import { benchStorage } from './storage.js';
import { cleanupSync, installHandlers, onCleanup } from './procs.js';
import { ensureRsyslog } from './rsyslog.js';
import { figure, info, machine, markdown, table, writeResults } from './report.js';

const RMEM = '/proc/sys/net/core/rmem_max';
const RCVBUF = 32 << 20;

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args[args.indexOf('--only') + 1];
const only = args.includes('--only') && onlyArg ? new Set(onlyArg.split(',')) : null;
const systemsArg = args[args.indexOf('--systems') + 1];
const systems = new Set(args.includes('--systems') && systemsArg ? systemsArg.split(',') : ['rsyslog', 'megalog']);
const resultsPath = args.includes('--results') ? args[args.indexOf('--results') + 1] : null;
const want = (c: string) => !only || only.has(c);
const num = (flag: string, dflt: number) => (args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : dflt);

installHandlers();
const started = new Date();
const mode = quick ? 'quick mode: shorter steps and smaller days (--quick)' : 'full';
/** Seconds each case took (a case run inside another is not counted twice). */
const took: Record<string, number> = {};

async function timed(name: string, fn: () => Promise<void>): Promise<void> {
  const t0 = Date.now();
  const before = Object.values(took).reduce((a, b) => a + b, 0);
  await fn();
  const inner = Object.values(took).reduce((a, b) => a + b, 0) - before;
  took[name] = (took[name] ?? 0) + (Date.now() - t0) / 1000 - inner;
  info(`${name}: ${Math.round(took[name]!)} s`);
}

function readRmem(): number | null {
  try {
    return Number(readFileSync(RMEM, 'utf8').trim());
  } catch {
    return null;
  }
}

/** Raise rmem_max so both receivers get the buffer they ask for; restored on any exit. */
function raiseRmem(): number | null {
  const before = readRmem();
  if (before == null || before >= RCVBUF * 2) return before;
  try {
    writeFileSync(RMEM, String(RCVBUF * 2));
  } catch {
    info(`cannot raise ${RMEM} (not root?): receive buffers capped at ${before} bytes`);
    return before;
  }
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    writeFileSync(RMEM, String(before));
  };
  onCleanup(restore);
  return RCVBUF * 2;
}

async function main(): Promise<void> {
  const rsyslog = want('ingest') ? ensureRsyslog(info) : null;
  let rsyslogVersion: string | null = null;
  if (rsyslog) {
    const { execFileSync } = await import('node:child_process');
    rsyslogVersion = execFileSync(rsyslog, ['-v'], { encoding: 'utf8' }).split('\n')[0]!.replace(/^rsyslogd\s+/, '').split(' ')[0]!;
  }
  const m = machine(rsyslogVersion, readRmem());
  process.stdout.write(JSON.stringify({ machine: m, mode }) + '\n');
  info(`${mode}; ${m.cores} cores, ${m.memory_gib} GiB, Node ${m.node}, SQLite ${m.sqlite}, rsyslog ${m.rsyslog ?? 'n/a'}`);

  if (want('parse')) await timed('parse', parseCase);
  if (want('ingest')) await timed('ingest', () => ingestCase(rsyslog));
  if (want('storage')) {
    await timed('storage', () =>
      benchStorage(
        quick
          ? { quick, marks: [100_000, 500_000, 1_000_000], storageAt: 1_000_000, batch: 100_000, subscribers: 32_000, publics: 256, warmQueries: 1000, coldQueries: 10, dropCaches: true }
          : { quick, marks: [1_000_000, 10_000_000, 50_000_000], storageAt: 10_000_000, batch: 100_000, subscribers: 32_000, publics: 256, warmQueries: 5000, coldQueries: 200, dropCaches: true },
      ),
    );
  }
  if (want('import')) await timed('import', () => benchImport(quick ? 500_000 : 2_000_000));
  // The search case reads a day of 10 M records (quick: 1 M) and a day before as dense, both its own.
  if (want('search')) await timed('search', () => benchSearch({ samples: quick ? 40 : 300, budgetMs: quick ? 1500 : 15_000 }, quick ? 1_000_000 : 10_000_000));

  if (want('clickhouse')) await timed('clickhouse', () => benchClickhouse({ records: num('--ch-records', quick ? 1_000_000 : 10_000_000), subscribers: 32_000, publics: 256, queries: quick ? 100 : 1000 }));

  if (only?.has('soak')) {
    info(`net.core.rmem_max ${raiseRmem()} for the soak case (the package's sysctl sets 32 MiB)`);
  }
  if (only?.has('soak')) await timed('soak', () => benchSoak({ minutes: num('--soak-minutes', quick ? 2 : 30), rate: num('--soak-rate', 22_000), warmupMinutes: num('--soak-warmup', quick ? 1 : 10) }));

  const seconds = (Date.now() - started.getTime()) / 1000;
  const times = Object.entries(took).map(([k, v]) => `${k} ${Math.round(v)} s`).join(', ');
  process.stdout.write(JSON.stringify({ case_seconds: took, total_seconds: Math.round(seconds) }) + '\n');
  process.stdout.write('\n' + table() + '\n');
  process.stdout.write(`\n${mode}; ${Math.round(seconds)} s (${times})\n`);
  if (resultsPath) writeResults(resultsPath, markdown(m, mode, started, seconds, times));
}

async function parseCase(): Promise<void> {
  // 1 s of CPU a vendor in the full run (the parse module's default is 1.5 s), to keep the run inside its budget.
  for (const x of await benchParse({ quick, ms: quick ? 300 : 1000 })) {
    const mk = x.vendor === 'mikrotik';
    figure({ case: 'parse', name: `parse ${x.vendor}`, value: x.lines_per_sec, unit: 'lines/s', goal: mk ? '≥ 1,000,000' : undefined, met: mk ? x.lines_per_sec >= 1e6 : undefined, note: 'one core' });
  }
}

async function ingestCase(rsyslog: string | null): Promise<void> {
  const rmem = raiseRmem();
  info(`net.core.rmem_max ${rmem} for the ingest case`);
  await benchIngest({
    quick,
    rcvbuf: RCVBUF,
    probeSec: 2,
    holdSec: quick ? 3 : 30,
    bisections: quick ? 1 : 2,
    startRate: 50_000,
    maxRate: quick ? 400_000 : 800_000,
    rsyslogBin: rsyslog,
    systems,
  });
}

try {
  await main();
} finally {
  cleanupSync();
}
