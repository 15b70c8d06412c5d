// Cases 2, 3 and 5 on one day file, filled directly through DayFile.commit (no network, no parse):
//   storage — bytes per record on disk (tables, indexes, compressed original lines) vs the raw text;
//   lookup  — p50/p99 of the ip+port+time query and of the ip-only candidate list, warm and cold;
//   growth  — DayFile.commit rows/s and warm lookup latency as the day fills (e.g. 1, 10, 50 M).
// The generated day is day.ts's (lines made in a worker thread while the previous batch commits; each
// commit encodes its original lines, as the committer's does).
// The full day is then sealed as the committer seals a day that is over (every hour packed into
// parts) before its lookups and its last size: that file is what is kept for a year. Lookups go
// through DayReader, the query engine's reader.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/daemon.js';
import { DayFile } from '../../src/store/sqlite/dayfile.js';
import { DayReader } from '../../src/store/sqlite/read.js';
import { Part } from '../../src/store/sqlite/part.js';
import { C_LOGIN } from '../../src/store/sqlite/cols.js';
import { CHUNK_LINES, DAY, DAY_MS, DaySource, dayOpts, prepare, type Prepared } from './day.js';
import { figure, info, pct } from './report.js';
import { onCleanup } from './procs.js';

const WINDOW_MS = 60_000;

export interface StorageOptions {
  quick: boolean;
  /** Record counts at which growth is measured; the last is the lookup day's size. */
  marks: number[];
  /** Mark at which bytes/record is reported. */
  storageAt: number;
  /** Lines per DayFile.commit (one committer batch; at most CHUNK_LINES; every mark a multiple of it). */
  batch: number;
  subscribers: number;
  publics: number;
  warmQueries: number;
  coldQueries: number;
  dropCaches: boolean;
  /** Keep the filled directory (for layout experiments). */
  keep?: string;
}


/**
 * Unmeasured queries before a warm figure of a kind: the first whole-day read of a process compiles
 * its scan and took 2–4 times the median (with 20 samples a p99 is the slowest one).
 */
const WARM_UP = 3;

function timeQueries(r: DayReader, gen: DaySource, n: number, kind: 'lookup' | 'window' | 'day' | 'subscriber', warmUp = WARM_UP): number[] {
  const ms: number[] = [];
  r.begin();
  for (let i = -warmUp; i < n; i++) {
    const k = gen.pick();
    const t0 = process.hrtime.bigint();
    let found: number;
    if (kind === 'lookup') found = r.portRowsIn(k.natIp, k.natPort, r.start + k.t - WINDOW_MS, r.start + k.t + WINDOW_MS).length;
    else if (kind === 'window') found = new Set(r.ipRowsIn(k.natIp, r.start + k.t - WINDOW_MS, r.start + k.t + WINDOW_MS).map((x) => x.src_ip)).size;
    else if (kind === 'day') found = r.ipOpens(k.natIp, r.start, () => 0).n;
    else found = r.srcKeys(k.srcIp, r.start, r.start + DAY_MS).length;
    if (i >= 0) ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (!found) throw new Error(`${kind} query of a sampled key found nothing`);
  }
  r.end();
  if (n >= 100) {
    // When the slowest queries came (first ones: caches and compiled code; scattered: collector pauses).
    const slow = ms.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 8);
    info(`store: ${kind}: slowest of ${n} at ${slow.map(([v, i]) => `#${i} ${v.toFixed(2)} ms`).join(', ')}`);
  }
  return ms;
}

function dropCaches(): boolean {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '1');
    return true;
  } catch {
    return false;
  }
}

/** Bytes this process has had read from storage so far (/proc/self/io); 0 where it cannot tell. */
function readBytes(): number {
  try {
    return Number(/read_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function fileBytes(path: string): number {
  let n = 0;
  for (const ext of ['', '-wal']) {
    try {
      n += statSync(path + ext).size;
    } catch {
      /* none */
    }
  }
  return n;
}

export async function benchStorage(o: StorageOptions): Promise<void> {
  const dir = o.keep ?? tempDir('megalog-bench-store-');
  if (!o.keep) onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, `${DAY}.db`);
  const total = o.marks[o.marks.length - 1]!;
  const gen = new DaySource({ day: DAY, total, subscribers: o.subscribers, publics: o.publics, seed: 12345 });
  if (o.batch > CHUNK_LINES || o.marks.some((m) => m % o.batch)) throw new Error(`storage: batch ${o.batch} must be ≤ ${CHUNK_LINES} and divide every mark`);
  const opts = dayOpts();
  let f = new DayFile(path, DAY, opts);
  let records = 0;
  /** Time spent waiting for lines (not overlapped with commits). */
  let genMs = 0;
  let commitMs = 0;
  const window = Math.max(o.batch, Math.min(500_000, Math.floor(o.marks[0]! / 2)));
  let winRecords = 0;
  let winMs = 0;
  const tStart = Date.now();
  let asked = o.batch;
  let cur: Prepared | null = await prepare(gen, o.batch);
  try {
    for (const mark of o.marks) {
      while (records < mark && cur) {
        let t0 = performance.now();
        // The next batch is unpacked before this one commits (its lines stay valid).
        const next: Prepared | null = asked < total ? await prepare(gen, o.batch) : null;
        if (next) asked += o.batch;
        genMs += performance.now() - t0;
        t0 = performance.now();
        f.commit(cur.lines, cur.end);
        gen.committed = cur.end;
        const dt = performance.now() - t0;
        const n = cur.lines.length;
        cur = next;
        commitMs += dt;
        records += n;
        if (records > mark - window) {
          winRecords += n;
          winMs += dt;
        }
        if (records % 5_000_000 < o.batch) info(`store: ${(records / 1e6).toFixed(1)} M records, commit ${Math.round((records * 1000) / commitMs)} rows/s overall, waited for lines ${Math.round(genMs / 1000)} s, ${Math.round((Date.now() - tStart) / 1000)} s elapsed`);
      }
      const label = mark >= 1e6 ? `${mark / 1e6} M` : `${mark / 1e3} k`;
      figure({ case: 'growth', name: `commit rate at ${label} records`, value: (winRecords * 1000) / winMs, unit: 'rows/s', note: `DayFile.commit, ${o.batch} lines a batch (original lines encoded meanwhile in the line codec thread, as the processor does), last ${winRecords.toLocaleString('en-US')} rows before the mark` });
      winRecords = 0;
      winMs = 0;
      const growthReader = new DayReader(path, DAY);
      const warm = timeQueries(growthReader, gen, o.warmQueries, 'lookup');
      growthReader.close();
      figure({ case: 'growth', name: `ip+port+time p99 warm at ${label}`, value: pct(warm, 99), unit: 'ms', note: `p50 ${pct(warm, 50).toFixed(3)} ms` });
      if (mark === o.storageAt) {
        f.db.pragma('wal_checkpoint(TRUNCATE)');
        const bytes = fileBytes(path);
        figure({ case: 'storage', name: `bytes per record, ${label} records`, value: bytes / records, unit: 'B', goal: '≤ 50', met: bytes / records <= 50, note: `file ${(bytes / 2 ** 20).toFixed(0)} MiB; raw text ${(gen.rawBytes / records).toFixed(1)} B/line (${(gen.rawBytes / bytes).toFixed(1)}× the file)` });
        breakdown(f.db, records, label);
      }
    }
    info(`store: filled ${records} records in ${Math.round((Date.now() - tStart) / 1000)} s (waited for lines ${Math.round(genMs / 1000)} s, commit ${Math.round(commitMs / 1000)} s)`);
    figure({ case: 'growth', name: 'commit rate, whole day', value: (records * 1000) / commitMs, unit: 'rows/s', note: `${records.toLocaleString('en-US')} rows` });
    {
      const t0 = performance.now();
      f.closeAllHours();
      figure({ case: 'storage', name: `pack the day's last hours (${total / 1e6} M records)`, value: (performance.now() - t0) / 1000, unit: 's', note: 'pieces of the hours not closed yet into parts, in the committer thread once a day is over' });
    }

    // Lookup on the full day, warm (page cache and SQLite cache hot from the queries before). The
    // generator's line objects are let go first: a search process does not hold them.
    gen.release();
    const label = `${total / 1e6} M`;
    const reader = new DayReader(path, DAY);
    const lw = timeQueries(reader, gen, o.warmQueries, 'lookup');
    figure({ case: 'lookup', name: `ip+port+time p50 warm (${label})`, value: pct(lw, 50), unit: 'ms' });
    figure({ case: 'lookup', name: `ip+port+time p99 warm (${label})`, value: pct(lw, 99), unit: 'ms', goal: '≤ 1', met: pct(lw, 99) <= 1 });
    const cw = timeQueries(reader, gen, Math.max(20, o.warmQueries / 10), 'window');
    figure({ case: 'lookup', name: `ip-only ±60 s p50 warm (${label})`, value: pct(cw, 50), unit: 'ms' });
    figure({ case: 'lookup', name: `ip-only ±60 s p99 warm (${label})`, value: pct(cw, 99), unit: 'ms' });
    const cd = timeQueries(reader, gen, 20, 'day');
    figure({ case: 'lookup', name: `ip-only whole day p50 warm (${label})`, value: pct(cd, 50), unit: 'ms', note: `${o.publics} public IPs: ~${Math.round(total / o.publics).toLocaleString('en-US')} rows each` });
    figure({ case: 'lookup', name: `ip-only whole day p99 warm (${label})`, value: pct(cd, 99), unit: 'ms', goal: '≤ 100', met: pct(cd, 99) <= 100 });
    const sd = timeQueries(reader, gen, 20, 'subscriber');
    figure({ case: 'lookup', name: `subscriber whole day p50 warm (${label})`, value: pct(sd, 50), unit: 'ms', note: 'src_seen, then the hours of each public address' });
    figure({ case: 'lookup', name: `subscriber whole day p99 warm (${label})`, value: pct(sd, 99), unit: 'ms' });
    {
      const t0 = performance.now();
      let ok = 0;
      for (let i = 0; i < 200; i++) {
        const k = gen.pick();
        const row = reader.portRowsIn(k.natIp, k.natPort, reader.start + k.t - WINDOW_MS, reader.start + k.t + WINDOW_MS)[0];
        if (row && reader.rawOf(row)) ok++;
      }
      figure({ case: 'lookup', name: `ip+port+time with original line, mean warm (${label})`, value: (performance.now() - t0) / 200, unit: 'ms', note: `${ok}/200 lines found` });
    }
    reader.close();
    f.close();

    // Cold: a new connection after the OS page cache is dropped (per query when allowed).
    const dropped = o.dropCaches && dropCaches();
    const coldL: number[] = [];
    const coldC: number[] = [];
    /** Bytes the disk gave each cold ip+port+time lookup (its page reads and the kernel's read-ahead). */
    let coldBytes = 0;
    for (let i = 0; i < o.coldQueries; i++) {
      if (dropped) dropCaches();
      const r = new DayReader(path, DAY);
      const b0 = readBytes();
      coldL.push(timeQueries(r, gen, 1, 'lookup', 0)[0]!);
      coldBytes += readBytes() - b0;
      coldC.push(timeQueries(r, gen, 1, 'window', 0)[0]!);
      r.close();
    }
    const ra = readAheadKb(dir);
    const how = `${dropped ? 'page cache dropped before each query, new connection' : 'new connection only: OS page cache still warm (drop_caches not allowed)'}; disk read-ahead ${ra == null ? 'unknown' : `${ra} KB`}`;
    figure({ case: 'lookup', name: `ip+port+time p50 cold (${label})`, value: pct(coldL, 50), unit: 'ms', note: how });
    if (dropped) figure({ case: 'lookup', name: `ip+port+time cold, KB read from disk (${label})`, value: coldBytes / 1024 / o.coldQueries, unit: 'KB', note: 'mean of the cold lookups: the pages read and what the kernel read ahead of them (/proc/self/io read_bytes)' });
    figure({ case: 'lookup', name: `ip+port+time p99 cold (${label})`, value: pct(coldL, 99), unit: 'ms', goal: '≤ 10', met: pct(coldL, 99) <= 10, note: `${o.coldQueries} queries` });
    figure({ case: 'lookup', name: `ip-only ±60 s p99 cold (${label})`, value: pct(coldC, 99), unit: 'ms', note: `p50 ${pct(coldC, 50).toFixed(2)} ms` });
    f = new DayFile(path, DAY, { ...opts, readonly: true });
    figure({ case: 'storage', name: `bytes per record, ${label} records`, value: fileBytes(path) / records, unit: 'B', goal: '≤ 50', met: fileBytes(path) / records <= 50, note: 'the day sealed' });
    breakdown(f.db, records, `${label}, sealed`);
  } finally {
    f.close();
    await gen.close();
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The read-ahead (KB) of the block device holding `dir`, or null: a cold lookup's tail depends on it
 * (docs/operator.md, "Read-ahead of the cold disk").
 */
function readAheadKb(dir: string): number | null {
  const dev = statSync(dir).dev;
  const major = Math.floor(dev / 256) % 4096;
  const minor = (dev % 256) + Math.floor(dev / 1048576) * 256;
  for (const at of [`/sys/dev/block/${major}:${minor}/queue/read_ahead_kb`, `/sys/dev/block/${major}:${minor}/../queue/read_ahead_kb`]) {
    try {
      return Number(readFileSync(at, 'utf8').trim());
    } catch {
      /* a partition: its disk's queue is one level up */
    }
  }
  return null;
}

/** Where the bytes go (dbstat), as bytes per record. */
function breakdown(db: DayFile['db'], records: number, label: string): void {
  try {
    const rows = db.prepare("SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC").all() as { name: string; bytes: number }[];
    const parts = rows.filter((r) => r.bytes / records >= 0.5).map((r) => `${r.name} ${(r.bytes / records).toFixed(1)}`);
    info(`store: bytes/record by table: ${parts.join(', ')}`);
    figure({ case: 'storage', name: `bytes per record by table, ${label}`, value: null, unit: '', note: parts.join(', ') });
    // What the subscriber's identity costs (issue 16): the login column of the parts and blocks, and its two tables.
    let column = 0;
    for (const data of db.prepare('SELECT data FROM rec').pluck().iterate() as Iterable<Buffer>) {
      const sizes: number[] = [];
      new Part(data, sizes);
      column += sizes[C_LOGIN]!;
    }
    const table = (name: string) => rows.filter((r) => r.name === name || new RegExp(`^sqlite_autoindex_${name}_\\d+$`).test(r.name)).reduce((n, r) => n + r.bytes, 0);
    const login = table('login');
    const seen = table('login_seen');
    figure({ case: 'storage', name: `bytes per record of the subscriber login, ${label}`, value: (column + login + seen) / records, unit: 'B', note: `login column of the parts ${(column / records).toFixed(2)}, login table ${(login / records).toFixed(2)}, login_seen ${(seen / records).toFixed(2)} (BENCH_LOGINS=0 leaves logins out)` });
  } catch (err) {
    info(`store: no dbstat (${(err as Error).message})`);
  }
}
