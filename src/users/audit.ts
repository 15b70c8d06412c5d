// The audit log: every login, logout, password change, admin action, search and export, hash-chained.
//
// Chain: row.hash = hex(HMAC-SHA-256(key, row.prev_hash || canonical(row))), where prev_hash is the
// previous row's hash (GENESIS for the first), canonical(row) = JSON.stringify([time_ms, user, source,
// action, case_ref, justification, query, result_count]), `query` being the stored JSON text, and the
// key is kept apart from users.db (audit-key.ts). The row id is not hashed, so moving rows around
// shows up as a broken link (reordered), not as an edit.
//
// What it detects, and what anchors it:
// - an edit, a deletion or a reordering inside the log, always: rewriting every hash from the edit
//   onward needs the key, which users.db does not hold;
// - entries cut from the end: audit_head keeps the last id, hash and count (same transaction), which
//   catches a plain DELETE; someone who also rewrites audit_head is caught by the published head: the
//   head (`<id>:<hash>`, printed by `megalog audit head` and logged by the web at start and hourly)
//   copied off the box and checked later with `megalog verify --audit --head ID:HASH`;
// - a holder of the key can rewrite anything after the last head published off the box, nothing before.
// runVerifyAudit (bottom of this file) is `megalog verify --audit`.
import { createHash, createHmac } from 'node:crypto';
import type { Config } from '../config/load.js';
import { auditKeyPath, readAuditKey } from './audit-key.js';
import { openUsersDatabase, type Db } from './db.js';

export const GENESIS = '0'.repeat(64);

/** Actions written by the console and the CLI; later passes add their own (search, export, …). */
export const AUDIT_ACTIONS = [
  'login',
  'login_failed',
  'login_throttled',
  'logout',
  'session_expired',
  'password_change',
  'totp_enable',
  'totp_disable',
  'user_create',
  'user_role',
  'user_disable',
  'user_enable',
  'user_reset_password',
  'user_totp_clear',
  'user_unlock',
  'search',
  'export',
  'request_denied',
  'request_rejected',
  'legal_hold_add',
  'legal_hold_remove',
  'nat_rules_import',
] as const;

/** What a caller supplies; `time_ms` defaults to now. */
export interface AuditInput {
  user: string;
  source: string;
  action: string;
  case_ref?: string | null;
  justification?: string | null;
  /** Any JSON value: the query as the user asked it, or the target of an admin action. */
  query?: unknown;
  result_count?: number | null;
  time_ms?: number;
}

export interface AuditRow {
  id: number;
  time_ms: number;
  user: string;
  source: string;
  action: string;
  case_ref: string | null;
  justification: string | null;
  query: string | null;
  result_count: number | null;
  prev_hash: string;
  hash: string;
}

const LIMITS = { user: 200, source: 100, action: 64, case_ref: 200, justification: 4000 } as const;
const QUERY_MAX_CHARS = 64 * 1024;

function clip(s: string | null | undefined, max: number): string | null {
  if (s == null) return null;
  return s.length > max ? s.slice(0, max) : s;
}

/** JSON text of the query; an oversized one (a 50,000-line bulk request) is kept as its digest and head. */
function queryText(q: unknown): string | null {
  if (q === undefined || q === null) return null;
  const text = JSON.stringify(q);
  if (text.length <= QUERY_MAX_CHARS) return text;
  return JSON.stringify({
    truncated: true,
    chars: text.length,
    sha256: createHash('sha256').update(text).digest('hex'),
    head: text.slice(0, 4096),
  });
}

export function canonical(r: Omit<AuditRow, 'id' | 'prev_hash' | 'hash'>): string {
  return JSON.stringify([r.time_ms, r.user, r.source, r.action, r.case_ref, r.justification, r.query, r.result_count]);
}

export function chainHash(key: Buffer, prevHash: string, canon: string): string {
  return createHmac('sha256', key).update(prevHash + canon).digest('hex');
}

/** The chain's end: the last entry's id and hash (0 and GENESIS while empty), and the count. */
export interface AuditHead {
  id: number;
  hash: string;
  entries: number;
}

/** The head as audit_head records it (no verification: that is verifyAuditChain's job). */
export function auditHead(db: Db): AuditHead {
  const h = db.prepare<[], { last_id: number; last_hash: string; entries: number }>('SELECT last_id, last_hash, entries FROM audit_head').get();
  return h ? { id: h.last_id, hash: h.last_hash, entries: h.entries } : { id: 0, hash: GENESIS, entries: 0 };
}

/** `<id>:<hash>`, the form published off the box and given back to `verify --head`. */
export function formatHead(h: { id: number; hash: string }): string {
  return `${h.id}:${h.hash}`;
}

/** Parse `<id>:<hash>`; null when it is not one. */
export function parseHead(text: string): { id: number; hash: string } | null {
  const m = /^(\d{1,15}):([0-9a-f]{64})$/.exec(text.trim().toLowerCase());
  return m ? { id: Number(m[1]), hash: m[2]! } : null;
}

const stmts = new WeakMap<Db, ReturnType<typeof prepare>>();
function prepare(db: Db) {
  return {
    head: db.prepare<[], { last_id: number; last_hash: string; entries: number }>('SELECT last_id, last_hash, entries FROM audit_head'),
    last: db.prepare<[], { id: number; hash: string }>('SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1'),
    insert: db.prepare(
      `INSERT INTO audit (time_ms, user, source, action, case_ref, justification, query, result_count, prev_hash, hash)
       VALUES (@time_ms, @user, @source, @action, @case_ref, @justification, @query, @result_count, @prev_hash, @hash)`,
    ),
    setHead: db.prepare(
      `INSERT INTO audit_head (one, last_id, last_hash, entries) VALUES (1, @id, @hash, 1)
       ON CONFLICT (one) DO UPDATE SET last_id = @id, last_hash = @hash, entries = entries + 1`,
    ),
  };
}
function s(db: Db) {
  let p = stmts.get(db);
  if (!p) stmts.set(db, (p = prepare(db)));
  return p;
}

/**
 * Append one entry to the chain (an IMMEDIATE transaction, so the console and a CLI `megalog search`
 * writing at the same time still form one chain). Returns the stored row.
 */
export function appendAudit(db: Db, key: Buffer, e: AuditInput): AuditRow {
  const st = s(db);
  const body = {
    time_ms: Math.trunc(e.time_ms ?? Date.now()),
    user: clip(e.user, LIMITS.user) ?? '',
    source: clip(e.source, LIMITS.source) ?? '',
    action: clip(e.action, LIMITS.action) ?? '',
    case_ref: clip(e.case_ref, LIMITS.case_ref),
    justification: clip(e.justification, LIMITS.justification),
    query: queryText(e.query),
    result_count: e.result_count == null ? null : Math.trunc(e.result_count),
  };
  return db
    .transaction(() => {
      const prev = st.head.get()?.last_hash ?? st.last.get()?.hash ?? GENESIS;
      const hash = chainHash(key, prev, canonical(body));
      const r = st.insert.run({ ...body, prev_hash: prev, hash });
      const id = Number(r.lastInsertRowid);
      st.setHead.run({ id, hash });
      return { id, ...body, prev_hash: prev, hash };
    })
    .immediate();
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  /** The last entry's id and hash: record them elsewhere to detect a rewritten chain later. */
  head: { id: number; hash: string } | null;
  problems: string[];
}

const MAX_PROBLEMS = 200;

/**
 * Walk the chain in id order and report every edited, deleted or reordered entry; with `published`
 * (a head copied off the box earlier), also that the log still holds that entry with that hash.
 */
export function verifyAuditChain(db: Db, key: Buffer, published?: { id: number; hash: string }): VerifyResult {
  const problems: string[] = [];
  const add = (p: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
    else if (problems.length === MAX_PROBLEMS) problems.push('… more problems not listed');
  };
  const findByHash = db.prepare<[string], { id: number }>('SELECT id FROM audit WHERE hash = ? LIMIT 1');
  let lookups = 0;
  const whoHas = (h: string): number | null => (lookups++ < 1000 ? (findByHash.get(h)?.id ?? null) : null);

  let prev: AuditRow | null = null;
  let count = 0;
  for (const r of db.prepare<[], AuditRow>('SELECT * FROM audit ORDER BY id').iterate()) {
    count++;
    if (chainHash(key, r.prev_hash, canonical(r)) !== r.hash) {
      add(`entry #${r.id}: its contents do not match its hash (edited)`);
    }
    const expected = prev ? prev.hash : GENESIS;
    const firstExpectedId = prev ? prev.id + 1 : 1;
    if (r.id !== firstExpectedId) {
      const a = firstExpectedId;
      const b = r.id - 1;
      add(a === b ? `entry #${a} is missing (deleted)` : `entries #${a}–#${b} are missing (deleted)`);
    } else if (r.prev_hash !== expected) {
      const from = r.prev_hash === GENESIS ? 0 : whoHas(r.prev_hash);
      if (from === 0) add(`entry #${r.id} claims to be the first entry but follows #${prev?.id} (reordered)`);
      else if (from !== null) add(`entry #${r.id} was written right after entry #${from}, not #${prev?.id ?? 'none'} (reordered)`);
      else if (!prev) add(`entries before #${r.id} were deleted (the first entry does not start the chain)`);
      else add(`the chain breaks between #${prev.id} and #${r.id}: an entry was deleted or edited there`);
    }
    prev = r;
  }

  const head = db.prepare<[], { last_id: number; last_hash: string; entries: number }>('SELECT last_id, last_hash, entries FROM audit_head').get();
  if (head) {
    if (!prev || prev.id !== head.last_id || prev.hash !== head.last_hash) {
      add(`the log should end at entry #${head.last_id} (hash ${head.last_hash.slice(0, 16)}…) but ends at ${prev ? `#${prev.id}` : 'nothing'}: the last entries were deleted or replaced`);
    }
    if (head.entries !== count) add(`the log should hold ${head.entries} entries but holds ${count}`);
  } else if (count > 0) {
    add('the chain head record is missing (deleted)');
  }
  if (published && published.id > 0) {
    const at = db.prepare<[number], { hash: string }>('SELECT hash FROM audit WHERE id = ?').get(published.id);
    const was = `the published head #${published.id} (hash ${published.hash.slice(0, 16)}…)`;
    if (!at) add(`${was} is not in the log (it ends at ${prev ? `#${prev.id}` : 'nothing'}): entries were deleted`);
    else if (at.hash !== published.hash) add(`${was} does not match entry #${published.id} (hash ${at.hash.slice(0, 16)}…): the log was rewritten up to there`);
  } else if (published && published.hash !== GENESIS) {
    add(`the published head #0 must have the hash ${GENESIS}`);
  }
  return { ok: problems.length === 0, entries: count, head: prev ? { id: prev.id, hash: prev.hash } : null, problems };
}

export interface AuditFilter {
  user?: string | null;
  action?: string | null;
  case_ref?: string | null;
  from_ms?: number | null;
  /** Exclusive. */
  to_ms?: number | null;
}

export interface AuditPage {
  rows: AuditRow[];
  total: number;
  page: number;
  pages: number;
  page_size: number;
}

/** Newest first, filtered, one page. `case_ref` matches as a substring (LIKE with escaping). */
export function queryAudit(db: Db, f: AuditFilter, page: number, pageSize = 50): AuditPage {
  const where: string[] = [];
  const args: Record<string, unknown> = {};
  if (f.user) {
    where.push('user = @user');
    args.user = f.user;
  }
  if (f.action) {
    where.push('action = @action');
    args.action = f.action;
  }
  if (f.case_ref) {
    where.push("case_ref LIKE @case_ref ESCAPE '\\'");
    args.case_ref = `%${f.case_ref.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  }
  if (f.from_ms != null) {
    where.push('time_ms >= @from_ms');
    args.from_ms = f.from_ms;
  }
  if (f.to_ms != null) {
    where.push('time_ms < @to_ms');
    args.to_ms = f.to_ms;
  }
  const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const total = (db.prepare(`SELECT count(*) AS n FROM audit ${w}`).get(args) as { n: number }).n;
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const p = Math.min(Math.max(1, Math.trunc(page) || 1), pages);
  const rows = db
    .prepare(`SELECT * FROM audit ${w} ORDER BY id DESC LIMIT @limit OFFSET @offset`)
    .all({ ...args, limit: pageSize, offset: (p - 1) * pageSize }) as AuditRow[];
  return { rows, total, page: p, pages, page_size: pageSize };
}

/** Distinct users and actions present, for the viewer's filter lists. */
export function auditFacets(db: Db): { users: string[]; actions: string[] } {
  const users = db.prepare<[], { user: string }>('SELECT DISTINCT user FROM audit ORDER BY user LIMIT 500').all().map((r) => r.user);
  const actions = db.prepare<[], { action: string }>('SELECT DISTINCT action FROM audit ORDER BY action').all().map((r) => r.action);
  return { users, actions };
}

// `megalog verify --audit`

export interface VerifyAuditOptions {
  /** A head published earlier (`megalog audit head`): the log must still hold it. */
  head?: { id: number; hash: string };
  /** Where MEGALOG_AUDIT_KEY is read (tests). */
  env?: NodeJS.ProcessEnv;
}

/** Print the audit chain report; returns 0 when intact, 1 when tampered, 2 when users.db or its key cannot be read. */
export function runVerifyAudit(config: Config, out: { write(s: string): unknown } = process.stdout, opts: VerifyAuditOptions = {}): number {
  let db;
  try {
    db = openUsersDatabase(config.users_db_path, { readonly: true });
  } catch (err) {
    out.write(`audit: cannot open ${config.users_db_path}: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    const key = readAuditKey(config.users_db_path, opts.env);
    const written = (db.prepare('SELECT count(*) FROM audit').pluck().get() as number) > 0 || auditHead(db).entries > 0;
    if (!key && written) {
      out.write(`audit: cannot check the chain: its key (${auditKeyPath(config.users_db_path)}, or MEGALOG_AUDIT_KEY) is missing\n`);
      return 2;
    }
    const r = verifyAuditChain(db, key ?? Buffer.alloc(0), opts.head);
    const head = r.head ? `last entry #${r.head.id}, hash ${r.head.hash}` : 'empty';
    if (r.ok) {
      out.write(`audit: OK — ${r.entries} entries, chain intact (${head})\n`);
      if (opts.head) out.write(`audit: the published head ${formatHead(opts.head)} is in the chain\n`);
      else out.write(`audit: record the head (megalog audit head: ${formatHead(r.head ?? { id: 0, hash: GENESIS })}) outside the appliance, check it later with --head\n`);
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
