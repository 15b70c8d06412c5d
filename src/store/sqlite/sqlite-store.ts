// SQLite store: a directory of day files. Keeps the few day files being written open, routes each
// day's share of a batch to its file, makes commits durable on demand, lists days, applies retention.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, statSync, statfsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../config/load.js';
import { DAY_FILE_RE, DAY_MS, dayOf, dayStart } from '../codes.js';
import { CLOSE_GRACE_MS } from './schema.js';
import { diskOf } from '../../core/fs.js';
import type { DayCommitResult, DayFiles, DayLine, Store } from '../store.js';
import { DayFile } from './dayfile.js';
import { LineThread } from '../line-codec/thread.js';

export { diskOf };

const MAX_OPEN = 4;

export interface DayInfo {
  day: string;
  records: number;
  unparsed: number;
  ignored: number;
  bytes: number;
}

export class SqliteStore implements Store, DayFiles {
  readonly dayFiles: DayFiles = this;
  private readonly open = new Map<string, DayFile>();
  private readonly dirty = new Set<string>();
  /** Day files found unreadable and moved aside (reported in health and logs). */
  readonly quarantined: string[] = [];
  /** The thread that encodes the original lines of every day file written (started on the first). */
  private lineThread: LineThread | null = null;

  constructor(private readonly cfg: Pick<Config, 'cold_storage_dir' | 'db_journal_mode' | 'db_synchronous' | 'db_cache_size_mib' | 'db_max_page_count'>) {
    mkdirSync(cfg.cold_storage_dir, { recursive: true });
  }

  pathOf(day: string): string {
    return join(this.cfg.cold_storage_dir, `${day}.db`);
  }

  /** The writable day file for `day`, opened (and created) on first use. */
  day(day: string): DayFile {
    let f = this.open.get(day);
    if (f) {
      this.open.delete(day); // LRU: re-insert as newest
      this.open.set(day, f);
      return f;
    }
    const path = this.pathOf(day);
    try {
      f = this.openDay(path, day);
    } catch (err) {
      if (!isCorruption(err)) throw err;
      // An unreadable day file must not stop ingest: keep it aside for recovery, start a new one.
      const aside = `${path}.corrupt-${Date.now()}`;
      renameSync(path, aside);
      for (const ext of ['-wal', '-shm']) if (existsSync(path + ext)) renameSync(path + ext, aside + ext);
      this.quarantined.push(aside);
      f = this.openDay(path, day);
    }
    this.open.set(day, f);
    while (this.open.size > MAX_OPEN) {
      const [oldest, od] = this.open.entries().next().value as [string, DayFile];
      this.closeHoursIfOver(od);
      this.syncDay(oldest, od);
      od.close();
      this.open.delete(oldest);
    }
    return f;
  }

  private openDay(path: string, day: string): DayFile {
    const big = day === dayOf(Date.now());
    return new DayFile(path, day, {
      journalMode: this.cfg.db_journal_mode,
      synchronous: this.cfg.db_synchronous,
      cacheSizeMiB: big ? this.cfg.db_cache_size_mib : Math.min(16, this.cfg.db_cache_size_mib),
      maxPageCount: this.cfg.db_max_page_count,
      lineThread: LineThread.available() ? (this.lineThread ??= new LineThread()) : null,
    });
  }

  commitDay(day: string, lines: DayLine[], batchEnd: number): DayCommitResult {
    const r = this.day(day).commit(lines, batchEnd);
    this.dirty.add(day);
    for (const [d, f] of this.open) if (d < day) this.closeHoursIfOver(f);
    return r;
  }

  /** Whether `day` is open for writing in this store. */
  isOpen(day: string): boolean {
    return this.open.has(day);
  }

  /**
   * Make a day file ready to be sealed (evidence/seal.ts): every hour packed into parts, WAL checkpointed into the file
   * and truncated, `PRAGMA optimize`, journal switched to DELETE (a read-only file then opens without
   * -wal/-shm writes), fsynced and closed. Throws SQLITE_BUSY while another connection (a console
   * reader) holds the file: the sealer tries again later. Returns the file's counters.
   */
  finishDay(day: string): { records: number; lines: number } {
    const f = this.day(day);
    const db = f.db;
    db.pragma('busy_timeout = 250'); // never hold the committer thread for long: the sealer retries
    try {
      f.closeAllHours();
      const [cp] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      if (cp && cp.busy) throw Object.assign(new Error('checkpoint blocked by a reader'), { code: 'SQLITE_BUSY' });
      db.pragma('optimize');
      const mode = db.pragma('journal_mode = DELETE', { simple: true });
      if (String(mode).toLowerCase() !== 'delete') throw Object.assign(new Error('journal mode switch blocked by a reader'), { code: 'SQLITE_BUSY' });
    } catch (err) {
      db.pragma('busy_timeout = 5000');
      throw err;
    }
    const c = f.counters();
    this.dirty.delete(day); // the checkpoint synced the file (the caller fsyncs it again, off this thread)
    f.close();
    this.open.delete(day);
    return { records: c.records, lines: c.lines };
  }

  /** Pack the hours of a day file whose day ended more than the grace ago (schema.ts). */
  private closeHoursIfOver(f: DayFile, now = Date.now()): void {
    if (now < dayStart(f.day) + DAY_MS + CLOSE_GRACE_MS) return;
    try {
      f.closeAllHours();
      this.dirty.add(f.day);
    } catch {
      // Only a speed-up: pieces are read as well as parts. Tried again on the next commit.
    }
  }

  /**
   * Make every commit so far durable whatever `db_synchronous` says: fsync each written day file's
   * WAL (or the file itself outside WAL mode). After this returns, spool bytes they cover may go.
   */
  syncAll(): void {
    for (const day of [...this.dirty]) {
      const f = this.open.get(day);
      if (f) this.syncDay(day, f);
      else this.dirty.delete(day);
    }
  }

  private syncDay(day: string, f: DayFile): void {
    if (!this.dirty.has(day)) return;
    for (const p of [f.path + '-wal', f.path]) {
      if (!existsSync(p)) continue;
      const fd = openSync(p, 'r+');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    this.dirty.delete(day);
  }

  /** Highest spool position committed by the day files written in the last `days` days. */
  maxCommittedPos(days = 3): number {
    let max = 0;
    const since = Date.now() - days * DAY_MS;
    for (const d of this.listDayNames()) {
      const p = this.pathOf(d);
      try {
        if (statSync(p).mtimeMs < since) continue;
        const f = new DayFile(p, d, { journalMode: '', synchronous: '', cacheSizeMiB: 2, maxPageCount: 0, readonly: true });
        try {
          max = Math.max(max, f.committedPos);
        } finally {
          f.close();
        }
      } catch {
        /* unreadable files are handled when written to */
      }
    }
    return max;
  }

  listDayNames(): string[] {
    let names: string[] = [];
    try {
      names = readdirSync(this.cfg.cold_storage_dir);
    } catch {
      return [];
    }
    return names.map((n) => DAY_FILE_RE.exec(n)?.[1]).filter((d): d is string => !!d).sort();
  }

  /** What the store holds, per day (the `megalog stats` contract). */
  listDays(): DayInfo[] {
    const out: DayInfo[] = [];
    for (const day of this.listDayNames()) {
      const p = this.pathOf(day);
      let bytes = 0;
      for (const ext of ['', '-wal']) {
        try {
          bytes += statSync(p + ext).size;
        } catch {
          /* no WAL */
        }
      }
      try {
        const f = this.open.get(day) ?? new DayFile(p, day, { journalMode: '', synchronous: '', cacheSizeMiB: 2, maxPageCount: 0, readonly: true });
        try {
          const c = f.counters();
          out.push({ day, records: c.records, unparsed: c.unparsed, ignored: c.ignored, bytes });
        } finally {
          if (!this.open.has(day)) f.close();
        }
      } catch {
        out.push({ day, records: 0, unparsed: 0, ignored: 0, bytes });
      }
    }
    return out;
  }

  /** Delete whole day files older than `retentionDays` (never rows); days with a legal hold stay. */
  applyRetention(retentionDays: number, now = Date.now(), dryRun = false): string[] {
    const cutoff = dayOf(now - retentionDays * DAY_MS);
    const removed: string[] = [];
    for (const day of this.listDayNames()) {
      if (day >= cutoff) break;
      const p = this.pathOf(day);
      if (existsSync(`${p}.hold`)) continue;
      if (dryRun) {
        removed.push(day);
        continue;
      }
      this.open.get(day)?.close();
      this.open.delete(day);
      for (const ext of ['', '-wal', '-shm']) {
        try {
          unlinkSync(p + ext);
        } catch {
          /* already gone */
        }
      }
      removed.push(day);
    }
    return removed;
  }

  recordsOf(day: string): number {
    return this.day(day).counters().records;
  }

  isFull(err: unknown): boolean {
    return isDiskFull(err);
  }

  coldDisk(): { total_bytes: number; free_bytes: number } | null {
    return diskOf(this.cfg.cold_storage_dir);
  }

  close(): void {
    this.syncAll();
    for (const f of this.open.values()) f.close();
    this.open.clear();
    void this.lineThread?.close();
    this.lineThread = null;
  }
}


function isCorruption(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT');
}

export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code.startsWith('SQLITE_IOERR');
}
