// `npm run bench [-- --quick] [--only ingest,storage,parse] [--systems rsyslog,megalog] [--results FILE]`: the benchmark
// suite. Prints one JSON line per figure as it is measured, then a table; with --results writes the
// Markdown quoted by the README's Performance section (test/bench/RESULTS.md).
// Everything it starts runs on 127.0.0.1 and is stopped on exit, error or Ctrl-C; net.core.rmem_max
// is raised for the ingest case (root only) and restored.
import { readFileSync, writeFileSync } from 'node:fs';
import { benchIngest } from './ingest.js';
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

installHandlers();
const started = new Date();
const mode = quick ? 'quick mode: shorter steps and smaller days (--quick)' : 'full';

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

  if (want('parse')) {
    type ParseModule = { benchParse?: (o: { quick: boolean }) => unknown };
    let mod: ParseModule | null = null;
    try {
      const spec = './parse.js'; // written by another engineer; optional until it lands
      mod = (await import(spec)) as ParseModule;
    } catch {
      mod = null;
    }
    if (mod?.benchParse) {
      const r = await mod.benchParse({ quick });
      // Accept {vendor: lines_per_sec} or [{vendor, lines_per_sec}] (test/bench/parse.ts decides).
      const list = Array.isArray(r) ? (r as { vendor: string; lines_per_sec: number }[]) : r && typeof r === 'object' ? Object.entries(r).map(([vendor, v]) => ({ vendor, lines_per_sec: Number(v) })) : [];
      for (const x of list) figure({ case: 'parse', name: `parse ${x.vendor}`, value: x.lines_per_sec, unit: 'lines/s', goal: x.vendor === 'mikrotik' ? '≥ 1,000,000' : undefined, met: x.vendor === 'mikrotik' ? x.lines_per_sec >= 1e6 : undefined, note: 'one core' });
    } else {
      figure({ case: 'parse', name: 'parse throughput', value: null, unit: 'lines/s', note: 'test/bench/parse.ts (benchParse) not present yet' });
    }
  }

  if (want('ingest')) {
    const rmem = raiseRmem();
    info(`net.core.rmem_max ${rmem} for the ingest case`);
    await benchIngest({
      quick,
      rcvbuf: RCVBUF,
      probeSec: quick ? 2 : 5,
      holdSec: quick ? 5 : 30,
      bisections: quick ? 1 : 2,
      startRate: 25_000,
      maxRate: quick ? 400_000 : 800_000,
      rsyslogBin: rsyslog,
      systems,
    });
  }

  if (want('storage')) {
    await benchStorage(
      quick
        ? { quick, marks: [250_000, 1_000_000, 2_000_000], storageAt: 1_000_000, batch: 20_000, subscribers: 32_000, publics: 256, warmQueries: 1000, coldQueries: 10, dropCaches: true }
        : { quick, marks: [1_000_000, 10_000_000, 50_000_000], storageAt: 10_000_000, batch: 20_000, subscribers: 32_000, publics: 256, warmQueries: 5000, coldQueries: 30, dropCaches: true },
    );
  }

  const seconds = (Date.now() - started.getTime()) / 1000;
  process.stdout.write('\n' + table() + '\n');
  process.stdout.write(`\n${mode}; ${Math.round(seconds)} s\n`);
  if (resultsPath) writeResults(resultsPath, markdown(m, mode, started, seconds));
}

try {
  await main();
} finally {
  cleanupSync();
}
