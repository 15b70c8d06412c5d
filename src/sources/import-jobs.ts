// Import jobs: `megalog import` run beside a live processor hands it the file instead of writing the
// store itself (one writer per hot and cold directory). The processor's receiver reads the file as a
// source of its own, after the sockets, so live traffic keeps its priority, and spools each line with
// transport `import`, the file's time as its receive time (the anchor of year-less log times) and
// origin `job:<id>:<line>`.
//
// Contract:
// - A job is a file `<hot>/imports/<id>.job` (JSON: path, sha256, bytes, gzip, mtime_ms), written
//   by the command with write temp + rename. Jobs run one at a time, oldest first; an ended one is
//   renamed `<id>.job.done`, so the queue read every second holds only the jobs still to run.
// - Exactly once: after the spool is fsynced, `<id>.state` records the lines spooled (written with
//   temp + rename). At start a job resumes after the larger of that count and the last `job:<id>:N`
//   origin still in the spool, so a crash neither loses nor repeats a line.
// - A job is done when its last line is spooled and fsynced: the state says `done`, and the file's
//   SHA-256 is appended to `<cold>/imports.jsonl` (importing it again is refused).
// - Reading pauses while the spool holds more than IMPORT_BACKLOG_BYTES not yet committed, or while
//   the receiver applies backpressure: an import never makes live UDP drop.
import { createReadStream, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, type ReadStream } from 'node:fs';
import { basename, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { Stats } from '../core/counters.js';
import { eachLine } from '../core/lines.js';
import type { ImportProgress } from '../core/messages.js';
import { recordImport } from './import-ledger.js';
import { DetailSplitter } from '../parse/radius-detail.js';
import type { Sink, Source } from './sink.js';
import type { Log } from '../core/log.js';

/** Uncommitted spool bytes above which an import waits for the committer. */
export const IMPORT_BACKLOG_BYTES = 64 << 20;
const POLL_MS = 1000;

export interface ImportJob {
  id: string;
  path: string;
  sha256: string;
  bytes: number;
  gzip: boolean;
  mtime_ms: number;
  submitted_at: string;
  /** `radius-detail`: a FreeRADIUS detail file, spooled a block at a time; default syslog lines. */
  format?: 'syslog' | 'radius-detail';
}

export interface ImportState {
  /** Lines spooled and fsynced. */
  lines: number;
  /** Bytes of the file read so far (compressed bytes for gzip), for progress. */
  read_bytes: number;
  done: boolean;
  error?: string;
}

export type { ImportProgress };

/** A running job's progress when a spool fsync started (ImportJobs.mark / persistAt). */
interface ImportMark {
  job: ImportJob;
  lines: number;
  readBytes: number;
  ended: boolean;
}

export const IMPORTS_DIR = 'imports';

export function readJobState(dir: string, id: string): ImportState | null {
  try {
    return JSON.parse(readFileSync(join(dir, `${id}.state`), 'utf8')) as ImportState;
  } catch {
    return null;
  }
}

/** Write a job's state (temp + rename). */
export function writeJobState(dir: string, id: string, st: ImportState): void {
  writeJson(join(dir, `${id}.state`), st);
}

function writeJson(path: string, v: unknown): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(v), { mode: 0o640 });
  renameSync(`${path}.tmp`, path);
}

export class ImportJobs implements Source {
  readonly name = 'import-jobs';
  private readonly dir: string;
  private timer: NodeJS.Timeout | null = null;
  private job: ImportJob | null = null;
  private stream: ReadStream | null = null;
  /** Lines of the current job handed to the sink, and the count already durable in its state file. */
  private lines = 0;
  private readBytes = 0;
  private persisted = 0;
  private skip = 0;
  private ended = false;
  private stopped = false;

  constructor(
    hotDir: string,
    private readonly coldDir: string,
    private readonly maxLine: number,
    private readonly sink: Sink,
    private readonly stats: Stats,
    /** Last `job:<id>:<line>` origin the spool holds (spool recovery). */
    private readonly spoolOrigin: string | null,
    private readonly log: Log,
  ) {
    this.dir = join(hotDir, IMPORTS_DIR);
  }

  describe(): string {
    return `import jobs from ${this.dir}`;
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o750 });
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.poll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.stream?.destroy();
  }

  /** Jobs waiting or running, for the dashboard. */
  progress(): ImportProgress[] {
    const out: ImportProgress[] = [];
    for (const job of this.pending()) {
      const st = job.id === this.job?.id ? { lines: this.lines, read_bytes: this.readBytes, done: false } : readJobState(this.dir, job.id) ?? { lines: 0, read_bytes: 0, done: false };
      out.push({ id: job.id, file: job.path, bytes: job.bytes, ...st });
    }
    return out;
  }

  /** The running job's progress now (the receiver fsyncs the spool, then persistAt), or null. */
  mark(): ImportMark | null {
    const job = this.job;
    return job ? { job, lines: this.lines, readBytes: this.readBytes, ended: this.ended } : null;
  }

  /** Record progress mark() gave, once the spool bytes behind it are on disk. */
  persistAt(m: ImportMark): void {
    if (this.job !== m.job) return;
    if (m.lines > this.persisted) {
      this.persisted = m.lines;
      writeJson(join(this.dir, `${m.job.id}.state`), { lines: m.lines, read_bytes: m.readBytes, done: false } satisfies ImportState);
    }
    // ended: the job spooled its last line before the mark, so the mark holds every line
    if (m.ended && m.lines === this.lines) this.finish(m.job);
  }

  /** Called by the receiver after the spool was written (spool_fsync never): the state may now advance. */
  persist(): void {
    const m = this.mark();
    if (m) this.persistAt(m);
  }

  private pending(): ImportJob[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith('.job')).sort();
    } catch {
      return [];
    }
    const jobs: ImportJob[] = [];
    for (const n of names) {
      const id = n.slice(0, -4);
      if (readJobState(this.dir, id)?.done) continue;
      try {
        jobs.push({ ...(JSON.parse(readFileSync(join(this.dir, n), 'utf8')) as Omit<ImportJob, 'id'>), id });
      } catch {
        /* a job file being written: next poll */
      }
    }
    return jobs;
  }

  private poll(): void {
    if (this.job || this.stopped) return;
    const job = this.pending()[0];
    if (!job) return;
    this.run(job);
  }

  private run(job: ImportJob): void {
    const st = readJobState(this.dir, job.id);
    const fromSpool = this.spoolOrigin?.startsWith(`job:${job.id}:`) ? Number(this.spoolOrigin.slice(job.id.length + 5)) : 0;
    this.job = job;
    this.skip = Math.max(st?.lines ?? 0, fromSpool || 0);
    this.lines = this.skip;
    this.persisted = st?.lines ?? 0;
    this.readBytes = 0;
    this.ended = false;
    try {
      const s = statSync(job.path);
      if (s.size !== job.bytes || Math.round(s.mtimeMs) !== Math.round(job.mtime_ms)) throw new Error('the file changed after it was submitted');
    } catch (err) {
      return this.fail(job, (err as Error).message);
    }
    this.log('info', `import ${job.id}: ${job.path}${this.skip ? `, resuming after line ${this.skip}` : ''}`);
    const src = createReadStream(job.path, { highWaterMark: 256 << 10 });
    src.on('data', (c) => (this.readBytes += c.length));
    this.stream = src;
    const input = job.gzip ? src.pipe(createGunzip()) : src;
    let rest: Buffer = Buffer.alloc(0);
    let n = 0; // lines of the file seen, spooled or skipped
    const take: (line: Buffer | null) => void = job.format === 'radius-detail' ? this.detailTaker(job) : (line) => {
      if (!line) return;
      n++;
      if (n <= this.skip) return;
      this.sink.accept('import', `job:${job.id}:${n}`, line.length > this.maxLine ? line.subarray(0, this.maxLine) : line, line.length > this.maxLine, job.mtime_ms);
      this.lines = n;
    };
    input.on('data', (chunk: Buffer) => {
      rest = eachLine(rest, chunk, take);
      if (this.mustWait()) {
        input.pause();
        const wait = setInterval(() => {
          if (this.stopped) return clearInterval(wait);
          if (!this.mustWait()) {
            clearInterval(wait);
            input.resume();
          }
        }, 100);
      }
    });
    input.on('end', () => {
      if (rest.length) take(rest);
      if (job.format === 'radius-detail') take(null);
      this.ended = true; // done once persist() has it on disk
    });
    input.on('error', (err: Error) => this.fail(job, err.message));
  }

  /**
   * A detail file's lines → blocks, each spooled whole as one import record (origin
   * `job:<id>:<last line of the block>`, so a resumed job goes on after the last block spooled).
   * `take(null)` ends the file.
   */
  private detailTaker(job: ImportJob): (line: Buffer | null) => void {
    const blocks = new DetailSplitter();
    return (line) => {
      const b = line ? blocks.push(line) : blocks.end();
      if (!b || blocks.lastLine <= this.skip) return;
      this.sink.accept('import', `job:${job.id}:${blocks.lastLine}`, b, false, job.mtime_ms);
      this.lines = blocks.lastLine;
    };
  }

  private mustWait(): boolean {
    return this.sink.paused || this.stats.get('spool_end') - this.stats.get('committed_pos') > IMPORT_BACKLOG_BYTES;
  }

  /**
   * Record how a job ended, then set its job file aside (`.job.done`): the queue, read every second
   * by poll() and progress(), holds only jobs not ended however many ran before.
   */
  private end(job: ImportJob, st: ImportState): void {
    writeJson(join(this.dir, `${job.id}.state`), st);
    try {
      renameSync(join(this.dir, `${job.id}.job`), join(this.dir, `${job.id}.job.done`));
    } catch {
      /* its state says done: pending() skips it all the same */
    }
  }

  private finish(job: ImportJob): void {
    this.end(job, { lines: this.lines, read_bytes: job.bytes, done: true });
    try {
      recordImport(this.coldDir, { sha256: job.sha256, file: basename(job.path), bytes: job.bytes, lines: this.lines, at: new Date().toISOString() });
    } catch (err) {
      this.log('warn', `import ${job.id}: could not record it in imports.jsonl: ${(err as Error).message}`);
    }
    this.log('info', `import ${job.id}: ${this.lines} lines received from ${job.path}`);
    this.job = null;
    this.stream = null;
    setImmediate(() => this.poll());
  }

  private fail(job: ImportJob, message: string): void {
    this.stream?.destroy();
    this.end(job, { lines: this.lines, read_bytes: this.readBytes, done: true, error: message });
    this.log('error', `import ${job.id}: ${job.path}: ${message}; stopped after line ${this.lines}`);
    this.job = null;
    this.stream = null;
  }
}
