// Spool writer: sources append here; a message is *received* once its bytes are written.
//
// Durability contract:
// - append() only buffers; flush() writes the buffer with one write(2) and, by `spool_fsync`, fsyncs:
//   `always` before flush() returns, `interval` at most spool_fsync_interval_ms later, `never` leaves it
//   to the kernel. A process crash (SIGKILL) loses nothing flushed; a power cut can lose what was not
//   fsynced yet. Sources flush once per event-loop turn, so a SIGKILL loses at most the current turn.
// - The periodic fsync (the receiver's timer, every spool_fsync_interval_ms) runs in libuv's thread
//   pool (syncAsync), not on the receiver's thread: an fsync of a second of traffic took 25–33 ms on
//   a busy disk, and the thread then read no socket (a TCP sender blocked, datagrams waited). Whoever
//   must know the bytes are on disk (RADIUS answers, the tail's and import jobs' states) acts in its
//   callback. A rotated segment is fsynced, then closed, by the next pass; sync() is the blocking
//   form (`always`, close, `megalog import`).
// - On open, the last segment is checked record by record and a torn tail is cut (and counted).
// - Positions never go backwards: the writer resumes at max(spool end, committed floor), so a record
//   committed before a power cut that lost its spool bytes cannot have its position reused.
import { fsyncDir, fsyncDirAsync } from '../core/fs.js';
import { close, closeSync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_BODY_BYTES, decodeAt, encodeRecord, parseSegmentName, recordSize, segmentName, type Transport } from './format.js';

export interface SpoolWriterOptions {
  dir: string;
  segmentBytes: number;
  /** `interval`: the owner calls syncAsync on its timer (the receiver, every spool_fsync_interval_ms). */
  fsync: 'always' | 'interval' | 'never';
  /** Lowest position the writer may resume at (the highest position any store has committed). */
  floor: number;
}

export interface RecoveryReport {
  /** Bytes cut from the end of the last segment because they did not form a whole valid record. */
  tornBytes: number;
  /** Position the writer resumes at. */
  end: number;
  /** Last tail-file origin seen in the spool (`ino:offset`), so the tail source resumes after it. */
  lastTailOrigin: string | null;
  /** Last import-job origin seen in the spool (`job:<id>:<line>`), so a job resumes after it. */
  lastImportOrigin: string | null;
}

export class SpoolWriter {
  private fd = -1;
  private segStart = 0;
  private segSize = 0;
  private buf = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  private pendingRecords = 0;
  private dirty = false;
  /** Segments rotated away, not fsynced and closed yet (the next pass takes them). */
  private retiring: number[] = [];
  /** Rotated segments a pass in flight is fsyncing (open until its callback closes them). */
  private inFlight: number[] = [];
  /** The directory has a new segment whose entry is not fsynced yet. */
  private dirDirty = false;
  /** An fsync pass is in the thread pool. */
  private syncing = false;
  /** syncAsync callers waiting for the next pass (one started after their call). */
  private syncQueue: ((err: Error | null) => void)[] = [];
  /** Run once the pass in flight is done (close() of a segment that pass is fsyncing). */
  private afterPass: (() => void)[] = [];
  /** Global position of the end of everything written to the file (flushed). */
  end = 0;
  /** Records written since open. */
  recordsWritten = 0;
  readonly recovery: RecoveryReport;

  constructor(private readonly opts: SpoolWriterOptions) {
    mkdirSync(opts.dir, { recursive: true });
    this.recovery = this.recover();
  }

  /** Bytes buffered and not yet written. */
  get buffered(): number {
    return this.used;
  }

  append(recvMs: number, transport: Transport, origin: string, payload: Buffer): void {
    this.room(recordSize(origin.length, payload.length));
    this.used = encodeRecord(this.buf, this.used, recvMs, transport, origin, payload);
    this.pendingRecords++;
  }

  /** Append `records` records already encoded (spool/format.ts: the native UDP reader's chunks). */
  appendEncoded(chunk: Buffer, records: number): void {
    this.room(chunk.length);
    this.used += chunk.copy(this.buf, this.used);
    this.pendingRecords += records;
  }

  /** Make room for `size` more bytes: grow rather than write here (the caller decides when to flush and counts its failures). */
  private room(size: number): void {
    if (this.used + size <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + size));
    this.buf.copy(bigger, 0, 0, this.used);
    this.buf = bigger;
  }

  /**
   * Write what is buffered. Throws on I/O errors (ENOSPC…): the caller counts and drops. Returns the
   * bytes written (a view of the writer's buffer, valid until the next append; they end at `end`), or
   * null when nothing was buffered.
   */
  flush(): Buffer | null {
    if (this.used === 0) return null;
    if (this.segSize > 0 && this.segSize + this.used > this.opts.segmentBytes) this.rotate();
    let off = 0;
    try {
      while (off < this.used) off += writeSync(this.fd, this.buf, off, this.used - off);
    } catch (err) {
      // Keep the segment consistent: cut whatever part of the buffer made it to the file.
      try {
        ftruncateSync(this.fd, this.segSize);
      } catch {
        /* the next recovery cuts it instead */
      }
      this.used = 0;
      this.pendingRecords = 0;
      throw err;
    }
    this.segSize += this.used;
    this.end = this.segStart + this.segSize;
    this.recordsWritten += this.pendingRecords;
    const written = this.buf.subarray(0, this.used);
    this.used = 0;
    this.pendingRecords = 0;
    this.dirty = true;
    if (this.opts.fsync === 'always') this.sync();
    return written;
  }

  /**
   * fsync everything written so far, blocking. Safe beside a pass in flight: its segments stay open
   * until its callback, which cannot run during this call.
   */
  sync(): void {
    for (const fd of this.inFlight) fsyncSync(fd);
    while (this.retiring.length) {
      const fd = this.retiring[0]!;
      fsyncSync(fd);
      this.retiring.shift();
      closeSync(fd);
    }
    if (this.dirDirty) {
      fsyncDir(this.opts.dir);
      this.dirDirty = false;
    }
    if (!this.dirty || this.fd < 0) return;
    fsyncSync(this.fd);
    this.dirty = false;
  }

  /**
   * fsync everything written so far in the thread pool; `cb` (if any) once it is on disk, or with the
   * first error (what failed is fsynced again by the next pass). Passes run one at a time.
   */
  syncAsync(cb?: (err: Error | null) => void): void {
    if (cb) this.syncQueue.push(cb);
    if (!this.syncing) this.startSync();
  }

  private startSync(): void {
    const waiters = this.syncQueue;
    this.syncQueue = [];
    const retired = this.retiring.splice(0);
    const cur = this.dirty && this.fd >= 0 ? this.fd : -1;
    const dir = this.dirDirty;
    if (!retired.length && cur < 0 && !dir) {
      for (const w of waiters) w(null);
      return;
    }
    this.syncing = true;
    this.inFlight = retired;
    if (cur >= 0) this.dirty = false;
    this.dirDirty = false;
    let failed: Error | null = null;
    const steps: ((next: () => void) => void)[] = [];
    for (const fd of retired) {
      steps.push((next) =>
        fsync(fd, (err) => {
          if (err) failed ??= err;
          close(fd, () => next());
        }),
      );
    }
    if (dir) steps.push((next) => fsyncDirAsync(this.opts.dir, next));
    if (cur >= 0) {
      steps.push((next) =>
        fsync(cur, (err) => {
          if (err) {
            failed ??= err;
            this.dirty = true;
          }
          next();
        }),
      );
    }
    const run = (i: number): void => {
      if (i < steps.length) return steps[i]!(() => run(i + 1));
      this.syncing = false;
      this.inFlight = [];
      for (const f of this.afterPass.splice(0)) f();
      for (const w of waiters) w(failed);
      if (this.syncQueue.length) this.startSync();
    };
    run(0);
  }

  close(): void {
    try {
      this.flush();
    } finally {
      if (this.fd >= 0) {
        this.sync();
        const fd = this.fd;
        // a pass in flight may be fsyncing it: closed after that pass
        if (this.syncing) this.afterPass.push(() => closeSync(fd));
        else closeSync(fd);
        this.fd = -1;
      }
    }
  }

  /** Start the next segment; the old one is fsynced and closed by the next pass, or by sync(). */
  private rotate(): void {
    const old = this.fd;
    const wasDirty = this.dirty;
    this.openSegment(this.segStart + this.segSize);
    this.dirty = false; // the new segment holds nothing yet
    if (this.opts.fsync === 'never') {
      // as before, a segment with bytes not fsynced is fsynced before it is closed: a later sync()
      // (`megalog import` calls it after each flush) could no longer reach it
      if (wasDirty) fsyncSync(old);
      closeSync(old);
      return;
    }
    this.retiring.push(old);
    // `always`: flush() syncs before it returns; `interval`: the old segment's last second now
    if (this.opts.fsync === 'interval' && wasDirty) this.syncAsync();
  }

  private openSegment(start: number): void {
    this.fd = openSync(join(this.opts.dir, segmentName(start)), 'a');
    this.segStart = start;
    this.segSize = 0;
    this.end = start;
    this.dirDirty = true;
  }

  private recover(): RecoveryReport {
    const segs = listSegments(this.opts.dir);
    let tornBytes = 0;
    let lastTailOrigin: string | null = null;
    let lastImportOrigin: string | null = null;
    const last = segs.at(-1);
    if (last) {
      const path = join(this.opts.dir, segmentName(last.start));
      const fd = openSync(path, 'r+');
      const size = statSync(path).size;
      const { validEnd, tail, imported } = scanSegment(fd, size);
      if (validEnd < size) {
        tornBytes = size - validEnd;
        ftruncateSync(fd, validEnd);
        fsyncSync(fd);
      }
      lastTailOrigin = tail;
      lastImportOrigin = imported;
      closeSync(fd);
      // The tail and an import job resume after the last line they spooled: look further back if
      // this segment has none.
      for (let i = segs.length - 2; i >= 0 && (lastTailOrigin === null || lastImportOrigin === null); i--) {
        const p = join(this.opts.dir, segmentName(segs[i]!.start));
        const f = openSync(p, 'r');
        try {
          const s = scanSegment(f, statSync(p).size);
          lastTailOrigin ??= s.tail;
          lastImportOrigin ??= s.imported;
        } finally {
          closeSync(f);
        }
      }
      const end = last.start + validEnd;
      if (end >= this.opts.floor) {
        this.fd = openSync(path, 'a');
        this.segStart = last.start;
        this.segSize = validEnd;
        this.end = end;
        if (validEnd >= this.opts.segmentBytes) this.rotate();
        return { tornBytes, end: this.end, lastTailOrigin, lastImportOrigin };
      }
    }
    // Empty spool, or the committed floor is ahead of what the spool holds (power cut lost spool
    // bytes a store had already committed): start a fresh segment at the floor.
    const start = Math.max(this.opts.floor, last ? last.start : 0);
    this.openSegment(start);
    return { tornBytes, end: this.end, lastTailOrigin, lastImportOrigin };
  }
}

/** Segments in position order. */
export function listSegments(dir: string): { start: number; name: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: { start: number; name: string }[] = [];
  for (const name of names) {
    const start = parseSegmentName(name);
    if (start !== null) out.push({ start, name });
  }
  return out.sort((a, b) => a.start - b.start);
}

/**
 * Walk a segment, record by record; the valid end is just after the last record whose length and
 * checksum hold and that is followed by another valid record or the end. Corrupt bytes in the middle
 * are left for the reader to skip (and count); only the tail is cut.
 */
function scanSegment(fd: number, size: number): { validEnd: number; tail: string | null; imported: string | null } {
  const chunk = Buffer.allocUnsafe(Math.min(Math.max(size, 1), MAX_BODY_BYTES + 64 * 1024));
  let fileOff = 0; // file offset of chunk[0]
  let have = 0;
  let at = 0;
  let validEnd = 0;
  let tail: string | null = null;
  let imported: string | null = null;
  for (;;) {
    const step = decodeAt(chunk, at, have);
    if (step.kind === 'record') {
      at = step.next;
      validEnd = fileOff + at;
      if (step.record.transport === 'tail') tail = step.record.origin;
      else if (step.record.transport === 'import') imported = step.record.origin;
      continue;
    }
    if (step.kind === 'corrupt') {
      at++;
      continue;
    }
    if (fileOff + have < size) {
      // incomplete: slide the unread bytes to the front and read more
      if (at > 0) chunk.copy(chunk, 0, at, have);
      fileOff += at;
      have -= at;
      at = 0;
      have += readSync(fd, chunk, have, chunk.length - have, fileOff + have);
      continue;
    }
    // At end of file inside a "record": its length field may itself be garbage hiding valid
    // records behind it, so step over one byte and look again until nothing is left.
    if (at >= have) break;
    at++;
  }
  return { validEnd, tail, imported };
}
