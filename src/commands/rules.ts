// `megalog rules import|list|show`: deterministic NAT rule sets (src/rules/). An import is audited
// with its case or change reference and refused whole when a line cannot be read or two mappings
// give one public port to two inside addresses; a set is never edited afterwards.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename } from 'node:path';
import type { Config } from '../config/load.js';
import { ipFromDb } from '../store/codes.js';
import { parseAnalystTime } from '../query/time.js';
import { overlaps, parseRules, RULE_FORMATS, type RuleFormat } from '../rules/parse.js';
import { RulesDb } from '../rules/store.js';
import { auditToUsersDb, type AuditFn } from './search.js';

export const RULES_USAGE = `usage: megalog rules import FILE --format routeros|table|formula --valid-from TIME [--valid-to TIME] --case REF
       megalog rules list
       megalog rules show ID

Deterministic NAT: a rule set says which inside address holds each public address and port range,
in force from --valid-from (ISO 8601; without an offset, in the configured time zone) until
--valid-to or for good. A search answers from the set in force at its time when no log covers it.
Formats: docs/deterministic-nat.md. Imports are audited with their case reference.`;

/** Largest rule file read. */
const MAX_FILE = 64 << 20;

export async function runRules(cfg: Config, args: string[], flags: Map<string, string | true>, audit: AuditFn = auditToUsersDb): Promise<number> {
  const [verb, arg] = args;
  if (flags.has('help') || !verb) {
    console.log(RULES_USAGE);
    return verb || flags.has('help') ? 0 : 64;
  }
  if (verb === 'list') {
    const db = RulesDb.read(cfg.cold_storage_dir);
    const sets = db?.sets() ?? [];
    for (const s of sets) console.log(`${s.id}  ${new Date(s.valid_from).toISOString()} → ${s.valid_to === null ? 'in force' : new Date(s.valid_to).toISOString()}  ${s.mappings} mappings  ${s.format}  ${s.file_name}  sha256 ${s.sha256}  ${s.case_ref}  ${s.imported_by}`);
    if (!sets.length) console.log('no rule set imported');
    db?.close();
    return 0;
  }
  if (verb === 'show') {
    const db = RulesDb.read(cfg.cold_storage_dir);
    const set = db && /^\d+$/.test(arg ?? '') ? db.set(Number(arg)) : undefined;
    if (!db || !set) {
      console.error(`megalog rules: no rule set ${arg ?? ''}`);
      db?.close();
      return 1;
    }
    process.stdout.write(db.source(set.id));
    db.close();
    return 0;
  }
  if (verb !== 'import' || !arg) {
    console.error(`megalog rules: ${verb === 'import' ? 'name the rule file' : `unknown action "${verb}"`}\n\n${RULES_USAGE}`);
    return 64;
  }
  const format = flags.get('format');
  if (typeof format !== 'string' || !(RULE_FORMATS as readonly string[]).includes(format)) {
    console.error(`megalog rules: --format must be one of ${RULE_FORMATS.join(', ')}`);
    return 64;
  }
  const caseRef = flags.get('case');
  if (typeof caseRef !== 'string' || caseRef.trim().length < 3) {
    console.error('megalog rules: --case REF is required (the change or request behind these rules)');
    return 64;
  }
  let validFrom: number;
  let validTo: number | null = null;
  try {
    const from = flags.get('valid-from');
    if (typeof from !== 'string') throw new Error('--valid-from TIME is required: when these rules came into force');
    validFrom = parseAnalystTime(from, cfg.timezone);
    const to = flags.get('valid-to');
    if (typeof to === 'string') validTo = parseAnalystTime(to, cfg.timezone);
    if (validTo !== null && validTo <= validFrom) throw new Error('--valid-to must come after --valid-from');
  } catch (err) {
    console.error(`megalog rules: ${(err as Error).message}`);
    return 64;
  }
  let source: Buffer;
  try {
    source = readFileSync(arg);
  } catch (err) {
    console.error(`megalog rules: cannot read ${arg}: ${(err as Error).message}`);
    return 66;
  }
  if (source.length > MAX_FILE) {
    console.error(`megalog rules: ${arg} is larger than ${MAX_FILE >> 20} MiB`);
    return 65;
  }
  const parsed = parseRules(source.toString('utf8'), format as RuleFormat);
  const clash = parsed.errors.length ? [] : overlaps(parsed.rows);
  if (parsed.errors.length || clash.length || !parsed.rows.length) {
    for (const e of [...parsed.errors, ...clash]) console.error(`megalog rules: ${arg}: ${e}`);
    if (!parsed.errors.length && !clash.length) console.error(`megalog rules: ${arg}: no mapping with a port range (${parsed.skipped} line(s) skipped)`);
    console.error('megalog rules: nothing imported');
    return 65;
  }
  const user = `cli:${userInfo().username}`;
  // Audited first: an import that cannot be audited does not happen.
  await audit(cfg, { user, source: 'cli', action: 'nat_rules_import', case_ref: caseRef, justification: null, query: { file: basename(arg), format, valid_from: new Date(validFrom).toISOString(), valid_to: validTo === null ? null : new Date(validTo).toISOString() }, result_count: parsed.rows.length });
  const db = RulesDb.open(cfg.cold_storage_dir);
  try {
    const set = db.add({ imported_at: Date.now(), imported_by: user, case_ref: caseRef, format: format as RuleFormat, file_name: basename(arg).slice(0, 200), valid_from: validFrom, valid_to: validTo }, source, parsed.rows);
    const pubs = new Set(parsed.rows.map((r) => r.natIp));
    console.log(`rule set ${set.id}: ${set.mappings} mappings over ${pubs.size} public address(es) (first ${ipFromDb(Math.min(...pubs))}), ${parsed.skipped} line(s) skipped; in force from ${new Date(validFrom).toISOString()}${validTo === null ? '' : ` to ${new Date(validTo).toISOString()}`}; sha256 ${set.sha256}`);
  } finally {
    db.close();
  }
  return 0;
}
