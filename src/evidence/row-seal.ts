// Sealing for a store that keeps no day files (ClickHouse): the same schedule and manifest as
// seal.ts, but what is hashed is the day's rows in a fixed order (Store.dayDigests), not a file, and
// nothing can be made read-only. A seal entry's `bytes` is the number of bytes hashed.
//
// What it vouches for: the rows this site held for the day when it was sealed. `megalog verify`
// recomputes the digest and compares (commands/verify.ts); late lines reopen the day first (a
// `reopen` entry, as for day files), and it is sealed again after seal_reopen_delay_sec, doubled at
// each reopening. The digest is read on the committer thread (synchronous HTTP, chunks of whole
// minutes): commits wait meanwhile and the spool absorbs what arrives.
import type { Config } from '../config/load.js';
import type { Stats } from '../core/counters.js';
import type { Log } from '../core/log.js';
import type { DayDigests } from '../store/store.js';
import type { ManifestEntry, ManifestWriter } from './manifest.js';
import { openManifest, sealDueAt } from './seal.js';

const RETRY_MS = 60_000;

export class RowSealer {
  private readonly manifest: ManifestWriter;
  private readonly latest: Map<string, ManifestEntry>;
  private readonly reopens: Map<string, number>;
  private readonly failedAt = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly cfg: Pick<Config, 'cold_storage_dir' | 'seal_grace_sec' | 'seal_reopen_delay_sec'>,
    private readonly store: DayDigests,
    private readonly stats: Stats,
    private readonly log: Log,
  ) {
    ({ manifest: this.manifest, latest: this.latest, reopens: this.reopens } = openManifest(cfg.cold_storage_dir, log));
  }

  /** Before a commit writes `lines` messages to `day`: a sealed day is reopened (entry first). True when the lines are late. */
  admit(day: string, lines: number): boolean {
    const latest = this.latest.get(day);
    if (latest?.event === 'seal') {
      this.record({ event: 'reopen', day, reason: 'late_lines', lines, at: new Date().toISOString() });
      this.reopens.set(day, (this.reopens.get(day) ?? 0) + 1);
      this.stats.add('sealed_day_reopens', 1);
      this.log('info', `seal: ${day} reopened for ${lines} late line(s); sealed again after ${new Date(sealDueAt(day, this.cfg, this.latest.get(day), this.reopens.get(day)!)).toISOString()}`);
    }
    return this.latest.get(day)?.event === 'reopen';
  }

  removed(days: string[]): void {
    for (const day of days) {
      if (!this.latest.has(day)) continue;
      try {
        this.record({ event: 'removed', day, reason: 'retention', at: new Date().toISOString() });
      } catch (err) {
        this.log('error', `seal manifest: cannot record the removal of ${day}: ${(err as Error).message}`);
      }
    }
  }

  /** The next day due, or null (as Sealer.due). */
  due(now: number, caughtUpTo: number, inFlight: ReadonlySet<string>): string | null {
    let days: string[];
    try {
      days = this.store.listDayNames();
    } catch {
      return null; // the server is away: the commits report it
    }
    for (const day of days) {
      const latest = this.latest.get(day);
      if (latest?.event === 'seal') continue;
      const at = sealDueAt(day, this.cfg, latest, this.reopens.get(day) ?? 0);
      if (at > now || at > caughtUpTo || inFlight.has(day)) continue;
      if (now - (this.failedAt.get(day) ?? -Infinity) < RETRY_MS) continue;
      return day;
    }
    return null;
  }

  async seal(day: string): Promise<'sealed' | 'cancelled' | 'failed'> {
    if (this.stopped) return 'cancelled';
    try {
      const t0 = Date.now();
      const d = this.store.digest(day);
      this.record({ event: 'seal', day, sha256: d.sha256, bytes: d.bytes, records: d.records, lines: d.lines, sealed_at: new Date().toISOString() });
      this.stats.add('days_sealed', 1);
      this.failedAt.delete(day);
      this.log('info', `seal: ${day} sealed (${d.records} records, ${d.bytes} bytes of rows, sha256 ${d.sha256.slice(0, 16)}…; ${Date.now() - t0} ms)`);
      return 'sealed';
    } catch (err) {
      this.failedAt.set(day, Date.now());
      this.stats.add('seal_errors', 1);
      this.log('warn', `seal: ${day} not sealed now (${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}); retry in ${RETRY_MS / 1000} s`);
      return 'failed';
    }
  }

  private record(e: Parameters<ManifestWriter['append']>[0]): void {
    const entry = this.manifest.append(e);
    if ('day' in entry) this.latest.set(entry.day, entry);
  }

  stop(): void {
    this.stopped = true;
    this.manifest.close();
  }
}
