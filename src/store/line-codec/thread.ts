// The line codec's writers in a thread of their own (thread-worker.ts), beside the one that commits:
// a day file hands each block of lines to it as the commit goes on, does its records meanwhile, and
// takes the encoded blocks back, in order, before its transaction ends. Encoding is a third of a
// commit's CPU (the original lines matched, checked and deflated); here it runs on the other core.
//
// Blocks and results are messages on one MessageChannel. The committer waits for a result with
// Atomics.wait on a counter the worker bumps after each reply, and reads it with
// receiveMessageOnPort: a commit is synchronous (better-sqlite3) and its event loop does not turn
// while it runs. A writer's output depends only on the lines given to it since it was opened, so a
// thread's blocks are byte for byte those the day file would encode itself.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { KeyedWord, LineRecord } from './types.js';

/** Numbers a line's record takes in a block message (LineBlock.recs). */
export const REC_FIELDS = 9;
/** How long a commit waits for one block before it gives up (the worker answers errors; this is for a stuck one). */
const STALL_MS = 60_000;

/** The worker's script: built JavaScript beside this file (run from the TypeScript sources, there is none). */
const WORKER_URL = new URL('./thread-worker.js', import.meta.url);

/** A block of lines as the worker reads it (every array transferred, none copied). */
export interface BlockMessage {
  type: 'block';
  key: string;
  n: number;
  /** The lines' payloads, one after the other (the buffer may be longer). */
  bytes: ArrayBuffer;
  /** End of each line's payload in bytes. */
  ends: Int32Array<ArrayBuffer>;
  /** 1: the line has a record (recs), 0: stored whole. */
  has: Uint8Array<ArrayBuffer>;
  /**
   * Each line's record, REC_FIELDS numbers: t, nat_ip, nat_port, port_end, src_ip, src_port, dst_ip,
   * dst_port, code. An address is its IPv4 integer, −1 when absent, −2 − k for the k-th 16 bytes of
   * `v6`; an absent port is NaN.
   */
  recs: Float64Array<ArrayBuffer>;
  v6: Uint8Array<ArrayBuffer>;
  /** Each line's device, an index into `devices`. */
  dev: Int32Array<ArrayBuffer>;
  devices: string[];
}

export type ToLineWorker =
  | { type: 'open'; key: string; shapes: Buffer[]; words: Buffer[]; timeBase: number }
  | { type: 'drop'; key: string }
  | BlockMessage;

export type FromLineWorker = { block: Uint8Array; shapes: Uint8Array[]; words: { src: number | Uint8Array; shape: number; index: number; word: Uint8Array }[] } | { error: string };

/** One encoded block, as the day file inserts it, and the tables learned with it. */
export interface LineResult {
  block: Buffer;
  shapes: Buffer[];
  words: KeyedWord[];
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** The lines of one block, gathered on the committer's side (a new set of arrays a block: they are transferred). */
export class LineBlock {
  n = 0;
  private bytes: Buffer;
  private len = 0;
  private ends: Int32Array<ArrayBuffer>;
  private has: Uint8Array<ArrayBuffer>;
  private recs: Float64Array<ArrayBuffer>;
  private dev: Int32Array<ArrayBuffer>;
  private devices: string[] = [];
  private readonly devIdx = new Map<string, number>();
  private v6: Uint8Array[] = [];

  constructor(private readonly max: number) {
    this.bytes = Buffer.allocUnsafeSlow(max * 256);
    this.ends = new Int32Array(max);
    this.has = new Uint8Array(max);
    this.recs = new Float64Array(max * REC_FIELDS);
    this.dev = new Int32Array(max);
  }

  add(payload: Buffer, device: string, rec: LineRecord | null): void {
    const i = this.n++;
    if (this.len + payload.length > this.bytes.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.len + payload.length));
      this.bytes.copy(bigger, 0, 0, this.len);
      this.bytes = bigger;
    }
    this.len += payload.copy(this.bytes, this.len);
    this.ends[i] = this.len;
    let d = this.devIdx.get(device);
    if (d === undefined) {
      this.devIdx.set(device, (d = this.devices.length));
      this.devices.push(device);
    }
    this.dev[i] = d;
    if (rec === null) return;
    this.has[i] = 1;
    const r = this.recs;
    const o = i * REC_FIELDS;
    r[o] = rec.t;
    r[o + 1] = this.ip(rec.nat_ip);
    r[o + 2] = rec.nat_port ?? NaN;
    r[o + 3] = rec.port_end ?? NaN;
    r[o + 4] = this.ip(rec.src_ip);
    r[o + 5] = rec.src_port ?? NaN;
    r[o + 6] = this.ip(rec.dst_ip);
    r[o + 7] = rec.dst_port ?? NaN;
    r[o + 8] = rec.code;
  }

  private ip(v: number | Uint8Array | null): number {
    if (v === null) return -1;
    if (typeof v === 'number') return v;
    this.v6.push(v);
    return -1 - this.v6.length;
  }

  /** The block as a message, and the arrays to transfer; the builder starts afresh. */
  take(key: string): { msg: BlockMessage; transfer: ArrayBuffer[] } {
    const v6 = new Uint8Array(this.v6.length * 16);
    this.v6.forEach((a, k) => v6.set(a.subarray(0, 16), k * 16));
    // The block buffer itself goes (allocUnsafeSlow: its own ArrayBuffer, from offset 0); the next block gets a new one.
    const bytes = this.bytes.buffer as ArrayBuffer;
    const msg: BlockMessage = { type: 'block', key, n: this.n, bytes, ends: this.ends, has: this.has, recs: this.recs, v6, dev: this.dev, devices: this.devices };
    const transfer = [bytes, this.ends.buffer, this.has.buffer, this.recs.buffer, this.dev.buffer, v6.buffer];
    this.n = 0;
    this.len = 0;
    this.bytes = Buffer.allocUnsafeSlow(Math.max(this.max * 256, this.bytes.length));
    this.ends = new Int32Array(this.max);
    this.has = new Uint8Array(this.max);
    this.recs = new Float64Array(this.max * REC_FIELDS);
    this.dev = new Int32Array(this.max);
    this.devices = [];
    this.devIdx.clear();
    this.v6 = [];
    return { msg, transfer };
  }
}

/** The thread that encodes the day files' lines (one for a store: every day file it writes). */
export class LineThread {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly done: Int32Array;
  /** Blocks posted and not taken yet. */
  private pending = 0;
  private failed: Error | null = null;

  /**
   * False once the thread has failed (died, or stopped answering): day files then encode their lines
   * themselves. (Its death is seen between commits: the events come on the event loop.)
   */
  get alive(): boolean {
    return this.failed === null;
  }

  /** Whether the worker's script is there (built); without it a day file encodes its lines itself. */
  static available(): boolean {
    return WORKER_URL.protocol === 'file:' && existsSync(fileURLToPath(WORKER_URL));
  }

  constructor() {
    const { port1, port2 } = new MessageChannel();
    const done = new SharedArrayBuffer(4);
    this.done = new Int32Array(done);
    this.port = port1;
    this.worker = new Worker(WORKER_URL, { workerData: { port: port2, done }, transferList: [port2] });
    this.worker.on('error', (err) => (this.failed = err));
    this.worker.on('exit', (code) => (this.failed ??= new Error(`line codec thread exited (${code})`)));
    this.worker.unref();
  }

  /** A writer for `key` (a day file) from its persisted tables, replacing any of that key. */
  open(key: string, shapes: Buffer[], words: Buffer[], timeBase: number): void {
    this.port.postMessage({ type: 'open', key, shapes, words, timeBase } satisfies ToLineWorker);
  }

  drop(key: string): void {
    this.port.postMessage({ type: 'drop', key } satisfies ToLineWorker);
  }

  /** Hand a block to `key`'s writer; take() returns its result, in the order posted. */
  post(key: string, b: LineBlock): void {
    const { msg, transfer } = b.take(key);
    this.port.postMessage(msg, transfer);
    this.pending++;
  }

  /** The next block's result, waited for; throws the writer's error for that block. */
  take(): LineResult {
    if (this.pending === 0) throw new Error('line codec thread: no block pending');
    const until = Date.now() + STALL_MS;
    for (;;) {
      const seen = Atomics.load(this.done, 0);
      const got = receiveMessageOnPort(this.port);
      if (got) {
        this.pending--;
        const m = got.message as FromLineWorker;
        if ('error' in m) throw new Error(`line codec: ${m.error}`);
        return {
          block: asBuffer(m.block),
          shapes: m.shapes.map(asBuffer),
          words: m.words.map((w) => ({ src: typeof w.src === 'number' ? w.src : asBuffer(w.src), shape: w.shape, index: w.index, word: asBuffer(w.word) })),
        };
      }
      // (The worker's error and exit events come on this thread's event loop, which a commit holds.)
      if (this.failed) throw this.failed;
      if (Date.now() > until) throw (this.failed = new Error(`line codec thread: no answer in ${STALL_MS / 1000} s`));
      Atomics.wait(this.done, 0, seen, 1000);
    }
  }

  /** Take and forget every pending result (a commit that failed part-way). */
  drain(): void {
    while (this.pending > 0) {
      try {
        this.take();
      } catch {
        if (this.failed) {
          this.pending = 0;
          return;
        }
      }
    }
  }

  close(): Promise<number> {
    this.port.close();
    return this.worker.terminate();
  }
}
