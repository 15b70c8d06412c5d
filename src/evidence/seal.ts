// Sealer: turns a finished day file into evidence, and keeps the story honest when late lines arrive.
// Runs in the committer thread (which owns the writable day files), one day at a time.
//
// Contract:
// - A day is sealed once its UTC end + `seal_grace_sec` has passed AND every message received before
//   that moment is committed (the committer's `caughtUpTo`), so a spool backlog replayed after an
//   outage lands before the seal, not after it. Days already over at start-up are sealed the same way,
//   oldest first.
// - Sealing: port summary sealed, WAL checkpoint(TRUNCATE), PRAGMA optimize, journal_mode=DELETE,
//   fsync (all on this thread, milliseconds), then SHA-256 streamed from disk in libuv's thread pool
//   (commits go on meanwhile), then one `seal` entry appended to the manifest (manifest.ts) and the
//   file made 0444. A crash before the append leaves no entry: sealed again at the next start. A crash
//   between append and chmod: the next pass finds a writable file whose latest entry is a seal,
//   rehashes it and only chmods when it still matches.
// - A commit for a day being hashed cancels that seal (no entry is written); it is retried later.
// - A commit for a sealed day is never refused (nothing is lost): BEFORE the write, a `reopen` entry
//   (reason, lines in that batch) is appended and the file made writable again. It is sealed again
//   `seal_reopen_delay_sec` after reopening, doubled at each reopening of the same day (capped at 7
//   days), so forged old-timestamp packets cannot make the appliance rehash gigabytes in a loop: one
//   day costs at most ~log2(7 d / delay) + 1 rehashes a week whatever is sent.
// - The resealed entry carries the file's `records` and `lines` counters: the difference from the
//   previous seal of that day is what arrived late.
// - Retention's deletions are recorded as `removed` entries.
import { chmodSync, closeSync, fsyncSync, openSync, statSync } from 'node:fs';
import { MODE } from '../core/fs.js';
import { open } from 'node:fs/promises';
import type { Config } from '../config/load.js';
import type { Stats } from '../core/counters.js';
import { DAY_MS, dayStart } from '../store/codes.js';
import { sha256File } from '../core/hash.js';
import { ManifestWriter, latestByDay, manifestPath, type ManifestEntry } from './manifest.js';
import type { DayFiles } from '../store/store.js';
import { fsyncDir } from '../core/fs.js';
import type { Log } from '../core/log.js';

const MAX_RESEAL_DELAY_MS = 7 * DAY_MS;
/** Read size of the seal hash: the digest of each chunk runs on the committer thread (~0.3 ms per 256 KiB). */
const HASH_CHUNK = 256 * 1024;
/** After a failed attempt (reader holding the file, I/O error), wait this long before the same day. */
const RETRY_MS = 60_000;


/** When `day` may be sealed: its end + grace, or after a reopening the backed-off reseal time. */
export function sealDueAt(day: string, cfg: Pick<Config, 'seal_grace_sec' | 'seal_reopen_delay_sec'>, latest: ManifestEntry | undefined, reopens: number): number {
  const base = dayStart(day) + DAY_MS + cfg.seal_grace_sec * 1000;
  if (latest?.event !== 'reopen') return base;
  const delay = Math.min(cfg.seal_reopen_delay_sec * 1000 * 2 ** Math.max(0, reopens - 1), MAX_RESEAL_DELAY_MS);
  return Math.max(base, Date.parse(latest.at) + delay);
}

/** The seal manifest for appending, its repairs and breaks logged, with each day's latest entry and reopen count. */
export function openManifest(coldDir: string, log: Log): { manifest: ManifestWriter; latest: Map<string, ManifestEntry>; reopens: Map<string, number> } {
  const manifest = new ManifestWriter(manifestPath(coldDir));
  if (manifest.repaired) log('warn', `seal manifest: a torn last entry (crash mid-append) was cut and kept in ${manifest.repaired}; a repair entry records it`);
  if (manifest.problems.length) log('error', `seal manifest: chain broken (${manifest.problems[0]}); run megalog verify`);
  const reopens = new Map<string, number>();
  for (const e of manifest.entries) if (e.event === 'reopen') reopens.set(e.day, (reopens.get(e.day) ?? 0) + 1);
  return { manifest, latest: latestByDay(manifest.entries), reopens };
}

export class Sealer {
  private readonly manifest: ManifestWriter;
  private readonly latest: Map<string, ManifestEntry>;
  private readonly reopens: Map<string, number>;
  private readonly failedAt = new Map<string, number>();
  private readonly unlisted = new Set<string>();
  private current: { day: string; cancelled: boolean } | null = null;
  private stopped = false;

  constructor(
    private readonly cfg: Pick<Config, 'cold_storage_dir' | 'seal_grace_sec' | 'seal_reopen_delay_sec'>,
    private readonly store: DayFiles,
    private readonly stats: Stats,
    private readonly log: Log,
  ) {
    ({ manifest: this.manifest, latest: this.latest, reopens: this.reopens } = openManifest(cfg.cold_storage_dir, log));
  }

  /** The day being hashed, if any (tests, status). */
  get sealing(): string | null {
    return this.current?.day ?? null;
  }

  /**
   * Called before a commit writes `lines` messages to `day`: cancels a seal in progress, reopens a
   * sealed file (manifest entry first). Throws when the manifest cannot be written: the commit then
   * fails and is retried, nothing is lost. Returns true when `day` has been sealed before (its lines
   * are late: the caller counts them once committed).
   */
  admit(day: string, lines: number): boolean {
    if (this.current?.day === day) this.current.cancelled = true;
    const latest = this.latest.get(day);
    if (this.store.isOpen(day)) return latest?.event === 'reopen';
    let mode: number;
    try {
      mode = statSync(this.store.pathOf(day)).mode;
    } catch {
      return false; // a new day file
    }
    const readonly = (mode & 0o200) === 0;
    if (latest?.event === 'seal' || readonly) {
      const reason = latest?.event === 'seal' ? 'late_lines' : 'readonly_unlisted';
      this.record({ event: 'reopen', day, reason, lines, at: new Date().toISOString() });
      this.reopens.set(day, (this.reopens.get(day) ?? 0) + 1);
      this.stats.add('sealed_day_reopens', 1);
      if (readonly) chmodSync(this.store.pathOf(day), MODE.data);
      this.log('info', `seal: ${day} reopened for ${lines} late line(s) (${reason}); sealed again after ${new Date(sealDueAt(day, this.cfg, this.latest.get(day), this.reopens.get(day)!)).toISOString()}`);
    }
    return this.latest.get(day)?.event === 'reopen';
  }

  /** Record days deleted by retention. */
  removed(days: string[]): void {
    for (const day of days) {
      if (!this.latest.has(day)) continue; // never sealed: nothing on the chain to close
      try {
        this.record({ event: 'removed', day, reason: 'retention', at: new Date().toISOString() });
      } catch (err) {
        this.log('error', `seal manifest: cannot record the removal of ${day}: ${(err as Error).message}`);
      }
    }
  }

  /**
   * The next day due for sealing, or null. `caughtUpTo`: every message received before this time is
   * committed; `inFlight`: days of batches taken and not committed.
   */
  due(now: number, caughtUpTo: number, inFlight: ReadonlySet<string>): string | null {
    for (const day of this.store.listDayNames()) {
      const latest = this.latest.get(day);
      if (latest?.event === 'reopen') continue; // below
      const at = sealDueAt(day, this.cfg, latest, this.reopens.get(day) ?? 0);
      if (at > now) break; // days are sorted: a later day ends later
      if (at > caughtUpTo || inFlight.has(day)) continue;
      if (now - (this.failedAt.get(day) ?? -Infinity) < RETRY_MS) continue;
      if (latest?.event === 'seal' && !this.writable(day)) continue;
      if (!latest && !this.writable(day)) {
        // Read-only but never sealed here (manifest lost or replaced?): not ours to vouch for.
        // verify reports it; a late line for it reopens it on the chain, and it is sealed after that.
        if (!this.unlisted.has(day)) this.log('warn', `seal: ${day} is read-only but absent from the seal manifest; left as it is (see megalog verify)`);
        this.unlisted.add(day);
        continue;
      }
      return day;
    }
    // Reopened days may be due although an earlier day is not: look at them too.
    for (const [day, latest] of this.latest) {
      if (latest.event !== 'reopen' || inFlight.has(day)) continue;
      const at = sealDueAt(day, this.cfg, latest, this.reopens.get(day) ?? 0);
      if (at <= now && at <= caughtUpTo && now - (this.failedAt.get(day) ?? -Infinity) >= RETRY_MS) return day;
    }
    return null;
  }

  /**
   * Seal `day`: finish the file, hash it without blocking commits, append the entry, chmod 0440 (MODE.sealed).
   * Resolves to what happened; never rejects (failures are logged, counted and retried later).
   */
  async seal(day: string): Promise<'sealed' | 'confirmed' | 'cancelled' | 'failed'> {
    if (this.current || this.stopped) return 'cancelled';
    const path = this.store.pathOf(day);
    const cur = (this.current = { day, cancelled: false });
    try {
      const prior = this.latest.get(day);
      if (prior?.event === 'seal' && !this.store.isOpen(day)) {
        // Writable under a seal entry: a crash came between the append and the chmod (the entry
        // stands if the file still matches it), or the file was changed around the reopen protocol.
        const size = statSync(path).size;
        const same = size === prior.bytes && (await sha256File(path, HASH_CHUNK)) === prior.sha256;
        if (cur.cancelled || this.stopped) return 'cancelled';
        if (same) {
          this.makeReadonly(path);
          return 'confirmed';
        }
        this.record({ event: 'reopen', day, reason: 'changed_unsealed', lines: 0, at: new Date().toISOString() });
        this.log('error', `seal: ${day} changed after its seal without a reopening; recorded on the chain, sealing again`);
      }
      const t0 = Date.now();
      const counters = this.store.finishDay(day);
      const t1 = Date.now();
      const fh = await open(path, 'r');
      try {
        await fh.sync(); // in the thread pool: a large flush must not hold the committer thread
      } finally {
        await fh.close();
      }
      fsyncDir(this.cfg.cold_storage_dir);
      const before = statSync(path);
      const sha256 = await sha256File(path, HASH_CHUNK);
      if (cur.cancelled || this.stopped) return 'cancelled';
      const after = statSync(path);
      if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) return 'cancelled';
      this.record({ event: 'seal', day, sha256, bytes: after.size, records: counters.records, lines: counters.lines, sealed_at: new Date().toISOString() });
      this.makeReadonly(path);
      this.stats.add('days_sealed', 1);
      this.failedAt.delete(day);
      this.log('info', `seal: ${day} sealed (${after.size} bytes, sha256 ${sha256.slice(0, 16)}…; ${t1 - t0} ms finishing on the committer thread, ${Date.now() - t1} ms sync and hash)`);
      return 'sealed';
    } catch (err) {
      this.failedAt.set(day, Date.now());
      this.stats.add('seal_errors', 1);
      const code = (err as { code?: string }).code ?? 'error';
      this.log(code === 'SQLITE_BUSY' ? 'info' : 'warn', `seal: ${day} not sealed now (${code}: ${(err as Error).message}); retry in ${RETRY_MS / 1000} s`);
      return 'failed';
    } finally {
      this.current = null;
    }
  }

  private writable(day: string): boolean {
    try {
      return (statSync(this.store.pathOf(day)).mode & 0o200) !== 0;
    } catch {
      return false;
    }
  }

  private makeReadonly(path: string): void {
    chmodSync(path, MODE.sealed);
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd); // the mode change is inode metadata
    } finally {
      closeSync(fd);
    }
  }

  private record(e: Parameters<ManifestWriter['append']>[0]): void {
    const entry = this.manifest.append(e);
    if ('day' in entry) this.latest.set(entry.day, entry);
  }

  /** Cancel a seal in progress (shutdown); no entry is written for it. */
  stop(): void {
    this.stopped = true;
    if (this.current) this.current.cancelled = true;
    this.manifest.close();
  }
}
