// Committer: handoff (or spool) → store, in batches. Runs in its own worker thread so that SQLite work
// never blocks the thread that reads the sockets.
//
// Contract:
// - Lines come parsed from the receiver in memory (spool/handoff.ts; import-job lines unparsed, and
//   parsed here, so that bulk history never takes the sockets' thread); the spool is read back only
//   from the committed position at start (recovery) and where the receiver sent nothing because this
//   thread was handoff_max_bytes behind. Both paths parse with parse/message.ts and pack with the same
//   builder, so a line gives the same DayLine either way.
// - A batch is taken when `batch_size` messages wait and the last commit began GATHER_MS ago, or the
//   oldest has waited `batch_timeout_sec`; when behind, one batch takes up to `batch_max_lines`.
// - Each message is parsed once (read back from the spool, parsed again); each record is filed in the day file of its own UTC day, an
//   unparsed or ignored line in the day of its header time (else its receive time). A day's share is
//   written in one transaction together with the spool position, so a replay after any crash skips
//   exactly what was committed: nothing twice, nothing skipped.
// - A batch is committed as soon as it is taken, in order; the store encodes its original lines
//   inside the day's transaction (store/line-codec.ts).
// - A failing store (disk full, I/O error) keeps the batch and retries with backoff; the sources keep
//   spooling meanwhile and /health says degraded.
// - Every few seconds the written day files are fsynced, then spool segments below that point deleted.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Config } from '../config/load.js';
import type { ToCommitter } from '../core/messages.js';
import { MessageParser } from '../parse/message.js';
import type { NatRecord, RecordColumns } from '../parse/types.js';
import { CODE_ACCOUNTING_REQUEST, sessionEventOf } from '../parse/radius.js';
import { detailEventOf } from '../parse/radius-detail.js';
import { forEachRecord } from '../spool/format.js';
import { Handoff, HandoffBuilder } from '../spool/handoff.js';
import { SpoolReader } from '../spool/reader.js';
import { fsyncDir } from '../core/fs.js';
import { IGNORE_REASONS, type Slot, type Stats } from '../core/counters.js';
import { DAY_MS, dayOf } from '../store/codes.js';
import { openStore } from '../store/index.js';
import type { DayLine, Store } from '../store/store.js';
import { Sealer } from '../evidence/seal.js';
import { RowSealer } from '../evidence/row-seal.js';
import type { Log } from '../core/log.js';

const DURABLE_EVERY_MS = 5000;
/**
 * A batch of batch_size lines waits this long after the last commit for more, when lines come fast: a
 * commit's cost is much of it per (public address, hour) piece, and back-to-back commits of a few
 * thousand lines cut every piece small (measured over TCP at 50k msg/s: batches of ~2,000 lines cost
 * the committer ~16 µs a line, of ~31,000 lines ~10.7 µs). Counted from the last commit's start: a
 * commit that took longer is followed at once. At a slow rate a batch_size batch takes longer than
 * this to fill, so nothing changes there.
 */
const GATHER_MS = 500;
/** A record stamped further from its receive time than this is filed under the receive time. */
const FUTURE_SLACK_MS = DAY_MS;

export class Committer {
  readonly store: Store;
  /** Seals finished days and reopens sealed ones for late lines (seal.ts). */
  readonly sealer: Sealer | RowSealer | null;
  private readonly reader: SpoolReader;
  private readonly spoolDir: string;
  private readonly checkpointPath: string;
  /** Parses what is read back from the spool, as the receiver parses what it hands over. */
  private readonly parser: MessageParser;
  private readonly builder = new HandoffBuilder();
  /** Position up to which everything is committed. */
  pos: number;
  /** Position up to which `pending` was filled (from handoffs or the spool). */
  private readPos: number;
  /** Messages waiting to be taken as a batch: spans of handoffs, in position order. */
  private pending: Span[] = [];
  private pendingLines = 0;
  private pendingSince = 0;
  /** Handoffs received from the receiver and not wholly moved to `pending` yet, in position order. */
  private readonly inbox: (Handoff | Spooled)[] = [];
  /** Below this position, what the inbox does not hold is in the spool (the receiver's last mark). */
  private spoolUntil = 0;
  /** A batch taken from `pending` whose commit failed: tried again (after the backoff) before any other. */
  private taken: Batch | null = null;
  /** Position up to which batches were taken. */
  private takenPos: number;
  private lastDurable = Date.now();
  /** When the last commit was taken (GATHER_MS): a commit longer than it is followed at once by the next. */
  private lastCommitAt = 0;
  private backoffUntil = 0;
  private backoffMs = 0;
  private todayDay = '';

  /**
   * `handoff`: the committer thread's end of the channel from the receiver (spool/handoff.ts); without
   * it (`megalog import`), everything is read from the spool up to the published spool end.
   */
  constructor(private readonly cfg: Config, private readonly stats: Stats, private readonly log: Log, private readonly handoff: MessagePort | null = null) {
    this.parser = new MessageParser(cfg);
    this.store = openStore(cfg);
    this.sealer = this.store.dayFiles ? new Sealer(cfg, this.store.dayFiles, stats, log) : this.store.dayDigests ? new RowSealer(cfg, this.store.dayDigests, stats, log) : null;
    this.spoolDir = join(cfg.hot_storage_dir, 'spool');
    this.reader = new SpoolReader(this.spoolDir);
    this.checkpointPath = join(cfg.hot_storage_dir, 'committed.pos');
    this.pos = this.readCheckpoint();
    this.readPos = this.pos;
    this.takenPos = this.pos;
    this.stats.set('committed_pos', this.pos);
  }

  /** Lowest position the spool writer may resume at: the highest any day file has committed. */
  floor(): number {
    return Math.max(this.pos, this.store.maxCommittedPos());
  }

  /**
   * One step of the loop: take what the receiver handed over (or read the spool where it did not),
   * take a batch when one is due and commit it (`force`: whatever is pending, at once). Returns true
   * when it committed a batch (call again soon).
   */
  step(now = Date.now(), force = false): boolean {
    this.receive();
    this.fill(now, force);
    const due =
      this.pendingLines >= this.cfg.batch_max_lines ||
      (this.pendingLines >= this.cfg.batch_size && now - this.lastCommitAt >= GATHER_MS) ||
      (this.pendingLines > 0 && (force || now - this.pendingSince >= this.cfg.batch_timeout_sec * 1000)) ||
      (this.pendingLines === 0 && this.readPos > this.takenPos); // only skipped bytes: advance
    let did = false;
    if (now >= this.backoffUntil && (this.taken || due)) {
      this.taken ??= this.take();
      if (this.commitBatch(this.taken, now)) {
        this.taken = null;
        did = true;
      }
    }
    if (now - this.lastDurable >= DURABLE_EVERY_MS) this.makeDurable(now);
    return did;
  }

  /** Commit everything pending now (shutdown, tests). */
  drain(): void {
    for (let i = 0; i < 1000; i++) {
      this.backoffUntil = 0;
      this.step(Date.now(), true);
      if (!this.pendingLines && !this.taken && !this.inbox.length && this.readPos >= this.stats.get('spool_end')) break;
      if (this.stats.get('cold_full')) break;
    }
    this.makeDurable(Date.now());
  }

  /** Move the receiver's handoffs and marks off the channel (it queues at most handoff_max_bytes). */
  private receive(): void {
    if (!this.handoff) return;
    for (let m = receiveMessageOnPort(this.handoff); m; m = receiveMessageOnPort(this.handoff)) {
      const msg = m.message as ToCommitter;
      if (msg.type === 'mark') this.spoolUntil = Math.max(this.spoolUntil, msg.end);
      else {
        const h = msg.type === 'batch' ? new Handoff(msg.buffer) : { start: msg.start, end: msg.start + msg.buffer.byteLength, buffer: msg.buffer };
        this.spoolUntil = Math.max(this.spoolUntil, h.start);
        this.inbox.push(h);
      }
    }
  }

  /**
   * Fill `pending` up to batch_max_lines, in position order: from the next handoff when it goes on
   * where `pending` ends, else from the spool up to where it does start (recovery, or handoffs the
   * receiver did not send because this thread was behind). `force`: read the spool up to its end.
   */
  private fill(now: number, force: boolean): void {
    const max = this.cfg.batch_max_lines;
    while (this.pendingLines < max) {
      let h = this.inbox[0];
      if (h && !(h instanceof Handoff)) {
        if (h.end <= this.readPos) {
          this.inbox.shift();
          this.stats.add('handoff_released_bytes', h.buffer.byteLength);
          continue;
        }
        h = this.inbox[0] = this.parseSpooled(h);
      }
      if (h) {
        while (h.next < h.n && h.ends[h.next]! <= this.readPos) h.next++; // read from the spool meanwhile
        if (h.next < h.n && h.start <= this.readPos) {
          const to = Math.min(h.n, h.next + max - this.pendingLines);
          this.queue(h, h.next, to, now);
          h.next = to;
          this.readPos = h.ends[to - 1]!;
        }
        if (h.next === h.n) {
          this.inbox.shift();
          this.stats.add('handoff_released_bytes', h.bytes);
          continue;
        }
        if (h.start <= this.readPos) continue;
      }
      const until = h ? h.start : this.handoff && !force ? this.spoolUntil : this.stats.get('spool_end');
      if (!this.readSpool(until, now)) break;
    }
  }

  /** Parse and pack records the receiver handed over as spooled (import-job lines). */
  private parseSpooled(s: Spooled): Handoff {
    const t0 = process.hrtime.bigint();
    forEachRecord(Buffer.from(s.buffer), s.start, (end, recvMs, transport, origin, payload) => {
      this.builder.add(end, recvMs, payload, this.parser.parse(payload, recvMs, transport, origin));
    });
    return new Handoff(this.builder.finish(s.start, s.end, Number(process.hrtime.bigint() - t0) / 1e9), s.buffer.byteLength);
  }

  /** Read the spool from `readPos` up to `until`, parse it and queue it. False when nothing was read. */
  private readSpool(until: number, now: number): boolean {
    const from = this.readPos;
    if (from >= until) return false;
    const b = this.reader.read(from, until, this.cfg.batch_max_lines - this.pendingLines);
    if (b.corruptBytes) {
      this.stats.add('dropped_bytes_spool_corrupt', b.corruptBytes);
      this.log('warn', `spool: skipped ${b.corruptBytes} corrupt bytes in ${b.corruptRegions} region(s) before position ${b.next}`);
    }
    if (b.next <= from) return false;
    this.stats.add('spool_reread_bytes', b.next - from);
    if (b.records.length) {
      const t0 = process.hrtime.bigint();
      for (const r of b.records) this.builder.add(r.end, r.recvMs, r.payload, this.parser.parse(r.payload, r.recvMs, r.transport, r.origin));
      const h = new Handoff(this.builder.finish(from, b.next, Number(process.hrtime.bigint() - t0) / 1e9));
      this.queue(h, 0, h.n, now);
    }
    this.readPos = b.next;
    return true;
  }

  private queue(h: Handoff, from: number, to: number, now: number): void {
    if (!this.pendingLines) this.pendingSince = now;
    this.pending.push({ h, from, to });
    this.pendingLines += to - from;
  }

  /** Take `pending` as a batch: its lines filed by day. */
  private take(): Batch {
    const spans = this.pending;
    const size = this.pendingLines;
    this.pending = [];
    this.pendingLines = 0;
    const last = spans.at(-1);
    const batchEnd = last ? last.h.ends[last.to - 1]! : this.readPos;
    this.takenPos = batchEnd;
    const t0 = process.hrtime.bigint();
    const byDay = new Map<string, DayLine[]>();
    let parseSecs = 0;
    let records = 0;
    let unparsed = 0;
    let ignored = 0;
    let noise = 0;
    let outOfRange = 0;
    let invalidUtf8 = 0;
    const oldestMs = this.cfg.log_retention_days * DAY_MS;
    // The day of the last line filed whole (consecutive lines are mostly of one day: one string for them).
    let lastDayNo = NaN;
    let lastDay = '';
    for (const { h, from, to } of spans) {
      parseSecs += (h.parseSecs * (to - from)) / h.n; // the parse time of these lines, wherever it was spent
      for (let i = from; i < to; i++) {
        if (h.invalidUtf8(i)) invalidUtf8++;
        const status = h.status(i);
        if (status === 'noise') {
          noise++;
          continue;
        }
        const end = h.ends[i]!;
        const recvMs = h.recvMs[i]!;
        const device = h.device(i);
        if (status === 'session') {
          const payload = h.payload(i);
          // A RADIUS accounting event (a packet checked when received, or a block of an imported
          // detail file): filed on the day of its own time.
          const ev = payload[0] === CODE_ACCOUNTING_REQUEST ? sessionEventOf(payload, recvMs) : detailEventOf(payload, recvMs);
          if (!('malformed' in ev)) {
            if (!inRange(ev.time, recvMs, oldestMs)) {
              outOfRange++;
              ev.time = recvMs;
            }
            push(byDay, dayOf(ev.time), { end, payload, device, time: ev.time, status: 'session', vendor: null, reason: null, records: [], session: ev });
            continue;
          }
          unparsed++; // a detail block that is no accounting record (the listener checked its packets): kept as a line
          push(byDay, dayOf(recvMs), { end, payload, device, time: recvMs, status: 'unparsed', vendor: null, reason: null, records: [] });
          continue;
        }
        if (status === 'records') {
          const vendor = h.vendorOf(i);
          const [from, to] = h.recordSpan(i);
          const first = h.time(from);
          const dayNo = Math.floor(first / DAY_MS);
          let same = inRange(first, recvMs, oldestMs);
          for (let j = from + 1; same && j < to; j++) same = inRange(h.time(j), recvMs, oldestMs) && Math.floor(h.time(j) / DAY_MS) === dayNo;
          if (same) {
            // The usual case: every record in range and on one day, read in place by the store.
            if (dayNo !== lastDayNo) lastDay = dayOf((lastDayNo = dayNo) * DAY_MS);
            push(byDay, lastDay, new HandoffLine(end, device, first, vendor, h, i, from, to));
            records += to - from;
            continue;
          }
          // Records of one message may fall on different days, or out of range (rare): split them.
          const recs = h.records(i);
          const perDay = new Map<string, NatRecord[]>();
          for (const r of recs) {
            const t = inRange(r.time, recvMs, oldestMs) ? r.time : recvMs;
            if (r.time != null && t !== r.time) outOfRange++;
            const rec = r.time === t ? r : { ...r, time: t };
            const day = dayOf(t);
            let list = perDay.get(day);
            if (!list) perDay.set(day, (list = []));
            list.push(rec);
          }
          const payload = h.payload(i);
          for (const [day, recs] of perDay) {
            push(byDay, day, { end, payload, device, time: recs[0]!.time!, status: 'records', vendor, reason: null, records: recs });
            records += recs.length;
          }
        } else {
          const time = h.timeOf(i);
          const t = inRange(time, recvMs, oldestMs) ? time : recvMs;
          if (time != null && t !== time) outOfRange++;
          let reason: string | null = null;
          if (status === 'ignored') {
            ignored++;
            reason = h.reasonOf(i);
            this.stats.add(ignoredSlot(reason ?? ''), 1);
          } else unparsed++;
          push(byDay, dayOf(t), { end, payload: h.payload(i), device, time: t, status, vendor: status === 'ignored' ? h.vendorOf(i) : null, reason, records: [] });
        }
      }
    }
    const firstRecvMs = spans.length ? spans[0]!.h.recvMs[spans[0]!.from]! : Date.now();
    const b: Batch = { size, firstRecvMs, batchEnd, byDay, parseSecs: 0, records, unparsed, ignored, noise, outOfRange, invalidUtf8 };
    b.parseSecs = parseSecs + Number(process.hrtime.bigint() - t0) / 1e9;
    return b;
  }

  private commitBatch(b: Batch, now: number): boolean {
    const t0 = process.hrtime.bigint();
    let late = 0;
    let sessions = 0;
    let duplicates = 0;
    try {
      late = 0;
      sessions = 0;
      duplicates = 0;
      for (const [day, lines] of b.byDay) {
        if (this.sealer?.admit(day, lines.length)) late += lines.length;
        const r = this.store.commitDay(day, lines, b.batchEnd);
        sessions += r.sessions;
        duplicates += r.duplicateSessions;
      }
    } catch (err) {
      this.stats.add('commit_errors', 1);
      const full = this.store.isFull(err);
      if (full) this.stats.set('cold_full', 1);
      this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 250), 10_000);
      this.backoffUntil = now + this.backoffMs;
      this.log(full ? 'warn' : 'error', `commit failed (${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}); keeping ${b.size} messages in the spool, retry in ${this.backoffMs} ms`);
      return false;
    }
    this.backoffMs = 0;
    this.stats.set('cold_full', 0);
    this.pos = b.batchEnd;
    if (this.readPos < this.pos) this.readPos = this.pos;
    if (this.takenPos < this.pos) this.takenPos = this.pos;
    const s = this.stats;
    s.observeCommit(b.parseSecs + Number(process.hrtime.bigint() - t0) / 1e9);
    s.add('records_committed', b.records);
    s.add('lines_committed', b.size - b.noise);
    s.add('lines_unparsed', b.unparsed);
    s.add('lines_ignored', b.ignored);
    s.add('dropped_noise', b.noise);
    s.add('time_out_of_range', b.outOfRange);
    s.add('sealed_day_lines', late);
    s.add('invalid_utf8', b.invalidUtf8);
    s.add('radius_events_committed', sessions);
    s.add('radius_events_duplicate', duplicates);
    s.set('committed_pos', this.pos);
    s.set('last_commit_ms', now);
    this.lastCommitAt = now;
    const today = dayOf(now);
    if (b.byDay.has(today) || today !== this.todayDay) {
      this.todayDay = today;
      s.set('records_today', b.byDay.has(today) ? this.store.recordsOf(today) : 0);
    }
    return true;
  }

  /** fsync the written day files, then checkpoint the position and delete covered spool segments. */
  makeDurable(now: number): void {
    this.lastDurable = now;
    const pos = this.pos;
    try {
      this.store.syncAll();
    } catch (err) {
      this.log('warn', `fsync of day files failed: ${(err as Error).message}`);
      return;
    }
    this.writeCheckpoint(pos);
    this.reader.deleteUpTo(pos);
  }

  private readCheckpoint(): number {
    try {
      const n = Number(readFileSync(this.checkpointPath, 'utf8').trim());
      return Number.isSafeInteger(n) && n >= 0 ? n : 0;
    } catch {
      return 0;
    }
  }

  private writeCheckpoint(pos: number): void {
    try {
      const tmp = `${this.checkpointPath}.tmp`;
      writeFileSync(tmp, `${pos}\n`);
      const fd = openSync(tmp, 'r');
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, this.checkpointPath);
      fsyncDir(this.cfg.hot_storage_dir);
    } catch (err) {
      this.log('warn', `cannot write ${this.checkpointPath}: ${(err as Error).message}`);
    }
  }

  /**
   * Receive time before which every message is committed: a day may be sealed once its end + grace
   * is below it (nothing received before the seal time is still on its way to that day).
   */
  caughtUpTo(now = Date.now()): number {
    if (this.taken) return this.taken.firstRecvMs;
    const p = this.pending[0];
    if (p) return p.h.recvMs[p.from]!;
    return this.readPos >= this.stats.get('spool_end') ? now : 0;
  }

  /** Days of batches taken and not committed yet. */
  daysInFlight(): Set<string> {
    const out = new Set<string>();
    if (this.taken) for (const d of this.taken.byDay.keys()) out.add(d);
    return out;
  }

  /** Messages received or read and not committed yet. */
  get pendingCount(): number {
    let n = this.pendingLines;
    for (const h of this.inbox) if (h instanceof Handoff) n += h.n - h.next;
    if (this.taken) n += this.taken.size;
    return n;
  }

  close(): void {
    this.sealer?.stop();
    this.store.close();
  }
}

/** Spool records the receiver handed over unparsed, from `start` to `end`. */
interface Spooled {
  start: number;
  end: number;
  buffer: ArrayBuffer;
}

/** Messages [from, to) of a handoff, waiting in `pending`. */
interface Span {
  h: Handoff;
  from: number;
  to: number;
}

/** A batch taken from `pending`: filed by day, not committed yet. */
interface Batch {
  /** Messages in it. */
  size: number;
  /** Receive time of its first message. */
  firstRecvMs: number;
  batchEnd: number;
  byDay: Map<string, DayLine[]>;
  parseSecs: number;
  records: number;
  unparsed: number;
  ignored: number;
  noise: number;
  outOfRange: number;
  invalidUtf8: number;
}

/**
 * A line of a handoff whose records all fall on one day: the store reads them in place (`cols`); they
 * become objects only if a store asks for `records`, and then once.
 */
class HandoffLine implements DayLine {
  readonly status = 'records' as const;
  readonly reason = null;

  constructor(readonly end: number, readonly device: string, readonly time: number, readonly vendor: string | null, readonly src: Handoff, private readonly i: number, readonly from: number, readonly to: number) {}

  /**
   * The line is its own `cols`, and its payload is a view made when the store reads it: a batch's
   * lines live through its commit, and every object they hold is one the collector copies.
   */
  get cols(): this {
    return this;
  }

  get payload(): Buffer {
    return this.src.payload(this.i);
  }

  private made: NatRecord[] | null = null;

  /** Made once, when first asked: every reader of `records` gets the same array. */
  get records(): NatRecord[] {
    return (this.made ??= this.src.records(this.i));
  }
}

/** Whether a record's time files it: not too far ahead of its receive time, nor past retention. */
function inRange(t: number | null, recvMs: number, oldestMs: number): t is number {
  return t != null && Number.isFinite(t) && t <= recvMs + FUTURE_SLACK_MS && t >= recvMs - oldestMs;
}

/** Stats slot of an ignore reason; a reason outside the declared set counts as not_nat_event. */
function ignoredSlot(reason: string): Slot {
  return (IGNORE_REASONS as readonly string[]).includes(reason) ? (`ignored_${reason}` as Slot) : 'ignored_not_nat_event';
}

function push(map: Map<string, DayLine[]>, day: string, line: DayLine): void {
  let l = map.get(day);
  if (!l) map.set(day, (l = []));
  l.push(line);
}
