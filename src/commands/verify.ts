// `megalog verify`: check the seal manifest's hash chain, every day file (SQLite quick_check,
// counters against rows, and a sealed file's SHA-256 and size against its latest manifest entry),
// and, with --audit or by default, the audit chain. Exit 0 when everything holds, 1 when anything
// does not. `--head ID:HASH` (a head `megalog audit head` printed earlier, kept off the box) must
// still be in the audit chain: that shows entries cut from its end.
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import type { Config } from '../config/load.js';
import { parseHead, runVerifyAudit } from '../users/audit.js';
import { DAY_MS, dayOf } from '../store/codes.js';
import { sha256File } from '../core/hash.js';
import { latestByDay, manifestPath, readManifest, type ManifestEntry } from '../evidence/manifest.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { ClickhouseStore } from '../store/clickhouse/ch-store.js';

export async function runVerify(cfg: Config, opts: { auditOnly: boolean; head?: string | true; out?: { write(s: string): unknown }; now?: number }): Promise<number> {
  const out = opts.out ?? process.stdout;
  const head = opts.head === undefined ? undefined : parseHead(opts.head === true ? '' : opts.head);
  if (head === null) {
    process.stderr.write('megalog verify: --head takes ID:HASH, as `megalog audit head` prints it\n');
    return 64; // EX_USAGE
  }
  let bad = 0;
  if (!opts.auditOnly) {
    const store = new SqliteStore(cfg);
    // ClickHouse: each day's rows against the digest its seal entry recorded (evidence/row-seal.ts).
    const rows = cfg.storage === 'clickhouse' ? new ClickhouseStore(cfg) : null;
    const mpath = manifestPath(cfg.cold_storage_dir);
    const m = readManifest(mpath);
    for (const p of m.problems) {
      bad++;
      out.write(`manifest: PROBLEM ${p}\n`);
    }
    if (m.torn) {
      bad++;
      out.write(`manifest: PROBLEM the last ${m.torn.bytes} bytes are not a whole entry (a crash mid-append, or an edit); the processor cuts them at its next start and records a repair entry\n`);
    }
    for (const e of m.entries) if (e.event === 'repair') out.write(`manifest: note: entry ${e.seq} records ${e.torn_bytes} torn bytes cut after a crash on ${e.at} (kept in ${e.kept_in})\n`);
    out.write(`manifest: ${m.entries.length} entries, head ${m.head}${m.problems.length || m.torn ? '' : ' (chain intact)'}\n`);
    const latest = latestByDay(m.entries);
    const days = rows ? rows.listDayNames() : store.listDayNames();
    for (const day of days) {
      if (rows) {
        const seal = checkRows(rows, day, latest.get(day));
        if (seal.problem) bad++;
        out.write(`${day}: ${seal.problem ? `PROBLEM ${seal.problem}` : 'ok'}; ${seal.note}\n`);
        continue;
      }
      const file = checkFile(store.pathOf(day));
      const seal = await checkSeal(store.pathOf(day), latest.get(day));
      if (file.problem || seal.problem) bad++;
      const head = file.problem ? `${day}: PROBLEM ${file.problem}` : seal.problem ? `${day}: PROBLEM ${seal.problem}` : `${day}: ok (${file.records} records)`;
      out.write(`${head}; ${seal.note}\n`);
    }
    const cutoff = dayOf((opts.now ?? Date.now()) - cfg.log_retention_days * DAY_MS);
    const present = new Set(days);
    for (const [day, e] of latest) {
      if (present.has(day)) continue;
      if (e.event === 'removed') out.write(`${day}: ok, removed by retention on ${e.at} (entry ${e.seq})\n`);
      else if (day < cutoff) out.write(`${day}: ok, past retention (${cfg.log_retention_days} days) and gone; its removal was not recorded\n`);
      else {
        bad++;
        out.write(`${day}: PROBLEM the ${rows ? "day's rows are" : 'file is'} missing; its latest manifest entry (${e.seq}, ${e.event}) says ${rows ? 'they' : 'it'} should exist\n`);
      }
    }
  }
  if (!existsSync(cfg.users_db_path)) {
    out.write(`audit: no ${cfg.users_db_path} (the console has never started): nothing to check\n`);
    if (head && head.id > 0) {
      out.write(`audit: PROBLEM the published head #${head.id} cannot be in a log that does not exist\n`);
      return 1;
    }
    return bad ? 1 : 0;
  }
  const audit = runVerifyAudit(cfg, out, { head });
  return bad || audit !== 0 ? 1 : 0;
}

function checkFile(path: string): { problem: string | null; records: number } {
  let db: Database.Database | null = null;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const check = db.pragma('quick_check', { simple: true });
    const rows = Number(db.prepare('SELECT (SELECT ifnull(sum(n), 0) FROM rec) + (SELECT count(*) FROM blk)').pluck().get());
    const counted = Number(db.prepare("SELECT value FROM meta WHERE key = 'records'").pluck().get() ?? -1);
    if (check !== 'ok') return { problem: `quick_check: ${check}`, records: rows };
    if (rows !== counted) return { problem: `counter says ${counted} records, table holds ${rows}`, records: rows };
    return { problem: null, records: rows };
  } catch (err) {
    return { problem: `cannot read: ${(err as Error).message}`, records: 0 };
  } finally {
    db?.close();
  }
}

/** A day file against its latest manifest entry. */
async function checkSeal(path: string, e: ManifestEntry | undefined): Promise<{ problem: string | null; note: string }> {
  const st = statSync(path);
  const readonly = (st.mode & 0o222) === 0;
  if (!e || e.event === 'removed') {
    if (readonly) return { problem: 'read-only on disk (sealed?) but absent from the seal manifest', note: 'not in the manifest' };
    return { problem: null, note: e ? `not sealed (present again after its removal on ${e.at})` : 'not sealed yet (open, or the processor has not reached it)' };
  }
  if (e.event === 'reopen') return { problem: null, note: `reopened on ${e.at} (${e.reason}, ${e.lines} lines), to be sealed again` };
  if (e.event !== 'seal') return { problem: null, note: '' };
  const sha = await sha256File(path);
  if (sha !== e.sha256 || st.size !== e.bytes) {
    return { problem: `does not match its seal (entry ${e.seq}, ${e.sealed_at}): sha256 ${sha} / ${st.size} bytes on disk, ${e.sha256} / ${e.bytes} bytes sealed`, note: 'seal broken' };
  }
  return { problem: null, note: `sealed on ${e.sealed_at} (entry ${e.seq}), sha256 and size match${readonly ? '' : '; the file is writable again (the processor makes it read-only)'}` };
}

/** A ClickHouse day against its latest manifest entry: the digest of its rows now and when sealed. */
function checkRows(store: ClickhouseStore, day: string, e: ManifestEntry | undefined): { problem: string | null; note: string } {
  if (!e || e.event === 'removed') return { problem: null, note: e ? `not sealed (present again after its removal on ${e.at})` : 'not sealed yet (open, or the processor has not reached it)' };
  if (e.event === 'reopen') return { problem: null, note: `reopened on ${e.at} (${e.reason}, ${e.lines} lines), to be sealed again` };
  if (e.event !== 'seal') return { problem: null, note: '' };
  let d;
  try {
    d = store.digest(day);
  } catch (err) {
    return { problem: `cannot read its rows: ${(err as Error).message}`, note: 'not checked' };
  }
  if (d.sha256 !== e.sha256 || d.bytes !== e.bytes) {
    return { problem: `rows do not match their seal (entry ${e.seq}, ${e.sealed_at}): sha256 ${d.sha256} / ${d.bytes} bytes now (${d.records} records), ${e.sha256} / ${e.bytes} bytes sealed (${e.records} records)`, note: 'seal broken' };
  }
  return { problem: null, note: `${d.records} records; sealed on ${e.sealed_at} (entry ${e.seq}), the rows' sha256 matches` };
}
