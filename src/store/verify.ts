// `megalog verify`: check every day file (SQLite quick_check, counters against rows) and, with
// --audit or by default, the audit chain. Exit 0 when everything holds, 1 when anything does not.
// Day files are not sealed yet (no hash manifest): this finds corruption, not deliberate edits.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { runVerifyAudit } from '../users/audit.js';
import { SqliteStore } from './sqlite/index.js';

export function runVerify(cfg: Config, opts: { auditOnly: boolean; out?: { write(s: string): unknown } }): number {
  const out = opts.out ?? process.stdout;
  let bad = 0;
  if (!opts.auditOnly) {
    const store = new SqliteStore(cfg);
    for (const day of store.listDayNames()) {
      let db: Database.Database | null = null;
      try {
        db = new Database(store.pathOf(day), { readonly: true, fileMustExist: true });
        const check = db.pragma('quick_check', { simple: true });
        const rows = Number(db.prepare('SELECT count(*) FROM nat').pluck().get());
        const counted = Number(db.prepare("SELECT value FROM meta WHERE key = 'records'").pluck().get() ?? -1);
        if (check !== 'ok' || rows !== counted) {
          bad++;
          out.write(`${day}: PROBLEM ${check !== 'ok' ? `quick_check: ${check}` : `counter says ${counted} records, table holds ${rows}`}\n`);
        } else out.write(`${day}: ok (${rows} records)\n`);
      } catch (err) {
        bad++;
        out.write(`${day}: PROBLEM cannot read: ${(err as Error).message}\n`);
      } finally {
        db?.close();
      }
    }
  }
  if (!existsSync(cfg.users_db_path)) {
    out.write(`audit: no ${cfg.users_db_path} (the console has never started): nothing to check\n`);
    return bad ? 1 : 0;
  }
  const audit = runVerifyAudit(cfg, out);
  return bad || audit !== 0 ? 1 : 0;
}
