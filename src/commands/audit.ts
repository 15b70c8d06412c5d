// `megalog audit head`: print the audit chain's head, `ID:HASH`, for a copy kept off the appliance (a
// ticket, a mail, a printed report). `megalog verify --audit --head ID:HASH` later proves the log still
// holds it: entries cut from the end, or rewritten by someone holding the key, show up there.
import { existsSync } from 'node:fs';
import type { Config } from '../config/load.js';
import { openUsersDb, formatHead } from '../users/users-db.js';

export function runAuditCommand(cfg: Config, args: string[], out: { write(s: string): unknown } = process.stdout, err: { write(s: string): unknown } = process.stderr): number {
  if (args.length !== 1 || args[0] !== 'head') {
    err.write('usage: megalog audit head\n');
    return 64; // EX_USAGE
  }
  if (!existsSync(cfg.users_db_path)) {
    err.write(`megalog audit: no ${cfg.users_db_path} (the console has never started)\n`);
    return 66; // EX_NOINPUT
  }
  const udb = openUsersDb(cfg.users_db_path, { readonly: true });
  try {
    out.write(`${formatHead(udb.head())}\n`);
    return 0;
  } finally {
    udb.close();
  }
}
