// The last step of the answer chain: public ip:port@T → inside address (engine.ts) → the RADIUS
// session that held that inside address at T (this file), with its own verdict and evidence.
//
// How a session is found (store/sqlite/sessions.ts keeps the events, by framed address and time):
//   1. Backwards from T, day file by day file, at most `lookbackDays` days: the newest accounting
//      event of the inside address at or before T. Interim updates make it recent; a session that
//      started before the bound and sent no interim update since is not found (the step says so).
//      When neither T's day nor the day before holds any accounting event at all, RADIUS is not
//      being received: no_data without reading further back.
//   2. That event is a stop before T → the address was free at T (no_match). Else its session
//      (NAS, Acct-Session-Id) held the address, unless the NAS sent accounting-on/off in between
//      (it rebooted: every session ended).
//   3. Forwards from T, as far: the first events of the address say whether another session's start
//      came first (ours ended, unseen, before it) or another session's interim or stop (two sessions
//      claim the address at T: ambiguous, both named); the session's start and stop are found by
//      its key (NAS, Acct-Session-Id), one index step a day file, however many interim updates.
// Verdicts: unique (one session held it), ambiguous, no_match (accounting covers T and no session
// held it), no_data (no accounting event for the address within the bound: absence proves nothing).
import { formatInZone } from '../core/time.js';
import { DAY_MS, dayOf, ipToDb } from '../store/codes.js';
import type { DayView, SessionRow } from '../store/store.js';
import type { Verdict } from './engine.js';
import { subscriberFor, type Subscriber } from './subscriber.js';
import { CODE_ACCOUNTING_REQUEST } from '../parse/radius.js';

/** One accounting event shown as evidence of the step. */
export interface SessionEvidence {
  time: string;
  event: SessionRow['status'];
  session_id: string;
  login: string | null;
  mac: string | null;
  nas: string | null;
  /** The NAS's sender address. */
  nas_address: string;
  framed_ip: string | null;
  framed_ipv6_prefix: string | null;
  session_time: number | null;
  /** The Accounting-Request as received, hex (null for an event imported from a detail file). */
  packet: string | null;
  /** The FreeRADIUS detail file block it was imported from (null for a received packet). */
  detail: string | null;
}

/** The subscriber step of the chain: its verdict, why, how far it looked, and the events it rests on. */
export interface SubscriberStep {
  source: 'radius';
  verdict: Verdict;
  reason: 'session_held' | 'sessions_overlap' | 'session_stopped' | 'nas_reset' | 'no_event_in_lookback' | 'no_accounting' | 'no_inside_address' | 'too_many_candidates';
  inside_ip: string | null;
  at: string;
  /** The earliest time the step looked back to (T − lookback). */
  searched_from: string;
  lookback_days: number;
  /** The events behind the verdict, oldest first. */
  evidence: SessionEvidence[];
}

export const DEFAULT_LOOKBACK_DAYS = 7;
/** Events read per day file and direction: enough to see past a few sessions' interims. */
const EVENTS_PER_DAY = 32;

type Get = (day: string) => DayView | null;

/** The RADIUS session of inside address `insideIp` at `atMs`. */
export function radiusSessionAt(get: Get, insideIp: string | null, atMs: number, lookbackDays: number, tz: string, now = Date.now()): { subscriber: Subscriber | null; step: SubscriberStep } {
  const step: SubscriberStep = {
    source: 'radius',
    verdict: 'no_data',
    reason: 'no_inside_address',
    inside_ip: insideIp,
    at: formatInZone(atMs, tz),
    searched_from: formatInZone(atMs - lookbackDays * DAY_MS, tz),
    lookback_days: lookbackDays,
    evidence: [],
  };
  const ip = ipToDb(insideIp);
  if (ip == null) return { subscriber: null, step };
  const ev = (r: SessionRow): SessionEvidence => ({
    time: formatInZone(r.t, tz),
    event: r.status,
    session_id: r.session_id,
    login: r.login,
    mac: r.mac,
    nas: r.nas,
    nas_address: r.device,
    framed_ip: r.framed_ip,
    framed_ipv6_prefix: r.prefix6,
    session_time: r.session_time,
    packet: r.packet[0] === CODE_ACCOUNTING_REQUEST ? r.packet.toString('hex') : null,
    detail: r.packet[0] === CODE_ACCOUNTING_REQUEST ? null : r.packet.toString('utf8'),
  });

  // 1. The newest event at or before T, and the session's earlier events seen on the way.
  let last: SessionRow | null = null;
  let before: SessionRow[] = [];
  let anyAccounting = false;
  const from = atMs - lookbackDays * DAY_MS;
  for (let d = 0; d <= lookbackDays; d++) {
    const r = get(dayOf(atMs - d * DAY_MS));
    if (!r) continue;
    if (!anyAccounting) anyAccounting = r.sessions.any();
    before = r.sessions.eventsOf(ip, atMs, 'before', EVENTS_PER_DAY).filter((e) => e.t >= from);
    if (before.length) {
      last = before[0]!;
      break;
    }
    if (d >= 1 && !anyAccounting) break;
  }
  if (!last) {
    step.reason = anyAccounting ? 'no_event_in_lookback' : 'no_accounting';
    return { subscriber: null, step };
  }
  const same = (e: SessionRow) => e.nas_key === last.nas_key && e.session_id === last.session_id;
  let startRow = before.find((e) => same(e) && e.status === 'start') ?? null;
  // Not among the events read: the session's start by its key, back to the bound.
  for (let t = last.t; !startRow && last.status !== 'start' && t >= from - DAY_MS; t -= DAY_MS) {
    const s = get(dayOf(t))?.sessions.edgeOf(last.nas_key, last.session_id, 'start');
    if (s && s.t <= last.t) startRow = s;
  }
  if (last.status === 'stop' && last.t < atMs) {
    step.verdict = 'no_match';
    step.reason = 'session_stopped';
    step.evidence = [startRow, last].filter((e): e is SessionRow => e != null).map(ev);
    return { subscriber: null, step };
  }
  // 2. A NAS reboot between the last event and T ended the session.
  for (let t = last.t; dayOf(t) <= dayOf(atMs); t += DAY_MS) {
    const reset = get(dayOf(t))?.sessions.nasResetAfter(last.nas_key, last.t);
    if (reset && reset.t <= atMs) {
      step.verdict = 'no_match';
      step.reason = 'nas_reset';
      step.evidence = [last, reset].map(ev);
      return { subscriber: null, step };
    }
  }
  // 3. Forwards: the first events of the address after T tell whether another session held it too,
  //    or took it over (ours ended, unseen, before); the session's own stop is found by its key
  //    (one index step a day file), however many interim updates come between.
  let end: SessionRow | null = null;
  let next: SessionRow | null = null;
  let other: SessionRow | null = null;
  let takenOver = false;
  const until = Math.min(now, atMs + lookbackDays * DAY_MS);
  scan: for (let t = atMs; dayOf(t) <= dayOf(until); t += DAY_MS) {
    const r = get(dayOf(t));
    if (!r) continue;
    for (const e of r.sessions.eventsOf(ip, Math.max(atMs, r.start - 1), 'after', EVENTS_PER_DAY)) {
      if (same(e)) {
        next ??= e;
        if (e.status === 'stop') {
          end = e;
          break scan;
        }
        continue;
      }
      if (e.status === 'start' || e.status === 'on' || e.status === 'off') takenOver = true; // the next holder: ours ended unseen before it
      else other = e; // another session, already running at T
      break scan;
    }
    if (next) break; // ours goes on past T: its stop, if any, by its key below
  }
  if (!end && !takenOver && !other) {
    for (let t = Math.max(atMs, last.t); dayOf(t) <= dayOf(until); t += DAY_MS) {
      const stop = get(dayOf(t))?.sessions.edgeOf(last.nas_key, last.session_id, 'stop');
      if (stop && stop.t >= atMs) {
        end = stop;
        break;
      }
    }
  }
  const startMs = startRow ? startRow.t : last.status === 'start' ? last.t : last.session_time != null ? last.t - last.session_time * 1000 : null;
  const ended = end ?? null;
  step.verdict = other ? 'ambiguous' : 'unique';
  step.reason = other ? 'sessions_overlap' : 'session_held';
  const shown = [startRow !== last ? startRow : null, last, next !== end ? next : null, ended, other].filter((e): e is SessionRow => e != null);
  step.evidence = [...new Set(shown)].sort((a, b) => a.t - b.t).map(ev);
  const pick = <K extends 'login' | 'mac' | 'nas'>(k: K): string | null => last[k] ?? startRow?.[k] ?? ended?.[k] ?? null;
  return {
    subscriber: {
      login: pick('login'),
      mac: pick('mac'),
      nas: pick('nas') ?? last.device,
      session_start: startMs == null ? null : formatInZone(startMs, tz),
      session_end: ended ? formatInZone(ended.t, tz) : null,
      source: 'radius',
    },
    step,
  };
}

/**
 * Most inside addresses of one answer followed to their session: an IP-only answer over a busy
 * address can name thousands, and each costs up to ~0.3 ms (one index step per day file looked
 * back and forward), so the console's page stays within its 100 ms. The rest get a step that says
 * they were not looked up.
 */
export const MAX_SUBSCRIBER_LOOKUPS = 200;

/**
 * Give each candidate its RADIUS subscriber and step (`subscriber`, `subscriber_step`), built by
 * subscriberFor: a login the candidate's line named is kept; RADIUS adds MAC, NAS and the session's
 * times. Inside addresses asked twice are looked up once; when T's day and the day
 * before hold no accounting at all, no address is looked up (every step says no_accounting).
 */
export function attachRadiusSubscribers(
  cands: { src_ip: string | null; subscriber?: Subscriber | null; subscriber_step?: SubscriberStep | null }[],
  atMs: number,
  get: Get,
  lookbackDays: number,
  tz: string,
): void {
  if (!cands.length) return;
  const accounting = [0, 1].some((d) => get(dayOf(atMs - d * DAY_MS))?.sessions.any() ?? false);
  const memo = new Map<string | null, ReturnType<typeof radiusSessionAt>>();
  const skipped = (reason: SubscriberStep['reason'], ip: string | null) => ({
    subscriber: null,
    step: { source: 'radius' as const, verdict: 'no_data' as const, reason, inside_ip: ip, at: formatInZone(atMs, tz), searched_from: formatInZone(atMs - lookbackDays * DAY_MS, tz), lookback_days: lookbackDays, evidence: [] },
  });
  for (const c of cands) {
    let got = memo.get(c.src_ip);
    if (!got) {
      got = !accounting ? skipped('no_accounting', c.src_ip) : memo.size >= MAX_SUBSCRIBER_LOOKUPS ? skipped('too_many_candidates', c.src_ip) : radiusSessionAt(get, c.src_ip, atMs, lookbackDays, tz);
      memo.set(c.src_ip, got);
    }
    c.subscriber_step = got.step;
    const own = c.subscriber ?? null;
    if (got.subscriber) c.subscriber = subscriberFor({ logLogin: own?.source === 'log' ? own.login : null, fromRules: own?.source === 'rules', radius: got.subscriber });
  }
}
