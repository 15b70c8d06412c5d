// Bulk searches as jobs: each runs in a worker thread of its own (worker.ts), so the console's event
// loop — /health, the other pages, and in `megalog run` the process that receives logs — never waits
// for one, and a search that outgrows its heap cap (BULK_WORKER_HEAP_MIB) ends its thread with a
// message instead of aborting the process. Limited: MAX_BULKS_PER_USER running per user and
// MAX_RUNNING_BULKS in all; the console refuses more (429). A job can be cancelled: the worker stops
// before its next line, or is terminated after CANCEL_GRACE_MS (a line can read for a while).
//
//   start ──▶ running ──┬─ worker 'done' ─────────▶ done       (the answer is kept: `end` returns its id)
//                       ├─ cancel / 'cancelled' ──▶ cancelled
//                       └─ error, out of memory,
//                          exit, close ───────────▶ failed     (`failure` says which)
//
// `end` is called exactly once per job, whatever way it ends (the route audits there). A finished
// job is remembered for JOB_KEEP_MS so that the page polling it learns how it ended.
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { PackedBulk } from './answer.js';
import { SLOT, SLOT_COUNT, type BulkTask, type BulkWorkerData, type BulkWorkerMessage } from './messages.js';

/** Bulk searches running at once, over all users (each holds a thread and up to its heap cap). */
export const MAX_RUNNING_BULKS = 2;
export const MAX_BULKS_PER_USER = 1;
/**
 * Old-generation heap of a bulk worker: its answer is within MAX_RESULT_BYTES, the rest is one line's
 * reading (~20-30 MiB used at the end of a 10,000-line list). A `--max-old-space-size` given to node
 * replaces it: V8 flags are process-wide, and win over a worker's resourceLimits.
 */
export const BULK_WORKER_HEAP_MIB = 256;
/** How long a cancelled worker may take to reach its next line before it is terminated. */
export const CANCEL_GRACE_MS = 2000;
/** Finished jobs are remembered this long, at most MAX_ENDED_JOBS of them. */
export const JOB_KEEP_MS = 3600_000;
const MAX_ENDED_JOBS = 200;

export type JobState = 'running' | 'done' | 'cancelled' | 'failed';
export type JobFailure = 'memory' | 'error' | 'stopped';

/** How a job ended, as `end` hears it. */
export type JobEnd = { state: 'done'; answer: PackedBulk } | { state: 'cancelled'; done: number } | { state: 'failed'; failure: JobFailure; done: number };

export interface BulkJob {
  readonly id: string;
  readonly owner: number;
  /** Lines to answer. */
  readonly total: number;
  readonly started_ms: number;
  state: JobState;
  ended_ms: number | null;
  /** The kept answer's id (state done; null if `end` kept none). */
  result: string | null;
  failure: JobFailure | null;
  /** Lines answered so far (the last count once ended). */
  done(): number;
  /** Settles when the job has ended and `end` has run. */
  readonly finished: Promise<void>;
}

export type Refusal = { refused: 'user'; running: BulkJob } | { refused: 'all'; running: number };

interface Live {
  job: BulkJob;
  worker: Worker;
  slots: Int32Array;
  cancelling: boolean;
  settle(): void;
}

export class BulkJobs {
  private readonly jobs = new Map<string, BulkJob>();
  private readonly live = new Map<string, Live>();
  private closing = false;

  constructor(private readonly cfg: BulkWorkerData['cfg']) {}

  /** Why `owner` may not start a bulk now, or null. */
  refusal(owner: number): Refusal | null {
    const mine = [...this.live.values()].filter((l) => l.job.owner === owner);
    if (mine.length >= MAX_BULKS_PER_USER) return { refused: 'user', running: mine[0]!.job };
    if (this.live.size >= MAX_RUNNING_BULKS) return { refused: 'all', running: this.live.size };
    return null;
  }

  /**
   * Start answering `task` (`lines` requests) for `owner` in a worker, or say why not. `end` runs once
   * when the job ends (in this thread); for a job done it keeps the answer and returns its id.
   */
  start(owner: number, task: BulkTask, lines: number, end: (how: JobEnd, job: BulkJob) => string | null): BulkJob | Refusal {
    this.prune();
    const no = this.closing ? ({ refused: 'all', running: this.live.size } as const) : this.refusal(owner);
    if (no) return no;
    const slots = new Int32Array(new SharedArrayBuffer(SLOT_COUNT * Int32Array.BYTES_PER_ELEMENT));
    const data: BulkWorkerData = { cfg: this.cfg, task, slots: slots.buffer as SharedArrayBuffer };
    let settle!: () => void;
    const finished = new Promise<void>((r) => (settle = r));
    const job: BulkJob = {
      id: randomBytes(12).toString('base64url'),
      owner,
      total: lines,
      started_ms: Date.now(),
      state: 'running',
      ended_ms: null,
      result: null,
      failure: null,
      done: () => Atomics.load(slots, SLOT.DONE),
      finished,
    };
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: data, resourceLimits: { maxOldGenerationSizeMb: BULK_WORKER_HEAP_MIB } });
    const l: Live = { job, worker, slots, cancelling: false, settle };
    this.jobs.set(job.id, job);
    this.live.set(job.id, l);

    let ended = false;
    const finish = (how: JobEnd) => {
      if (ended) return;
      ended = true;
      this.live.delete(job.id);
      job.state = how.state;
      job.ended_ms = Date.now();
      if (how.state === 'failed') job.failure = how.failure;
      try {
        job.result = end(how, job);
      } catch (err) {
        console.error('megalog web: bulk search: keeping the answer failed:', err);
        job.state = 'failed';
        job.failure = 'error';
      }
      void worker.terminate(); // (it exits by itself after its message; this makes sure)
      settle();
    };
    const stopped = (): JobEnd => (l.cancelling ? { state: 'cancelled', done: job.done() } : { state: 'failed', failure: this.closing ? 'stopped' : 'error', done: job.done() });
    worker.on('message', (m: BulkWorkerMessage) => {
      if (m.type === 'done') finish({ state: 'done', answer: m.answer });
      else if (m.type === 'cancelled') finish({ state: 'cancelled', done: job.done() });
      else {
        console.error('megalog web: bulk search failed:', m.error);
        finish({ state: 'failed', failure: 'error', done: job.done() });
      }
    });
    worker.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        console.error(`megalog web: a bulk search (${job.total} lines) reached its ${BULK_WORKER_HEAP_MIB} MiB heap and was stopped`);
        finish({ state: 'failed', failure: 'memory', done: job.done() });
      } else if (!l.cancelling) {
        console.error('megalog web: bulk search worker failed:', err);
        finish(stopped());
      }
    });
    worker.on('exit', () => finish(stopped()));
    return job;
  }

  /** The job `id` of `owner`, or null. */
  get(id: unknown, owner: number): BulkJob | null {
    this.prune();
    const j = typeof id === 'string' ? this.jobs.get(id) : undefined;
    return j && j.owner === owner ? j : null;
  }

  /** Ask job `id` to stop; settles when it has ended (cancelled, or done if it finished first). */
  async cancel(job: BulkJob): Promise<void> {
    const l = this.live.get(job.id);
    if (l && !l.cancelling) {
      l.cancelling = true;
      Atomics.store(l.slots, SLOT.CANCEL, 1);
      setTimeout(() => void l.worker.terminate(), CANCEL_GRACE_MS).unref();
    }
    await job.finished;
  }

  /** Stop every running job (server shutdown); each still ends through `end`. */
  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.live.values()];
    for (const l of all) void l.worker.terminate();
    await Promise.all(all.map((l) => l.job.finished));
  }

  /** Forget jobs ended more than JOB_KEEP_MS ago, and the oldest beyond MAX_ENDED_JOBS. */
  private prune(now = Date.now()): void {
    let ended = 0;
    for (const j of this.jobs.values()) if (j.state !== 'running') ended++;
    for (const [id, j] of this.jobs) {
      if (j.state === 'running') continue;
      if (ended <= MAX_ENDED_JOBS && now - j.ended_ms! <= JOB_KEEP_MS) continue;
      this.jobs.delete(id);
      ended--;
    }
  }
}
