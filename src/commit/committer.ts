// Committer: spool → parse → store, in batches. Runs in its own worker thread so that SQLite work
// never blocks the thread that reads the sockets.
//
// Contract:
// - A batch is taken when `batch_size` messages wait or the oldest has waited `batch_timeout_sec`;
//   when behind, one batch takes up to `batch_max_lines`.
// - Each message is parsed once; each record is filed in the day file of its own UTC day, an
//   unparsed or ignored line in the day of its header time (else its receive time). A day's share is
//   written in one transaction together with the spool position, so a replay after any crash skips
//   exactly what was committed: nothing twice, nothing skipped.
// - A batch is parsed once, then its raw blocks are deflated in libuv's thread pool (another core)
//   while this thread commits the batch before it: at most two batches are taken and not committed,
//   and they commit in order. A forced step (drain, import) commits at once, deflating here.
// - A failing store (disk full, I/O error) keeps the batch and retries with backoff; the sources keep
//   spooling meanwhile and /health says degraded.
// - Every few seconds the written day files are fsynced, then spool segments below that point deleted.
import { isAscii } from 'node:buffer';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { configureParsers, parseMessage } from '../parse/chain.js';
import type { NatRecord, ParseResult } from '../parse/types.js';
import type { SpoolRecord } from '../spool/format.js';
import { SpoolReader } from '../spool/reader.js';
import { fsyncDir } from '../core/fs.js';
import { IGNORE_REASONS, type Slot, type Stats } from '../core/counters.js';
import { DAY_MS, dayOf } from '../store/codes.js';
import { openStore } from '../store/index.js';
import type { DayLine, Prepared, Store } from '../store/store.js';
import { Sealer } from '../evidence/seal.js';
import type { Log } from '../core/log.js';

const DURABLE_EVERY_MS = 5000;
/** A record stamped further from its receive time than this is filed under the receive time. */
const FUTURE_SLACK_MS = DAY_MS;

export class Committer {
  readonly store: Store;
  /** Seals finished days and reopens sealed ones for late lines (seal.ts). */
  readonly sealer: Sealer | null;
  private readonly reader: SpoolReader;
  private readonly spoolDir: string;
  private readonly checkpointPath: string;
  /** Position up to which everything is committed. */
  pos: number;
  /** Position up to which `pending` was read. */
  private readPos: number;
  private pending: SpoolRecord[] = [];
  private pendingSince = 0;
  /** Batches taken from `pending`, parsed, raw blocks being deflated; committed in order. */
  private readonly taken: Batch[] = [];
  /** Position up to which batches were taken. */
  private takenPos: number;
  /** Called when a taken batch's blocks are deflated (the loop may be waiting for it). */
  onReady: (() => void) | null = null;
  private lastDurable = Date.now();
  private backoffUntil = 0;
  private backoffMs = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });
  private readonly strict = new TextDecoder('utf-8', { fatal: true });
  private todayDay = '';
  /** Configured devices by name (lower case), for lines whose sender is only in the header. */
  private readonly deviceByName: Map<string, string>;

  constructor(private readonly cfg: Config, private readonly stats: Stats, private readonly log: Log) {
    configureParsers(cfg);
    this.deviceByName = new Map(Object.entries(cfg.devices).map(([addr, d]) => [d.name.toLowerCase(), addr]));
    this.store = openStore(cfg);
    this.sealer = this.store.dayFiles ? new Sealer(cfg, this.store.dayFiles, stats, log) : null;
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
   * One step of the loop: read what the writer published, take a batch when one is due, commit the
   * oldest taken batch once deflated (`force`: at once). Returns true when it took or committed a
   * batch (call again soon); a batch still deflating calls `onReady` when done.
   */
  step(now = Date.now(), force = false): boolean {
    const end = this.stats.get('spool_end');
    if (this.readPos < end && this.pending.length < this.cfg.batch_max_lines) {
      const b = this.reader.read(this.readPos, end, this.cfg.batch_max_lines - this.pending.length);
      if (b.corruptBytes) {
        this.stats.add('dropped_bytes_spool_corrupt', b.corruptBytes);
        this.log('warn', `spool: skipped ${b.corruptBytes} corrupt bytes in ${b.corruptRegions} region(s) before position ${b.next}`);
      }
      if (b.records.length && !this.pending.length) this.pendingSince = now;
      for (const r of b.records) this.pending.push(r);
      this.readPos = b.next;
    }
    const due =
      this.pending.length >= this.cfg.batch_size ||
      (this.pending.length > 0 && (force || now - this.pendingSince >= this.cfg.batch_timeout_sec * 1000)) ||
      (this.pending.length === 0 && this.readPos > this.takenPos); // only skipped bytes: advance
    let did = false;
    if (now >= this.backoffUntil) {
      // Take the next batch just before committing the oldest, so that its blocks deflate meanwhile
      // (taken earlier, while the oldest still deflates, it would hold only a few milliseconds of lines).
      const ready = this.taken.length > 0 && (force || this.taken[0]!.deflating === 0);
      if (due && (this.taken.length === 0 || (ready && this.taken.length < 2))) {
        this.taken.push(this.take(force));
        did = true;
      }
      while (this.taken.length && (force || this.taken[0]!.deflating === 0)) {
        if (!this.commitBatch(this.taken[0]!, now)) break;
        this.taken.shift();
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
      if (!this.pending.length && !this.taken.length && this.readPos >= this.stats.get('spool_end')) break;
      if (this.stats.get('cold_full')) break;
    }
    this.makeDurable(Date.now());
  }

  private parse(text: string, recvMs: number, peer: string | null): ParseResult {
    try {
      return parseMessage(text, { receivedAt: recvMs, peer, device: peer ? this.cfg.devices[peer] ?? null : null, timezone: this.cfg.timezone });
    } catch {
      return { kind: 'unparsed', time: null, host: null };
    }
  }

  /**
   * The device a header's host names: a configured device's address when the host is that address
   * or that device's name, else the host as written (at most 64 characters); null without a host.
   */
  private senderOf(host: string | null): string | null {
    if (!host) return null;
    if (this.cfg.devices[host]) return host;
    return this.deviceByName.get(host.toLowerCase()) ?? host.slice(0, 64);
  }

  /**
   * Take `pending` as a batch: parse it, file its lines by day, start deflating their raw blocks
   * (not when it is to be committed at once: `commit` deflates them).
   */
  private take(force: boolean): Batch {
    const batch = this.pending;
    this.pending = [];
    const batchEnd = batch.length ? batch[batch.length - 1]!.end : this.readPos;
    this.takenPos = batchEnd;
    const t0 = process.hrtime.bigint();
    const byDay = new Map<string, DayLine[]>();
    let records = 0;
    let unparsed = 0;
    let ignored = 0;
    let noise = 0;
    let outOfRange = 0;
    let invalidUtf8 = 0;
    const filters = this.cfg.noise_filters;
    const oldestMs = this.cfg.log_retention_days * DAY_MS;
    for (const m of batch) {
      let text: string;
      if (isAscii(m.payload)) text = m.payload.toString('latin1');
      else {
        try {
          text = this.strict.decode(m.payload);
        } catch {
          invalidUtf8++;
          text = this.decoder.decode(m.payload);
        }
      }
      if (filters.length && filters.some((f) => text.includes(f))) {
        noise++;
        continue;
      }
      const peer = m.transport === 'udp' || m.transport === 'tcp' || m.transport === 'tls' ? m.origin : null;
      let res = this.parse(text, m.recvMs, peer);
      let device = peer ?? m.transport;
      if (!peer) {
        // Imported and tailed lines name their router only in the syslog header: take it from there,
        // and when it is a configured device, parse again with its settings (zone, vendor pin).
        const sender = this.senderOf(res.host);
        if (sender) {
          device = sender;
          if (this.cfg.devices[sender]) res = this.parse(text, m.recvMs, sender);
        }
      }
      if (res.kind === 'records' && res.records.length) {
        const recs = res.records;
        const first = recs[0]!.time;
        const day = inRange(first, m.recvMs, oldestMs) ? dayOf(first) : '';
        let same = day !== '';
        for (let i = 1; same && i < recs.length; i++) same = inRange(recs[i]!.time, m.recvMs, oldestMs) && dayOf(recs[i]!.time!) === day;
        if (same) {
          // The usual case: every record in range and on one day, kept as parsed.
          push(byDay, day, { end: m.end, payload: m.payload, device, time: first!, status: 'records', vendor: res.vendor, reason: null, records: recs });
          records += recs.length;
          continue;
        }
        // Records of one message may fall on different days, or out of range (rare): split them.
        const perDay = new Map<string, NatRecord[]>();
        for (const r of recs) {
          const t = inRange(r.time, m.recvMs, oldestMs) ? r.time : m.recvMs;
          if (r.time != null && t !== r.time) outOfRange++;
          const rec = r.time === t ? r : { ...r, time: t };
          const day = dayOf(t);
          let list = perDay.get(day);
          if (!list) perDay.set(day, (list = []));
          list.push(rec);
        }
        for (const [day, recs] of perDay) {
          push(byDay, day, { end: m.end, payload: m.payload, device, time: recs[0]!.time!, status: 'records', vendor: res.vendor, reason: null, records: recs });
          records += recs.length;
        }
      } else {
        const t = inRange(res.time, m.recvMs, oldestMs) ? res.time : m.recvMs;
        if (res.time != null && t !== res.time) outOfRange++;
        const status = res.kind === 'ignored' ? 'ignored' : 'unparsed';
        if (status === 'ignored') {
          ignored++;
          this.stats.add(ignoredSlot(res.kind === 'ignored' ? res.reason : ''), 1);
        } else unparsed++;
        push(byDay, dayOf(t), { end: m.end, payload: m.payload, device, time: t, status, vendor: res.kind === 'ignored' ? res.vendor : null, reason: res.kind === 'ignored' ? res.reason : null, records: [] });
      }
    }
    const b: Batch = { size: batch.length, firstRecvMs: batch.length ? batch[0]!.recvMs : Date.now(), batchEnd, byDay, blocks: new Map(), deflating: 0, parseSecs: 0, records, unparsed, ignored, noise, outOfRange, invalidUtf8 };
    for (const [day, lines] of force ? [] : byDay) {
      const blocks = this.store.prepare(day, lines, () => {
        if (--b.deflating === 0) this.onReady?.();
      });
      if (blocks.pending) b.deflating++;
      b.blocks.set(day, blocks);
    }
    b.parseSecs = Number(process.hrtime.bigint() - t0) / 1e9;
    return b;
  }

  private commitBatch(b: Batch, now: number): boolean {
    const t0 = process.hrtime.bigint();
    let late = 0;
    try {
      late = 0;
      for (const [day, lines] of b.byDay) {
        if (this.sealer?.admit(day, lines.length)) late += lines.length;
        this.store.commitDay(day, lines, b.batchEnd, b.blocks.get(day));
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
    s.set('committed_pos', this.pos);
    s.set('last_commit_ms', now);
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
    if (this.taken.length) return this.taken[0]!.firstRecvMs;
    if (this.pending.length) return this.pending[0]!.recvMs;
    return this.readPos >= this.stats.get('spool_end') ? now : 0;
  }

  /** Days of batches taken and not committed yet. */
  daysInFlight(): Set<string> {
    const out = new Set<string>();
    for (const b of this.taken) for (const d of b.byDay.keys()) out.add(d);
    return out;
  }

  /** Messages read and not committed yet. */
  get pendingCount(): number {
    let n = this.pending.length;
    for (const b of this.taken) n += b.size;
    return n;
  }

  close(): void {
    this.sealer?.stop();
    this.store.close();
  }
}

/** A batch taken from the spool: parsed, filed by day, raw blocks deflating, not committed yet. */
interface Batch {
  /** Messages in it. */
  size: number;
  /** Receive time of its first message. */
  firstRecvMs: number;
  batchEnd: number;
  byDay: Map<string, DayLine[]>;
  blocks: Map<string, Prepared>;
  /** Days whose blocks are still being deflated. */
  deflating: number;
  parseSecs: number;
  records: number;
  unparsed: number;
  ignored: number;
  noise: number;
  outOfRange: number;
  invalidUtf8: number;
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
