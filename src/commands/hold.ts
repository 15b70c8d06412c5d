// `megalog hold add|remove|list`: the legal hold (Marco Civil art. 13 §2: an authority may ask that
// records be kept beyond the year). A held day is a file `<cold>/<day>.db.hold` beside the day file;
// retention never deletes a day that has one. Adding and removing a hold need a case reference and
// are audited in users.db like a search; the file records who asked, when and why.
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { MODE } from '../core/fs.js';
import { auditToUsersDb, type AuditFn } from './search.js';

export const HOLD_USAGE = `usage: megalog hold list
       megalog hold add YYYY-MM-DD --case REF [--justification TEXT]
       megalog hold remove YYYY-MM-DD --case REF [--justification TEXT]

A held day is never deleted by retention (log_retention_days). Adding or removing a hold is
audited with its case reference.`;

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

interface HoldFile {
  case_ref: string;
  justification: string | null;
  by: string;
  at: string;
}

export async function runHold(cfg: Config, args: string[], flags: Map<string, string | true>, audit: AuditFn = auditToUsersDb): Promise<number> {
  const [verb, day] = args;
  if (flags.has('help') || !verb) {
    console.log(HOLD_USAGE);
    return verb || flags.has('help') ? 0 : 64;
  }
  if (verb === 'list') {
    const holds = existsSync(cfg.cold_storage_dir) ? readdirSync(cfg.cold_storage_dir).filter((f) => /^\d{4}-\d{2}-\d{2}\.db\.hold$/.test(f)).sort() : [];
    for (const f of holds) {
      let h: Partial<HoldFile> = {};
      try {
        h = JSON.parse(readFileSync(join(cfg.cold_storage_dir, f), 'utf8'));
      } catch {
        /* an empty hold file made by hand still holds */
      }
      console.log(`${f.slice(0, 10)}  ${h.case_ref ?? '(no case reference)'}  ${h.by ?? '?'}  ${h.at ?? '?'}`);
    }
    if (!holds.length) console.log('no day is held');
    return 0;
  }
  if ((verb !== 'add' && verb !== 'remove') || !day || !DAY_RE.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) {
    console.error(`megalog hold: ${verb === 'add' || verb === 'remove' ? 'name a day as YYYY-MM-DD' : `unknown action "${verb}"`}\n\n${HOLD_USAGE}`);
    return 64;
  }
  const caseRef = flags.get('case');
  if (typeof caseRef !== 'string' || caseRef.trim().length < 3) {
    console.error('megalog hold: --case REF is required (the court order or request that asks for the hold)');
    return 64;
  }
  const justification = typeof flags.get('justification') === 'string' ? (flags.get('justification') as string) : null;
  const path = join(cfg.cold_storage_dir, `${day}.db.hold`);
  const user = `cli:${userInfo().username}`;
  // Audited first: a hold that cannot be audited is not changed.
  await audit(cfg, { user, source: 'cli', action: verb === 'add' ? 'legal_hold_add' : 'legal_hold_remove', case_ref: caseRef, justification, query: { day }, result_count: 1 });
  if (verb === 'add') {
    const h: HoldFile = { case_ref: caseRef, justification, by: user, at: new Date().toISOString() };
    mkdirSync(cfg.cold_storage_dir, { recursive: true });
    writeFileSync(path, `${JSON.stringify(h)}\n`, { mode: MODE.data });
    console.log(`${day} is held${existsSync(join(cfg.cold_storage_dir, `${day}.db`)) ? '' : ' (no day file yet: the hold waits for it)'}`);
  } else if (existsSync(path)) {
    unlinkSync(path);
    console.log(`${day} is no longer held: retention deletes it once it is older than ${cfg.log_retention_days} days`);
  } else console.log(`${day} was not held`);
  return 0;
}
