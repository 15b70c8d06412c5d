// The bench's generated day, shared by the storage, lookup, growth and search cases: MikroTik
// forward-chain NAT lines from 4 BNGs, `subscribers` inside addresses paired with `publics` outside
// ones (as CGNAT pools do), times spread evenly over the UTC day at the one-second resolution of BSD
// syslog headers. A worker thread (day-worker.ts) formats the lines a chunk ahead of the committer,
// so filling a day costs DayFile.commit plus unpacking, not line generation as well.
//
// A chunk crosses the thread boundary packed, its three buffers transferred rather than copied:
//
//   struct Chunk {
//     bytes: ArrayBuffer;         // the lines as sent, back to back, no separator (len bytes used)
//     ends:  Uint32Array[n];      // ends[i] = offset just past line i
//     num:   Uint32Array[n * 11]; // per line: second of the day, src_ip, src_port, nat_ip, nat_port,
//                                 //   dst_ip, dst_port, proto (0 TCP, 1 UDP) | device << 1,
//                                 //   then the name ids of src_ip, nat_ip, dst_ip (0: none)
//     names: string[];            // address texts first used in this chunk, ids len+1, len+2, …
//   }
//
// Names: the committer needs each record's addresses as text; making 3 strings a record on the main
// thread cost more than the rest of unpacking, so the worker names each address once (up to
// MAX_NAMES of them: subscribers, public addresses, popular destinations) and the records share
// the strings; the long tail of destinations is formatted from its number.
import { Worker } from 'node:worker_threads';
import type { NatRecord } from '../../src/parse/types.js';
import { ipFromDb, ipToDb } from '../../src/store/codes.js';
import { DayFile, type DayLine, type DayOptions } from '../../src/store/sqlite/dayfile.js';
import { LineThread } from '../../src/store/line-codec/thread.js';
import { mikrotikLine } from '../helpers/gen.js';
import { TrafficMix } from './mix.js';

/** The day the cases fill (a past day: the console caches past days' summaries, as in production). */
export const DAY = '2026-01-15';
export const DAY_MS = 86_400_000;
/** Lines a chunk: one committer batch at its largest (batch_max_lines, what a committer under load takes). */
export const CHUNK_LINES = 100_000;
/** Pragmas of the bench's day files (the processor's defaults). */
export const DAY_OPTS: DayOptions = { journalMode: 'WAL', synchronous: 'NORMAL', cacheSizeMiB: 256, maxPageCount: 0 };

let lineThread: LineThread | null = null;
/** DAY_OPTS with the line codec thread the processor's store uses (one for the bench's day files, started on first use). */
export function dayOpts(): DayOptions {
  return { ...DAY_OPTS, lineThread: LineThread.available() ? (lineThread ??= new LineThread()) : null };
}

const NUM = 11;
const MAX_NAMES = 200_000;
/** Records carry their line's login, as parsed records do; BENCH_LOGINS=0 leaves it out (to measure what it costs). */
const LOGINS = process.env.BENCH_LOGINS !== '0';
const HOSTS = ['bng1', 'bng2', 'bng3', 'bng4'];
const DEVICES = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];

export interface DaySpec {
  day: string;
  /** Records in the whole day (times are spread over the day by this count). */
  total: number;
  subscribers: number;
  publics: number;
  /** TrafficMix seed: the storage day is 12345; another day gets another. */
  seed: number;
}

/** A connection that exists in the day: what lookups ask about. t = ms since the day's start. */
export interface Key {
  natIp: number;
  natPort: number;
  t: number;
  srcIp: number;
}

export interface Chunk {
  bytes: ArrayBuffer;
  len: number;
  ends: Uint32Array<ArrayBuffer>;
  num: Uint32Array<ArrayBuffer>;
  names: string[];
}

/** Worker side: the day's lines in order, chunk after chunk. */
export class DayGen {
  private readonly mix: TrafficMix;
  private readonly dayStart: number;
  private i = 0;
  private readonly ids = new Map<string, number>();

  constructor(private readonly spec: DaySpec) {
    this.mix = new TrafficMix({ subscribers: spec.subscribers, publics: spec.publics, seed: spec.seed });
    this.dayStart = Date.parse(`${spec.day}T00:00:00Z`);
  }

  /** The next `n` lines (fewer at the end of the day). */
  chunk(n: number): Chunk {
    n = Math.max(0, Math.min(n, this.spec.total - this.i));
    const ends = new Uint32Array(n);
    const num = new Uint32Array(n * NUM);
    let bytes = Buffer.allocUnsafeSlow(n * 300 + 1024);
    let at = 0;
    const names: string[] = [];
    const id = (ip: string): number => {
      let v = this.ids.get(ip);
      if (v === undefined) {
        if (this.ids.size >= MAX_NAMES) return 0;
        this.ids.set(ip, (v = this.ids.size + 1));
        names.push(ip);
      }
      return v;
    };
    for (let k = 0; k < n; k++, this.i++) {
      const sec = Math.floor((this.i * 86_400) / this.spec.total);
      const m = this.mix.next(this.dayStart + sec * 1000);
      const dev = this.i & 3;
      // Written at once, not kept: a chunk's worth of live strings makes the young GC copy them all.
      const line = mikrotikLine(m, HOSTS[dev]);
      if (at + line.length * 3 > bytes.length) {
        const bigger = Buffer.allocUnsafeSlow(bytes.length * 2);
        bytes.copy(bigger, 0, 0, at);
        bytes = bigger;
      }
      at += bytes.write(line, at);
      ends[k] = at;
      const o = k * NUM;
      num[o] = sec;
      num[o + 1] = ipToDb(m.srcIp) as number;
      num[o + 2] = m.srcPort;
      num[o + 3] = ipToDb(m.natIp) as number;
      num[o + 4] = m.natPort;
      num[o + 5] = ipToDb(m.dstIp) as number;
      num[o + 6] = m.dstPort;
      num[o + 7] = (m.proto === 'TCP' ? 0 : 1) | (dev << 1);
      num[o + 8] = id(m.srcIp);
      num[o + 9] = id(m.natIp);
      num[o + 10] = id(m.dstIp);
    }
    return { bytes: bytes.buffer as ArrayBuffer, len: at, ends, num, names };
  }
}

/** Sets of DayLine objects reused in turn: lines live from unpack until the consumer's next call. */
const POOL_SETS = 4;

/**
 * Main-thread side: DayLines for DayFile.commit, generated one chunk ahead in a worker thread, and a
 * reservoir sample of the keys committed so far, so lookups ask about real connections.
 *
 * The DayLine objects (and their record) are reused: what next() returns is valid until the call
 * after next (DayFile.commit keeps nothing of them). Fresh objects each batch outlive the young
 * generation during the commit and cost more in the garbage collector than unpacking them.
 */
export class DaySource {
  private readonly worker: Worker;
  private readonly chunks: Chunk[] = [];
  private waiter: { resolve: (c: Chunk) => void; reject: (e: Error) => void } | null = null;
  private failed: Error | null = null;
  private left: DayLine[] = [];
  private readonly pool: DayLine[][] = Array.from({ length: POOL_SETS }, () => []);
  private set = 0;
  private readonly dayStart: number;
  private end = 0;
  /** Address texts by name id (index 0 unused). */
  private readonly names: string[] = [''];
  /** Bytes of the lines handed out, one LF each (the raw text an rsyslog file would hold). */
  rawBytes = 0;
  private readonly sample: Key[] = [];
  /** Spool position of each sampled key's line: chunks are unpacked before their lines are handed out. */
  private readonly samplePos: number[] = [];
  private seen = 0;
  private seed = 99;

  constructor(readonly spec: DaySpec, private readonly ahead = 2) {
    this.dayStart = Date.parse(`${spec.day}T00:00:00Z`);
    this.worker = new Worker(new URL('./day-worker.js', import.meta.url), { workerData: spec });
    this.worker.unref();
    this.worker.on('message', (c: Chunk) => {
      const w = this.waiter;
      this.waiter = null;
      if (w) w.resolve(c);
      else this.chunks.push(c);
    });
    this.worker.on('error', (err) => {
      this.failed = err;
      this.waiter?.reject(err);
    });
    for (let i = 0; i < ahead; i++) this.worker.postMessage(CHUNK_LINES);
  }

  /** Spool position of the last line handed out (DayFile.commit's batchEnd). */
  get position(): number {
    return this.end;
  }

  /** The next `n` lines of the day (at most CHUNK_LINES; valid until the call after this one). */
  async next(n: number): Promise<DayLine[]> {
    if (n > CHUNK_LINES) throw new Error(`DaySource.next: at most ${CHUNK_LINES} lines a call`);
    while (this.left.length < n) {
      const c = await this.take();
      if (c.ends.length === 0) break;
      this.left = this.left.length ? this.left.concat(this.unpack(c)) : this.unpack(c);
    }
    const out = this.left.length === n ? this.left : this.left.slice(0, n);
    this.left = this.left.length === n ? [] : this.left.slice(n);
    this.end += out.length;
    for (const l of out) this.rawBytes += l.payload.length + 1;
    return out;
  }

  private take(): Promise<Chunk> {
    if (this.failed) return Promise.reject(this.failed);
    this.worker.postMessage(CHUNK_LINES); // keep `ahead` chunks in the making
    const c = this.chunks.shift();
    if (c) return Promise.resolve(c);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private unpack(c: Chunk): DayLine[] {
    for (const s of c.names) this.names.push(s);
    const names = this.names;
    const buf = Buffer.from(c.bytes, 0, c.len);
    const n = c.ends.length;
    const lines = this.pool[this.set]!;
    this.set = (this.set + 1) % POOL_SETS;
    let start = 0;
    for (let k = 0; k < n; k++) {
      const o = k * NUM;
      const num = c.num;
      const time = this.dayStart + num[o]! * 1000;
      const dev = num[o + 7]! >> 1;
      const l = (lines[k] ??= newLine());
      const rec = l.records[0]!;
      rec.proto = num[o + 7]! & 1 ? 'udp' : 'tcp';
      rec.src_ip = names[num[o + 8]!] || ipFromDb(num[o + 1]);
      rec.src_port = num[o + 2]!;
      rec.nat_ip = names[num[o + 9]!] || ipFromDb(num[o + 3]);
      rec.nat_port = num[o + 4]!;
      rec.dst_ip = names[num[o + 10]!] || ipFromDb(num[o + 5]);
      rec.dst_port = num[o + 6]!;
      // The PPPoE login the line names (mix.ts: user c<s>, src 100.(64 + s >> 16).…): what the parser keeps.
      rec.login = LOGINS ? `c${(num[o + 1]! & 0xffffff) - 0x400000}` : null;
      rec.time = time;
      rec.host = HOSTS[dev]!;
      // Lines are handed out (next) in this order, after the ones left from the previous chunk.
      const pos = this.end + this.left.length + k + 1;
      l.end = pos;
      l.payload = buf.subarray(start, c.ends[k]);
      l.device = DEVICES[dev]!;
      l.time = time;
      start = c.ends[k]!;
      const slot = this.slot();
      if (slot >= 0) {
        this.sample[slot] = { natIp: num[o + 3]!, natPort: num[o + 4]!, t: num[o]! * 1000, srcIp: num[o + 1]! };
        this.samplePos[slot] = pos;
      }
    }
    return lines.length === n ? lines : lines.slice(0, n);
  }

  /** Reservoir sampling of 20,000 keys: where the next line's key goes, or -1. */
  private slot(): number {
    this.seen++;
    if (this.sample.length < 20_000) return this.sample.length;
    return this.rnd() < 20_000 / this.seen ? Math.floor(this.rnd() * 20_000) : -1;
  }

  /**
   * mulberry32, as mix.ts: an LCG computed in doubles (seed·1103515245 passes 2^53) loses its low
   * bits and cycles within a few thousand draws, which kept the reservoir at the day's first lines.
   */
  private rnd(): number {
    let t = (this.seed = (this.seed + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Position up to which lines are committed, when a batch handed out is still waiting for its commit. */
  committed: number | null = null;

  /** A key drawn from the sample, among the lines handed out (and committed) so far. */
  pick(): Key {
    const upTo = this.committed ?? this.end;
    if (upTo === 0) throw new Error('no line committed yet');
    for (;;) {
      const i = Math.floor(this.rnd() * this.sample.length);
      if (this.samplePos[i]! <= upTo) return this.sample[i]!;
    }
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }

  /**
   * Let go of the lines handed out (four sets of up to 100 k line objects), keeping the sampled keys
   * for pick(): a case that asks a filled day must not time this process's collector marking them.
   */
  release(): void {
    for (const set of this.pool) set.length = 0;
    this.left = [];
  }
}

function newLine(): DayLine {
  const rec: NatRecord = { vendor: 'mikrotik', event: 'session_create', proto: 'tcp', src_ip: '', src_port: 0, nat_ip: '', nat_port: 0, nat_port_start: null, nat_port_end: null, dst_ip: '', dst_port: 0, time: 0, host: '', login: null };
  return { end: 0, payload: Buffer.alloc(0), device: '', time: 0, status: 'records', vendor: 'mikrotik', reason: null, records: [rec] };
}

/** A filled day file as one case hands it to another: its folder (a cold storage dir) and the keys it holds. */
export interface FilledDay {
  dir: string;
  day: string;
  records: number;
  source: DaySource;
}

/** A batch of the day's lines, made in the worker while the batch before commits. */
export interface Prepared {
  lines: DayLine[];
  /** Spool position of its last line (DayFile.commit's batchEnd). */
  end: number;
}

/** The next `n` lines (valid until the DaySource.next call after the one behind it). */
export async function prepare(src: DaySource, n: number): Promise<Prepared> {
  const lines = await src.next(n);
  return { lines, end: src.position };
}

/**
 * Fill `path` with a whole generated day, CHUNK_LINES lines a DayFile.commit; `seal`: then seal its
 * port summary, as the committer does once a day is over.
 */
export async function fillDay(path: string, spec: DaySpec, seal = false): Promise<DaySource> {
  const src = new DaySource(spec);
  const f = new DayFile(path, spec.day, dayOpts());
  try {
    let asked = Math.min(CHUNK_LINES, spec.total);
    let cur: Prepared | null = await prepare(src, asked);
    while (cur?.lines.length) {
      const n = Math.min(CHUNK_LINES, spec.total - asked);
      asked += n;
      const next: Prepared | null = n > 0 ? await prepare(src, n) : null;
      f.commit(cur.lines, cur.end);
      cur = next;
    }
    if (seal) f.closeAllHours();
    f.db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    f.close();
    await src.close();
    src.release();
  }
  return src;
}
