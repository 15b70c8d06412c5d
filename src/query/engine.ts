// The forensic query engine: "who held public ip[:port] at T ± window" and "what did inside address
// X hold over a range", answered from the day files as intervals with a verdict (docs/architecture.md,
// "Forensic answers"). Synchronous (better-sqlite3): callers on a socket-reading loop run it elsewhere.
//
// Verdicts, as implemented:
//   unique     the candidates (intervals overlapping [T − w, T + w]) name exactly one inside address;
//   ambiguous  they name several (all listed, each with its record count);
//   no_match   no candidate, and at least one owner device sent something in [T − w, T + w];
//   no_data    no candidate, and no owner device sent anything in [T − w, T + w] — or no day file
//              exists for the days read, or no device logged that public address in them.
// Owner devices of a public address = the sender addresses that logged a nat record with that nat_ip
// in any day file read for the query (T's day and the one before, at least). "Sent something" = a
// nat record (any public address) or a kept unparsed/ignored line from that device with its time in
// [T − w, T + w]. Absence of a match proves something only when the owner was talking.
import type { Config } from '../config/load.js';
import { DAY_MS, dayOf, dayStart, ipFromDb, ipKey, ipToDb, protoCode } from '../store/codes.js';
import { openDay, type DayView, type StoreReadConfig } from '../store/index.js';
import { addressCandidates } from './address.js';
import { candidateOf, fillRawFrom, rawPending, type Candidate } from './candidate.js';
import { QueryError } from './errors.js';
import { parseIp, parsePort, parseProto, parseWindow } from './input.js';
import { LOOKBACK_MS, Timelines, type Ev } from './intervals.js';
import { formatInZone } from '../core/time.js';
import { checkZone } from './time.js';
import { SharedHours, walkPort } from './walk.js';
import { attachRadiusSubscribers, DEFAULT_LOOKBACK_DAYS } from './subscriber-radius.js';
import { destinationFilter, parseDestination, type Destination } from './dest.js';
import type { NatRow } from '../store/store.js';
import { loginOf, MAX_LOGIN_CHARS } from '../parse/login.js';
import { rulesFor, type RulesInAnswer } from './rules.js';

export { QueryError, errorInfo, type QueryErrorInfo, type QueryErrorCode } from './errors.js';
export { parseAnalystTime } from './time.js';
export { formatInZone } from '../core/time.js';
export { SESSION_MAX_AGE_MS, BLOCK_MAX_AGE_MS, MAX_BLOCK_PORTS, LOOKBACK_MS } from './intervals.js';
export { subscriberFor, type Subscriber, type SubscriberSource } from './subscriber.js';
export { parseDestination, type Destination } from './dest.js';
export { getRawKey, putRawKey, rawText, rawPending, rawKeyOf, withRawKey, RAW_KEY_SIZE, type Candidate, type RawKey } from './candidate.js';

export const DEFAULT_WINDOW_SEC = 60;
/** Longest ± window of a public-address query (an STJ-style "IP over an interval" request). */
export const MAX_WINDOW_SEC = 7 * 86_400;
/** Longest range of a subscriber lookup. */
export const MAX_SUBSCRIBER_RANGE_MS = 31 * DAY_MS;
/** Most keys (public ip:port) a subscriber lookup follows; beyond, the answer says truncated. */
export const MAX_SUBSCRIBER_KEYS = 20_000;

export type QueryConfig = StoreReadConfig & Pick<Config, 'timezone'> & Partial<Pick<Config, 'radius_session_lookback_days'>> & {
  /** Day files kept open between lookups (the console); without it each lookup opens its own. */
  readers?: ReaderCache;
};
export type Verdict = 'unique' | 'ambiguous' | 'no_match' | 'no_data';

export interface LookupInput {
  natIp: string;
  natPort?: number | string | null;
  /** ms since the epoch (UTC). */
  at: number;
  windowSec?: number | string | null;
  proto?: string | null;
  /** IP-only lookups: also return every interval before grouping (Answer.intervals). */
  intervals?: boolean;
  /** false: leave the original lines unread (raw '') until fillRaw; the console shows them one click away. Default true. */
  raw?: boolean;
  /** Destination the requester gives (dest.ts): records to another destination are left out. */
  dstIp?: string | null;
  dstPort?: number | string | null;
}

/** How a destination narrowed an answer: the inside addresses the same query names without it. */
export interface Narrowed extends Destination {
  inside_without: number;
  candidates_without: number;
}

export interface DayUsed {
  day: string;
  path: string;
}

export interface Answer {
  query: { nat_ip: string; nat_port: number | null; at: string; at_ms: number; window_sec: number; proto: string | null; from: string; to: string; dst_ip: string | null; dst_port: number | null };
  verdict: Verdict;
  /** With a destination: what the answer is without it (the answer says it was narrowed), else null. */
  narrowed: Narrowed | null;
  /** Why no_data / no_match (absent for unique/ambiguous). */
  reason?: 'no_day_files' | 'address_not_seen' | 'owners_silent' | 'owners_active';
  candidates: Candidate[];
  /** IP-only answers: every interval in the window, before grouping by inside address (raw left empty: each candidate has its address's first line). */
  intervals?: Candidate[];
  days_used: DayUsed[];
  /** Days the rules needed that have no file (retention, not yet written, or lost). */
  days_missing: string[];
  /** Owner devices consulted for no_match / no_data (null when a candidate made it unnecessary). */
  owners: string[] | null;
  /** ip:port answers: what the deterministic NAT rules in force at T say, when a rule set maps the address (query/rules.ts). */
  rules?: RulesInAnswer;
  timezone: string;
}

/**
 * Day files kept open between requests: opening one and preparing its statements costs a few
 * milliseconds, more than a port lookup. A request takes the readers it needs (ReaderPool) and gives
 * them back; the most recently used `max` stay open. A reader whose file was removed or replaced is
 * closed, one the committer wrote to refreshes its caches (DayView.current).
 */
export class ReaderCache {
  private readonly idle = new Map<string, { r: DayView; at: number }>();
  /** Readers idle longer than this are closed (a removed file's space is freed only when closed). */
  static readonly IDLE_MS = 60_000;
  /** Idle readers are also closed on a timer: an open reader blocks the sealer's switch out of WAL. */
  private readonly timer: NodeJS.Timeout;
  constructor(readonly store: string | StoreReadConfig, private readonly max = 8) {
    this.timer = setInterval(() => this.sweep(), ReaderCache.IDLE_MS);
    this.timer.unref();
  }

  take(day: string): DayView | null {
    this.sweep();
    const r = this.idle.get(day)?.r;
    if (r) {
      this.idle.delete(day);
      if (r.current()) return r;
      r.close();
    }
    return openDay(this.store, day);
  }

  give(r: DayView): void {
    if (this.idle.has(r.day)) return r.close();
    this.idle.set(r.day, { r, at: Date.now() });
    while (this.idle.size > this.max) this.drop(this.idle.keys().next().value as string);
  }

  private sweep(now = Date.now()): void {
    for (const [day, e] of this.idle) if (now - e.at > ReaderCache.IDLE_MS) this.drop(day);
  }

  private drop(day: string): void {
    this.idle.get(day)?.r.close();
    this.idle.delete(day);
  }

  close(): void {
    clearInterval(this.timer);
    for (const day of [...this.idle.keys()]) this.drop(day);
  }
}

/** Day readers shared by the lookups of one request (a bulk answer opens each day file once). */
export class ReaderPool {
  private readonly readers = new Map<string, DayView | null>();
  /** `store`: the store's read configuration (a directory alone: SQLite day files). */
  constructor(readonly store: string | StoreReadConfig, private readonly cache?: ReaderCache) {}

  /** The reader of a day, in a read transaction until close(): one request reads one state of each file. */
  get(day: string): DayView | null {
    if (!this.readers.has(day)) {
      const r = this.cache ? this.cache.take(day) : openDay(this.store, day);
      try {
        r?.begin();
      } catch (err) {
        r?.close(); // (ends its transaction if BEGIN went through)
        throw err;
      }
      this.readers.set(day, r);
    }
    return this.readers.get(day)!;
  }

  /**
   * A new snapshot for each reader held: a bulk request answers line by line, and one snapshot for
   * all its lines would hold back WAL checkpoints (or, out of WAL, the committer) for its whole run.
   */
  refresh(): void {
    for (const r of this.readers.values()) {
      if (!r) continue;
      r.end();
      r.begin();
    }
  }

  close(): void {
    for (const r of this.readers.values()) {
      if (!r) continue;
      r.end();
      if (this.cache) this.cache.give(r);
      else r.close();
    }
    this.readers.clear();
  }
}

/** UTC days from the day of `from` to the day of `to`, inclusive. */
export function daysBetween(from: number, to: number): string[] {
  const out: string[] = [];
  for (let d = Math.floor(from / DAY_MS) * DAY_MS; d <= to; d += DAY_MS) out.push(dayOf(d));
  return out;
}

interface Ctx {
  pool: ReaderPool;
  used: DayView[];
  missing: string[];
}

/** The days an answer read and those it lacked, in day order. */
function daysOf(ctx: Ctx): { days_used: DayUsed[]; days_missing: string[] } {
  return { days_used: ctx.used.sort((a, b) => a.day.localeCompare(b.day)).map((r) => ({ day: r.day, path: r.path })), days_missing: ctx.missing.sort() };
}

function readersFor(ctx: Ctx, days: string[]): DayView[] {
  const out: DayView[] = [];
  for (const d of days) {
    const r = ctx.pool.get(d);
    if (r) {
      out.push(r);
      if (!ctx.used.includes(r)) ctx.used.push(r);
    } else if (!ctx.missing.includes(d)) ctx.missing.push(d);
  }
  return out;
}

/** How a port walk opens the day after the window (absent is not "missing") and records the days it read from. */
function walkDays(ctx: Ctx, to: number): { next: () => DayView | null; use: (r: DayView) => void } {
  let next: DayView | null | undefined;
  return {
    next: () => (next === undefined ? (next = ctx.pool.get(dayOf(dayStart(dayOf(to)) + DAY_MS))) : next),
    use: (r) => {
      if (!ctx.used.includes(r)) ctx.used.push(r);
    },
  };
}

/**
 * Who held `natIp[:natPort]` at `at` ± `windowSec` (default 60 s), optionally for one protocol.
 * Throws QueryError on bad input; store errors propagate.
 */
export function forensicLookup(q: LookupInput, cfg: QueryConfig, pool?: ReaderPool): Answer {
  checkZone(cfg.timezone);
  const natIp = parseIp(q.natIp, 'nat_ip');
  const port = parsePort(q.natPort ?? null, 'nat_port');
  if (typeof q.at !== 'number' || !Number.isFinite(q.at)) throw new QueryError('MEGALOG_ERR_QUERY_BAD_TIME', String(q.at), 'at');
  const windowSec = parseWindow(q.windowSec ?? null, DEFAULT_WINDOW_SEC, MAX_WINDOW_SEC, 'window');
  const proto = parseProto(q.proto ?? null);
  const want = proto == null ? null : protoCode(proto);
  const dest = parseDestination(q.dstIp, q.dstPort);
  const lo = q.at - windowSec * 1000;
  const hi = q.at + windowSec * 1000;
  const natDb = ipToDb(natIp)!;
  const own = !pool;
  const ctx: Ctx = { pool: pool ?? new ReaderPool(cfg, cfg.readers), used: [], missing: [] };
  try {
    const readers = readersFor(ctx, daysBetween(lo - LOOKBACK_MS, hi));
    const tz = cfg.timezone;
    const withRaw = q.raw !== false;
    const find = (keep: ((row: NatRow) => boolean) | null, raw: boolean, withIntervals: boolean): { candidates: Candidate[]; intervals: Candidate[] } => {
      if (port != null) {
        const tl = new Timelines();
        walkPort(tl, { readers, ...walkDays(ctx, hi), natIp: natDb, port, want, lo, hi, keep });
        const c = tl.finish().filter((iv) => iv.start <= hi && iv.end >= lo).map((iv) => candidateOf(iv, tz, raw));
        return { candidates: c, intervals: c };
      }
      // Whole day files from the first day the rules need: an interval's first record may predate T − max age (interim refreshes).
      // IP-only answers can hold thousands of intervals (24 h of create-only logs): they are folded
      // per inside address as they are built, and only each address's first line is read.
      const from = dayStart(dayOf(lo - LOOKBACK_MS));
      const got = addressCandidates({ readers, natIp: natDb, from, want, lo, hi, tz, raw, keep }, withIntervals);
      return { candidates: got.candidates, intervals: withIntervals ? got.intervals.map((iv) => candidateOf(iv, tz, false)) : [] };
    };
    const { candidates, intervals } = find(dest ? destinationFilter(dest) : null, withRaw, q.intervals === true);
    const inside = new Set(candidates.map((c) => c.src_ip));
    let narrowed: Narrowed | null = null;
    if (dest) {
      const without = find(null, false, false).candidates;
      narrowed = { ...dest, inside_without: new Set(without.map((c) => c.src_ip)).size, candidates_without: without.length };
    }
    const answer: Answer = {
      query: { nat_ip: natIp, nat_port: port, at: formatInZone(q.at, tz), at_ms: q.at, window_sec: windowSec, proto, from: formatInZone(lo, tz), to: formatInZone(hi, tz), dst_ip: dest?.dst_ip ?? null, dst_port: dest?.dst_port ?? null },
      verdict: inside.size === 1 ? 'unique' : inside.size > 1 ? 'ambiguous' : 'no_match',
      narrowed,
      candidates,
      ...(port == null && q.intervals ? { intervals } : {}),
      days_used: [],
      days_missing: [],
      owners: null,
      timezone: tz,
    };
    if (inside.size === 0) Object.assign(answer, coverage(ctx, natDb, lo, hi));
    if (port != null && typeof natDb === 'number') {
      // No log covers T (no_data): the rules in force answer; logs answered: the rules are checked against them.
      const r = rulesFor(cfg.cold_storage_dir, natDb, port, q.at, want, tz, answer.verdict === 'no_data', candidates);
      if (r) {
        answer.rules = r.rules;
        if (r.rules.basis === 'rules') {
          answer.candidates = r.candidates;
          answer.verdict = r.rules.inside.length === 1 ? 'unique' : 'ambiguous';
        }
      }
    }
    // The chain's last step, whether logs or rules named the inside address: the subscriber session
    // that held it at T.
    attachRadiusSubscribers(answer.candidates, q.at, (day) => ctx.pool.get(day), cfg.radius_session_lookback_days ?? DEFAULT_LOOKBACK_DAYS, tz);
    Object.assign(answer, daysOf(ctx));
    return answer;
  } finally {
    if (own) ctx.pool.close();
  }
}

/** no_match or no_data, by the owner devices' activity around T (see the header). */
function coverage(ctx: Ctx, natDb: number | Buffer, lo: number, hi: number): Pick<Answer, 'verdict' | 'reason' | 'owners'> {
  if (ctx.used.length === 0) return { verdict: 'no_data', reason: 'no_day_files', owners: [] };
  const owners = new Set<string>();
  for (const r of ctx.used) for (const o of r.owners(natDb)) owners.add(o);
  const list = [...owners].sort();
  if (owners.size === 0) return { verdict: 'no_data', reason: 'address_not_seen', owners: list };
  const inWindow = ctx.used.filter((r) => r.start <= hi && r.start + DAY_MS > lo);
  for (const o of list) for (const r of inWindow) if (r.deviceActive(o, lo, hi)) return { verdict: 'no_match', reason: 'owners_active', owners: list };
  return { verdict: 'no_data', reason: 'owners_silent', owners: list };
}

export interface SubscriberInput {
  srcIp: string;
  /** ms since the epoch. */
  from: number;
  to: number;
  proto?: string | null;
  /** As LookupInput.raw. */
  raw?: boolean;
}

export interface SubscriberAnswer {
  /** `login`: a login lookup shown as a subscriber answer (src_ip then lists the inside addresses it named). */
  query: { src_ip: string; from: string; to: string; from_ms: number; to_ms: number; proto: string | null; login?: string };
  /** Every public ip:port (or block) the inside address held in [from, to], oldest first. */
  mappings: Candidate[];
  truncated: boolean;
  days_used: DayUsed[];
  days_missing: string[];
  timezone: string;
}

/**
 * Timelines that take each block record once: the port walks of a subscriber's keys all feed the
 * blocks covering their port, so a block holding several of them would count its records again.
 */
class OnceTimelines extends Timelines {
  private readonly seen = new Set<string>();

  override push(ev: Ev): void {
    if (ev.block) {
      const k = `${ev.reader.day}|${ev.row.id}`;
      if (this.seen.has(k)) return;
      this.seen.add(k);
    }
    super.push(ev);
  }
}

/**
 * Read the original lines of candidates answered with `raw: false` (the console: when a line is
 * shown or an answer exported, not for every candidate of a paginated list).
 */
export function fillRaw(cands: readonly Candidate[], cfg: QueryConfig): void {
  if (!cands.some(rawPending)) return;
  const pool = new ReaderPool(cfg, cfg.readers);
  try {
    fillRawFrom(cands, (day) => pool.get(day));
  } finally {
    pool.close();
  }
}

export interface LoginInput {
  login: string;
  /** ms since the epoch. */
  from: number;
  to: number;
  proto?: string | null;
  /** As LookupInput.raw. */
  raw?: boolean;
}

export interface LoginAnswer {
  query: { login: string; from: string; to: string; from_ms: number; to_ms: number; proto: string | null };
  /** The inside addresses the login's lines named in the range. */
  inside: string[];
  /** Every public ip:port (or block) the login held in [from, to], oldest first: the intervals whose first record's line names it. */
  mappings: Candidate[];
  truncated: boolean;
  days_used: DayUsed[];
  days_missing: string[];
  timezone: string;
}

/** A login answer in the subscriber answer's shape (the console keeps and exports both alike). */
export function loginAsSubscriber(a: LoginAnswer): SubscriberAnswer {
  return { query: { ...a.query, src_ip: a.inside.join(', ') }, mappings: a.mappings, truncated: a.truncated, days_used: a.days_used, days_missing: a.days_missing, timezone: a.timezone };
}

/** A login as typed, or throw (the same bounds as the logins kept: parse/login.ts). */
export function parseLogin(v: unknown): string {
  const s = typeof v === 'string' ? v : '';
  const login = s.length > 4 * MAX_LOGIN_CHARS ? null : loginOf(s);
  if (login == null || login !== s.trim()) throw new QueryError(s.trim() ? 'MEGALOG_ERR_QUERY_BAD_LOGIN' : 'MEGALOG_ERR_QUERY_MISSING', s, 'login');
  return login;
}

/**
 * What login `login` held over [from, to] ("what did login X hold"): the inside addresses its lines
 * named in those hours (login_seen), then what each held, as subscriberLookup answers it, keeping the
 * intervals whose first record's line names the login (an address a PPP session gave back may be
 * someone else's an hour later).
 */
export function loginLookup(q: LoginInput, cfg: QueryConfig, pool?: ReaderPool): LoginAnswer {
  checkZone(cfg.timezone);
  const login = parseLogin(q.login);
  for (const [k, v] of [['from', q.from], ['to', q.to]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new QueryError('MEGALOG_ERR_QUERY_BAD_TIME', String(v), k);
  }
  if (q.to < q.from) throw new QueryError('MEGALOG_ERR_QUERY_BAD_RANGE', undefined, 'to');
  if (q.to - q.from > MAX_SUBSCRIBER_RANGE_MS) throw new QueryError('MEGALOG_ERR_QUERY_RANGE_TOO_LONG', `> ${MAX_SUBSCRIBER_RANGE_MS / DAY_MS} d`, 'to');
  const proto = parseProto(q.proto ?? null);
  const own = !pool;
  const ctx: Ctx = { pool: pool ?? new ReaderPool(cfg, cfg.readers), used: [], missing: [] };
  try {
    // From the max age before `from`: a mapping the login opened then may still be held in the range.
    const readers = readersFor(ctx, daysBetween(q.from - LOOKBACK_MS, q.to));
    const inside = new Set<string>();
    for (const r of readers) for (const src of r.loginSources(login, Math.max(q.from - LOOKBACK_MS, r.start), q.to)) inside.add(ipFromDb(src)!);
    const mappings: Candidate[] = [];
    let truncated = false;
    for (const src of [...inside].sort()) {
      const a = subscriberLookup({ srcIp: src, from: q.from, to: q.to, proto, raw: q.raw }, cfg, ctx.pool);
      truncated ||= a.truncated;
      for (const c of a.mappings) if (c.subscriber?.login === login) mappings.push(c);
      for (const d of a.days_used) if (!ctx.used.some((r) => r.day === d.day)) readersFor(ctx, [d.day]);
      for (const d of a.days_missing) if (!ctx.missing.includes(d)) ctx.missing.push(d);
    }
    mappings.sort((a, b) => a.start_ms - b.start_ms || a.end_ms - b.end_ms);
    const tz = cfg.timezone;
    return {
      query: { login, from: formatInZone(q.from, tz), to: formatInZone(q.to, tz), from_ms: q.from, to_ms: q.to, proto },
      inside: [...inside].sort(),
      mappings,
      truncated,
      ...daysOf(ctx),
      timezone: tz,
    };
  } finally {
    if (own) ctx.pool.close();
  }
}

/**
 * What inside address `srcIp` (an IPv4 subscriber or an IPv6 DS-Lite B4) held over [from, to]. Each
 * public key it used is followed through the same timelines as forensicLookup, so its intervals end
 * where another subscriber reused the port, exactly as the public-side answer would say.
 */
export function subscriberLookup(q: SubscriberInput, cfg: QueryConfig, pool?: ReaderPool): SubscriberAnswer {
  checkZone(cfg.timezone);
  const srcIp = parseIp(q.srcIp, 'src_ip');
  for (const [k, v] of [['from', q.from], ['to', q.to]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new QueryError('MEGALOG_ERR_QUERY_BAD_TIME', String(v), k);
  }
  if (q.to < q.from) throw new QueryError('MEGALOG_ERR_QUERY_BAD_RANGE', undefined, 'to');
  if (q.to - q.from > MAX_SUBSCRIBER_RANGE_MS) throw new QueryError('MEGALOG_ERR_QUERY_RANGE_TOO_LONG', `> ${MAX_SUBSCRIBER_RANGE_MS / DAY_MS} d`, 'to');
  const proto = parseProto(q.proto ?? null);
  const want = proto == null ? null : protoCode(proto);
  const srcDb = ipToDb(srcIp)!;
  const own = !pool;
  const ctx: Ctx = { pool: pool ?? new ReaderPool(cfg, cfg.readers), used: [], missing: [] };
  try {
    const fromAll = dayStart(dayOf(q.from - LOOKBACK_MS));
    const readers = readersFor(ctx, daysBetween(fromAll, q.to));
    // 1. the public ports this address used, 2. each port's full timeline (primary key).
    const keys = new Map<string, { nat: number | Buffer; port: number }>();
    /** The same ports by public address, for the walks' shared hour reads. */
    const ports = new Map<string, Set<number>>();
    let truncated = false;
    for (const r of readers) {
      for (const row of r.srcKeys(srcDb, Math.max(q.from - LOOKBACK_MS, r.start), q.to)) {
        const k = `${typeof row.nat_ip === 'number' ? row.nat_ip : Buffer.from(row.nat_ip).toString('hex')}|${row.nat_port}`;
        if (keys.has(k)) continue;
        if (keys.size >= MAX_SUBSCRIBER_KEYS) {
          truncated = true;
          break;
        }
        keys.set(k, { nat: row.nat_ip, port: row.nat_port });
        const nat = ipKey(row.nat_ip);
        const set = ports.get(nat);
        if (set) set.add(row.nat_port);
        else ports.set(nat, new Set([row.nat_port]));
      }
    }
    const tl = new OnceTimelines();
    const days = walkDays(ctx, q.to);
    const shared = new SharedHours(ports);
    for (const { nat, port } of keys.values()) walkPort(tl, { readers, ...days, natIp: nat, port, want, lo: q.from, hi: q.to, shared });
    const tz = cfg.timezone;
    const mappings = tl
      .finish()
      .filter((iv) => iv.holder.split('|')[0] === srcIp && iv.start <= q.to && iv.end >= q.from)
      .map((iv) => candidateOf(iv, tz, q.raw !== false));
    return {
      query: { src_ip: srcIp, from: formatInZone(q.from, tz), to: formatInZone(q.to, tz), from_ms: q.from, to_ms: q.to, proto },
      mappings,
      truncated,
      ...daysOf(ctx),
      timezone: tz,
    };
  } finally {
    if (own) ctx.pool.close();
  }
}
