// `megalog import FILE…`: bulk-load raw log files (plain or gzip) through the same spool → parse →
// commit path as live traffic. Year-less lines are anchored on the file's modification time.
// Exactly once across an interruption, as the processor's import jobs (sources/import-jobs.ts): each
// line is spooled with origin `job:<id>:<line>` (id `cli-<sha256 prefix>-<start time>`), and
// `<hot>/imports/<id>.state`, written before the first line, records the lines spooled and fsynced
// (every flush is fsynced before the committer is handed it; done: the whole file); it is removed once the file is committed and in imports.jsonl. Run again,
// the command commits what the spool holds (the committer's recovery), skips a file whose state says
// done, and resumes a file after the larger of its state and its last line in the spool; a running
// processor given the file goes on with the same job.
// A file imported to the end is recorded by its SHA-256 in <cold>/imports.jsonl: importing it again
// is refused (--force does it anyway). Importing the file `tail_file` follows hands it over: the tail
// state is set to the end of the last whole line imported, so the processor goes on from there.
import { createReadStream, mkdirSync, openSync, readdirSync, readFileSync, readSync, closeSync, rmSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { basename, join, resolve } from 'node:path';
import type { Config } from '../config/load.js';
import { startExitStatus } from '../core/errors.js';
import { eachLine } from '../core/lines.js';
import { IMPORTS_DIR, readJobState, writeJobState, type ImportState } from '../sources/import-jobs.js';
import { readImportLedger, recordImport, type ImportRecord } from '../sources/import-ledger.js';
import { readTailState, TAIL_STATE_FILE, writeTailState } from '../sources/tail.js';
import { sha256File } from '../core/hash.js';
import { acquireLock, LOCK_FILE, type DirLock } from '../core/lock.js';
import type { Log } from '../core/log.js';
import { SpoolWriter } from '../spool/writer.js';
import { Stats } from '../core/counters.js';
import { HandoffSender } from '../sources/handoff.js';
import { startCommitterThread, stopWorker } from '../daemon/processor.js';
import type { FromWorker } from '../core/messages.js';
import { DetailSplitter } from '../parse/radius-detail.js';

export const IMPORT_USAGE = `usage: megalog import [--force] [--detach] FILE…
       megalog import --format radius-detail [--force] [--detach] FILE…

Loads raw syslog files (plain or gzip, one message a line, as rsyslog writes hot_logs.raw) through
the same parse and commit path as live traffic. The router of each line is taken from its syslog
header (a device listed under devices: by address or name gets its time zone and vendor pin).
A file already imported to the end is refused (its SHA-256 is in <cold>/imports.jsonl); --force
imports it again, which doubles its records. Run it as the service user (sudo -u megalog …).
While megalog-processor runs, the files are handed to it as import jobs: it keeps receiving and
reads them after the live traffic; this command shows their progress (the dashboard too) until
they are received, or returns at once with --detach. Stopping this command does not stop a job.

--format radius-detail reads FreeRADIUS detail files (rlm_detail: one accounting record per block)
into RADIUS session events, the ones the answer chain looks up. An event already stored (same NAS,
session, status and time) is kept once, so importing a detail file again stores nothing twice.`;

/** How often a standalone import records each file's lines spooled (pump() has fsynced them). */
const STATE_EVERY_MS = 1000;

export const IMPORT_FORMATS = ['syslog', 'radius-detail'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export async function runImport(cfg: Config, files: string[], log: Log, opts: { force?: boolean; help?: boolean; detach?: boolean; format?: string | true } = {}): Promise<number> {
  if (opts.help) {
    console.log(IMPORT_USAGE);
    return 0;
  }
  const format = (opts.format ?? 'syslog') as ImportFormat;
  if (!IMPORT_FORMATS.includes(format)) {
    console.error(`megalog import: --format takes ${IMPORT_FORMATS.join(' or ')}\n\n${IMPORT_USAGE}`);
    return 64;
  }
  const detail = format === 'radius-detail';
  if (!files.length) {
    console.error(`megalog import: name at least one file\n\n${IMPORT_USAGE}`);
    return 64;
  }
  // Day files created by root would be unwritable for the service afterwards (SQLITE_READONLY loop).
  if (process.getuid?.() === 0) {
    const owner = ownerOf(cfg.cold_storage_dir);
    if (owner !== null && owner !== 0) {
      console.error(`megalog import: ${cfg.cold_storage_dir} belongs to uid ${owner}: run the import as that user (sudo -u megalog megalog import …), not as root`);
      return 77; // EX_NOPERM
    }
  }
  const ledger = readImportLedger(cfg.cold_storage_dir);
  const sums = new Map<string, string>();
  for (const f of files) {
    try {
      if (!statSync(f).isFile()) throw new Error('not a regular file');
    } catch (err) {
      console.error(`megalog import: ${f}: ${(err as Error).message}`);
      return 66; // EX_NOINPUT
    }
    const sum = await sha256File(f);
    const seen = ledger.get(sum);
    if (seen && !opts.force) {
      console.error(`megalog import: ${f} was imported on ${seen.at} (${seen.lines} lines, as ${seen.file}); --force imports it again and doubles its records`);
      return 65; // EX_DATAERR
    }
    sums.set(f, sum);
  }
  let lock: DirLock;
  try {
    lock = acquireLock({ hot: cfg.hot_storage_dir, cold: cfg.cold_storage_dir }, 'import');
  } catch (err) {
    // A processor owns the store: it takes the files as import jobs and keeps receiving meanwhile.
    if (startExitStatus(err) !== null && processorRunning(cfg)) return submitToProcessor(cfg, files, sums, !!opts.detach, format);
    console.error(`megalog import: ${(err as Error).message}`);
    return 75; // EX_TEMPFAIL
  }
  const stats = new Stats();
  // This thread reads, spools and parses; the committer thread commits, on the other core, what it
  // is handed in memory (at most handoff_max_bytes: past it this thread waits), as in the processor.
  let committer: Awaited<ReturnType<typeof startCommitterThread>>;
  try {
    committer = await startCommitterThread(cfg, stats, log, false);
  } catch (err) {
    lock.release();
    console.error(`megalog import: ${(err as Error).message}`);
    return 1;
  }
  let failed: Error | null = null;
  committer.worker.on('message', (m: FromWorker) => {
    if (m.type === 'log') log(m.level, m.msg);
  });
  committer.worker.on('error', (err) => (failed = err));
  const exited = new Promise<void>((resolve) => committer.worker.once('exit', () => resolve()));
  /** The committer commits everything spooled before it stops (a thread that died has stopped). */
  const stopCommitter = () => Promise.race([exited, stopWorker(committer.worker, null)]);
  const handoff = new HandoffSender(cfg, stats, committer.handoff);
  const jobsDir = join(cfg.hot_storage_dir, IMPORTS_DIR);
  mkdirSync(jobsDir, { recursive: true, mode: 0o750 });
  const writer = new SpoolWriter({ dir: join(cfg.hot_storage_dir, 'spool'), segmentBytes: cfg.spool_segment_bytes, fsync: 'never', floor: committer.floor });
  stats.set('spool_end', writer.end);
  /** Write what is spooled and hand it over, once the committer has room for it. */
  const pump = async (): Promise<void> => {
    const written = writer.flush();
    if (written) {
      // Durable before the committer sees it: a line it commits is in the spool after a power cut
      // too, so a run again resumes after it (from the spool) instead of reading it twice.
      writer.sync();
      // (A flush larger than the whole bound never fits: send() then leaves it to the spool.)
      while (written.length <= cfg.handoff_max_bytes && !handoff.fits(written.length)) {
        if (failed) throw failed;
        await new Promise((r) => setTimeout(r, 2));
      }
      handoff.send(written, writer.end);
    }
    stats.set('spool_end', writer.end);
  };
  const tty = process.stderr.isTTY;
  const total = files.reduce((n, f) => n + statSync(f).size, 0);
  let doneBytes = 0;
  let lines = 0;
  const ids: string[] = [];
  const t0 = Date.now();
  let lastDraw = 0;
  const done: ImportRecord[] = [];
  /** Each file's job state: lines spooled and fsynced (written after a pump(), never ahead of it). */
  const states = new Map<string, ImportState>();
  let lastState = Date.now();
  const persist = (force = false) => {
    if (!force && Date.now() - lastState < STATE_EVERY_MS) return;
    lastState = Date.now();
    for (const [id, st] of states) writeJobState(jobsDir, id, st);
  };
  const draw = (final = false) => {
    const now = Date.now();
    if (!tty || (!final && now - lastDraw < 200)) return;
    lastDraw = now;
    const pct = total ? Math.min(100, (doneBytes / total) * 100) : 100;
    const rate = lines / Math.max(0.001, (now - t0) / 1000);
    process.stderr.write(`\r${pct.toFixed(1).padStart(5)}%  ${lines} lines  ${Math.round(rate)} lines/s  ${stats.get('records_committed')} records   `);
    if (final) process.stderr.write('\n');
  };
  try {
    for (const file of files) {
      const anchor = statSync(file).mtimeMs;
      // The file the processor tails: only whole lines are imported, and the tail goes on after them.
      const tail = !detail && cfg.tail_file && !isGzip(file) && sameFile(file, cfg.tail_file) ? statSync(file) : null;
      const size = statSync(file).size;
      const found = cliJob(jobsDir, sums.get(file)!);
      const id = found?.id ?? `cli-${sums.get(file)!.slice(0, 16)}-${Date.now().toString(36)}`;
      const before = found?.st ?? null;
      if (before?.done) {
        // Spooled whole by an interrupted run: its lines are in the store (or the spool, committed above).
        console.error(`megalog import: ${file}: all ${before.lines} lines were spooled by an earlier run that was interrupted, not read again`);
        doneBytes += size;
        done.push({ sha256: sums.get(file)!, file: basename(file), bytes: size, lines: before.lines, at: new Date().toISOString() });
        ids.push(id);
        continue;
      }
      const origin = writer.recovery.lastImportOrigin;
      const fromSpool = origin?.startsWith(`job:${id}:`) ? Number(origin.slice(id.length + 5)) || 0 : 0;
      const skip = Math.max(before?.lines ?? 0, fromSpool);
      if (skip) console.error(`megalog import: ${file}: resuming after line ${skip}, spooled by an earlier run that was interrupted`);
      const st: ImportState = { lines: skip, read_bytes: 0, done: false };
      states.set(id, st);
      ids.push(id);
      // Before its first line is spooled: a run again (or the processor) finds the job by it.
      if (!before) writeJobState(jobsDir, id, st);
      let n = 0; // lines of the file seen, spooled or skipped
      const blocks = detail ? new DetailSplitter() : null;
      const spoolBlock = (b: Buffer | null) => {
        // one record a block (parse/message.ts knows it), named by the block's last line
        if (b && blocks!.lastLine > skip) {
          writer.append(anchor, 'import', `job:${id}:${blocks!.lastLine}`, b);
          st.lines = blocks!.lastLine;
        }
      };
      const spoolLine = (line: Buffer) => {
        if (++n <= skip) return;
        lines++;
        writer.append(anchor, 'import', `job:${id}:${n}`, line.subarray(0, cfg.tcp_max_frame_bytes));
        st.lines = n;
      };
      let readBytes = 0;
      const src = createReadStream(file);
      if (tail) src.on('data', (c) => (readBytes += c.length));
      src.on('data', (c) => (doneBytes += c.length)); // progress in file bytes, compressed or not
      const input = isGzip(file) ? src.pipe(createGunzip()) : src;
      let rest: Buffer = Buffer.alloc(0);
      for await (const chunk of input as AsyncIterable<Buffer>) {
        rest = eachLine(rest, chunk, (line) => {
          if (blocks) {
            spoolBlock(blocks.push(line));
            if (++n > skip) lines++;
          } else spoolLine(line);
        });
        if (writer.buffered > 4 << 20) {
          await pump();
          persist();
        }
        draw();
      }
      if (rest.length && !tail) {
        if (blocks) {
          spoolBlock(blocks.push(rest));
          if (++n > skip) lines++;
        } else spoolLine(rest);
      }
      if (blocks) spoolBlock(blocks.end());
      await pump();
      st.done = true;
      st.read_bytes = size;
      persist(true);
      if (tail) handOverToTail(cfg, tail.ino, readBytes - rest.length);
      done.push({ sha256: sums.get(file)!, file: basename(file), bytes: size, lines: n, at: new Date().toISOString() });
    }
    await pump();
    writer.sync();
    await stopCommitter();
    if (failed) throw failed;
    draw(true);
    // Recorded once committed: an import cut short is run again (the spool resumes it), not refused.
    // Its job states go: a later --force imports the file from its first line.
    if (!stats.get('cold_full')) {
      for (const d of done) recordImport(cfg.cold_storage_dir, d);
      for (const id of ids) rmSync(join(jobsDir, `${id}.state`), { force: true });
    }
  } catch (err) {
    console.error(`megalog import: ${(err as Error).message}`);
    return 1;
  } finally {
    writer.close();
    // Stopped here when the import failed: it still commits what was spooled (a run again resumes after it).
    await stopCommitter();
    committer.handoff.close();
    lock.release();
  }
  const s = stats.snapshot();
  if (detail) console.error(`imported ${lines} lines: ${s.radius_events_committed} session events, ${s.radius_events_duplicate} already stored, ${s.lines_unparsed} blocks that were no accounting record (kept as unparsed)`);
  else console.error(`imported ${lines} lines: ${s.records_committed} records, ${s.lines_ignored} ignored, ${s.lines_unparsed} unparsed`);
  return stats.get('cold_full') ? 1 : 0;
}

/**
 * The job of a standalone import of this file that did not end (`cli-<sha256 prefix>-<start>`, its
 * `.state` written before its first line was spooled), or null.
 */
function cliJob(dir: string, sha256: string): { id: string; st: ImportState } | null {
  const prefix = `cli-${sha256.slice(0, 16)}-`;
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  for (const n of names.sort()) {
    if (!n.startsWith(prefix) || !n.endsWith('.state')) continue;
    const id = n.slice(0, -'.state'.length);
    if (names.includes(`${id}.job.done`)) continue; // the processor ended it
    const st = readJobState(dir, id);
    if (st && !st.error) return { id, st };
  }
  return null;
}

function isGzip(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

function ownerOf(dir: string): number | null {
  try {
    return statSync(dir).uid;
  } catch {
    return null;
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** Set the tail's state to `offset` in inode `ino` unless it is already further (sources/tail.ts reads it at start). */
function handOverToTail(cfg: Config, ino: number, offset: number): void {
  const path = join(cfg.hot_storage_dir, TAIL_STATE_FILE);
  const cur = readTailState(path);
  if (cur?.ino === ino && cur.offset >= offset) return;
  writeTailState(path, { ino, offset });
}

/** The lock we could not take is a processor's (core/lock.ts writes the holder's PID and role). */
function processorRunning(cfg: Config): boolean {
  try {
    return /\bprocessor\b/.test(readFileSync(join(cfg.hot_storage_dir, LOCK_FILE), 'utf8'));
  } catch {
    return false;
  }
}

/** Hand `files` to the running processor as import jobs, then follow them until received. */
async function submitToProcessor(cfg: Config, files: string[], sums: Map<string, string>, detach: boolean, format: ImportFormat): Promise<number> {
  const dir = join(cfg.hot_storage_dir, IMPORTS_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const ids: { id: string; file: string }[] = [];
  // The SHA-256 prefixes of the jobs not done: `<time>-<sha256:12>`, or `cli-<sha256:16>-<time>`.
  const queued = readdirSync(dir)
    .filter((n) => n.endsWith('.job') && !readJobState(dir, n.slice(0, -4))?.done)
    .map((n) => (n.startsWith('cli-') ? n.slice(4, 20) : n.slice(n.indexOf('-') + 1, -4)));
  for (const file of files) {
    const st = statSync(file);
    const sha256 = sums.get(file)!;
    if (queued.some((prefix) => sha256.startsWith(prefix))) {
      console.error(`megalog import: ${file} is already being imported by the processor`);
      return 65;
    }
    // A standalone import of this file was interrupted: the job goes on under its id, after the
    // lines it spooled (its state, and its last line in the spool, which the processor recovered).
    const cli = cliJob(dir, sha256);
    if (cli?.st.done) {
      recordImport(cfg.cold_storage_dir, { sha256, file: basename(file), bytes: st.size, lines: cli.st.lines, at: new Date().toISOString() });
      rmSync(join(dir, `${cli.id}.state`), { force: true });
      console.error(`megalog import: ${file}: all ${cli.st.lines} lines were spooled by an earlier run that was interrupted, not read again`);
      continue;
    }
    const id = cli ? cli.id : `${Date.now().toString(36)}-${sha256.slice(0, 12)}`;
    const job = { path: resolve(file), sha256, bytes: st.size, gzip: isGzip(file), mtime_ms: st.mtimeMs, submitted_at: new Date().toISOString(), format };
    writeFileSync(join(dir, `${id}.job.tmp`), JSON.stringify(job), { mode: 0o640 });
    renameSync(join(dir, `${id}.job.tmp`), join(dir, `${id}.job`));
    ids.push({ id, file });
    console.error(`megalog import: ${file} handed to the running processor as job ${id}`);
  }
  if (detach || !ids.length) return 0;
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  for (;;) {
    const states = ids.map((j) => ({ ...j, st: readJobState(dir, j.id) }));
    const lines = states.reduce((n, s) => n + (s.st?.lines ?? 0), 0);
    const now = Date.now();
    if (tty) process.stderr.write(`\r${lines} lines received by the processor   `);
    else if (now - lastLine > 10_000) {
      lastLine = now;
      console.error(`megalog import: ${lines} lines received by the processor`);
    }
    if (states.every((s) => s.st?.done)) {
      if (tty) process.stderr.write('\n');
      const failed = states.filter((s) => s.st?.error);
      for (const f of failed) console.error(`megalog import: ${f.file}: ${f.st!.error}`);
      console.error(`imported ${lines} lines through the running processor`);
      return failed.length ? 1 : 0;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
