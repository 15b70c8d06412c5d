// `megalog verify --audit`: walk the audit chain in users.db and print what was edited, deleted or reordered.
import type { Config } from '../config/index.js';
import { openUsersDatabase } from './db.js';
import { verifyAuditChain } from './audit.js';

/** Print the audit chain report; returns 0 when intact, 1 when tampered, 2 when users.db cannot be read. */
export function runVerifyAudit(config: Config, out: { write(s: string): unknown } = process.stdout): number {
  let db;
  try {
    db = openUsersDatabase(config.users_db_path, { readonly: true });
  } catch (err) {
    out.write(`audit: cannot open ${config.users_db_path}: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    const r = verifyAuditChain(db);
    const head = r.head ? `last entry #${r.head.id}, hash ${r.head.hash}` : 'empty';
    if (r.ok) {
      out.write(`audit: OK — ${r.entries} entries, chain intact (${head})\n`);
      out.write('audit: record this head hash outside the appliance to detect a rewritten chain later\n');
      return 0;
    }
    out.write(`audit: FAILED — ${r.problems.length} problem(s) in ${r.entries} entries (${head})\n`);
    for (const p of r.problems) out.write(`  - ${p}\n`);
    return 1;
  } catch (err) {
    out.write(`audit: cannot read the audit log: ${(err as Error).message}\n`);
    return 2;
  } finally {
    db.close();
  }
}
