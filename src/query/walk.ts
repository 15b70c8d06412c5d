// The records of one public ip:port that the interval rules need, read hour by hour.
//
// A day file packs each public address's session records per hour, sorted by port (store/sqlite
// schema.ts), so an hour's rows of one port are a binary search away; port blocks are one range of
// their own table over the whole day. Sessions are read backwards from T's hour until the timeline
// is pinned down before the window, at the first record that opens a new holder's interval — a
// change of holder, or a gap longer than the max age (see intervals.ts):
//
//   hours      … 07 08 09 10 11 [12 = T]
//   port P/tcp      A  A     B  B   B      ← walk back from 12; at 10 B opened after A's open:
//                      └─ feed from here    nothing before A's last record can change B's interval
//
// Everything before that record only makes intervals that end before the window. Classes other than
// tcp/udp (several protocols, ICMP ids) and port blocks are read in full over the days the rules need.
// After the window, hours are read forward while an interval is still open (its end is the next
// holder's record or the max age), into the next day file if need be.
import { DAY_MS, PROTO_NONE } from '../store/codes.js';
import { HOUR_MS, classesFor, isBlockRow, portClass } from '../store/codes.js';
import type { DayView, NatRow } from '../store/store.js';
import { BLOCK_MAX_AGE_MS, MAX_BLOCK_PORTS, SESSION_MAX_AGE_MS, toEvent, type Ev, type Timelines } from './intervals.js';

export interface PortWalk {
  /** Day files from the first day the rules need to T's day, oldest first (missing days left out). */
  readers: DayView[];
  /** The day file after the window's last day, opened only when a record there may still matter. */
  next: () => DayView | null;
  /** Called for each day file a fed record came from (the answer's days_used). */
  use: (r: DayView) => void;
  natIp: number | Buffer;
  port: number;
  /** Protocol filter (IANA number) or null. */
  want: number | null;
  lo: number;
  hi: number;
  /** Records to leave out before the interval rules see them (a destination filter, dest.ts), or null. */
  keep?: ((row: NatRow) => boolean) | null;
}

interface Slot {
  r: DayView;
  h: number;
  /** Start of the hour (ms). */
  s: number;
  /** Time of the reader's last row of the address: an hour after it has nothing to read. */
  last: number;
  /** The reader's hours that may hold the port (DayView.portHours). */
  hours: number;
  rows?: Ev[];
}

/** A record matches a protocol filter when it has that protocol or none (port-block logs often carry none). */
export function protoMatches(want: number | null, code: number): boolean {
  if (want == null) return true;
  const p = code % 1024;
  return p === want || p === PROTO_NONE;
}

function slotsOf(r: DayView, w: PortWalk): Slot[] {
  const last = r.lastRowTime(w.natIp);
  const hours = last === -Infinity ? 0 : r.portHours(w.natIp, w.port);
  return Array.from({ length: 24 }, (_, h) => ({ r, h, s: r.start + h * HOUR_MS, last, hours }));
}

const hasRows = (sl: Slot) => sl.s <= sl.last;

/** Session records of port P in a slot (not blocks), as events, read once. */
function sessions(sl: Slot, w: PortWalk): Ev[] {
  if (!sl.rows) {
    sl.rows = [];
    if (!(sl.hours & (1 << sl.h))) return sl.rows;
    for (const row of sl.r.portRowsIn(w.natIp, w.port, sl.s, sl.s + HOUR_MS)) {
      if (isBlockRow(row.port_end, row.code) || !protoMatches(w.want, row.code) || (w.keep && !w.keep(row))) continue;
      const ev = toEvent(row, sl.r);
      if (ev) sl.rows.push(ev);
    }
  }
  return sl.rows;
}

const NONE: readonly Ev[] = Object.freeze([]);

/** Session events of protocol class c in a slot (a shared empty array when it has none: most hours of a port). */
function slotEvents(sl: Slot | undefined, w: PortWalk, c: number): readonly Ev[] {
  if (!sl || !hasRows(sl) || !(sl.hours & (1 << sl.h))) return NONE;
  const all = sessions(sl, w);
  if (!all.length) return NONE;
  return all.filter((e) => portClass(e.row.code % 1024) === c);
}

/**
 * Feed the block rows of a slot that may hold P (`whole`: of its whole file). A file's blocks are
 * read once a walk (`files`): its block table is keyed by first port, not time, so an hour's read
 * would cost the whole day's blocks of that port range.
 */
function feedBlocks(tl: Timelines, sl: Slot, w: PortWalk, files: Map<DayView, NatRow[]>, whole = false): void {
  if (!whole && !hasRows(sl)) return;
  let all = files.get(sl.r);
  if (!all) files.set(sl.r, (all = sl.r.blockRowsIn(w.natIp, w.port, MAX_BLOCK_PORTS, sl.r.start, sl.r.start + DAY_MS)));
  const from = sl.s - sl.r.start;
  const rows = whole ? all : all.filter((row) => row.t >= from && row.t < from + HOUR_MS);
  for (const row of rows) {
    if (!isBlockRow(row.port_end, row.code) || !protoMatches(w.want, row.code) || (w.keep && !w.keep(row))) continue;
    const ev = toEvent(row, sl.r);
    if (ev) {
      tl.push(ev);
      w.use(sl.r);
    }
  }
}

/**
 * Index in `evs` (one key's events, time order) of the latest record before `lo` that the timeline
 * may start from: the one just before an open that starts a new holder's interval. −1: none yet.
 */
export function pinned(evs: readonly Ev[], lo: number): number {
  for (let j = evs.length - 2; j >= 0; j--) {
    const a = evs[j]!;
    const b = evs[j + 1]!;
    if (b.t >= lo || !b.open) continue;
    if ((a.open && a.holder !== b.holder) || b.t - a.t > SESSION_MAX_AGE_MS) return j;
  }
  return -1;
}

/** Feed `tl` every record of w.natIp:w.port the intervals overlapping [lo, hi] depend on. */
export function walkPort(tl: Timelines, w: PortWalk): void {
  const slots = w.readers.flatMap((r) => slotsOf(r, w));
  const files = new Map<DayView, NatRow[]>();
  let hiIdx = -1;
  while (hiIdx + 1 < slots.length && slots[hiIdx + 1]!.s <= w.hi) hiIdx++;

  // Port blocks: few rows, read over the days the rules need (all of a file's blocks that may hold
  // P, one range from its first slot).
  for (const sl of slots) if (sl.h === 0) feedBlocks(tl, sl, w, files, true);

  // Sessions, per class, backwards from T's hour until pinned (tcp, udp) or the lookback ends.
  const classes = classesFor(w.want);
  for (const c of classes) {
    let evs: Ev[] = [];
    let from = 0;
    for (let k = hiIdx; k >= 0; k--) {
      const sl = slots[k]!;
      if (!hasRows(sl)) continue;
      const got = slotEvents(sl, w, c);
      if (!got.length) continue;
      evs = got.concat(evs);
      if (c === 2) continue;
      const j = pinned(evs, w.lo);
      if (j >= 0) {
        from = j;
        break;
      }
    }
    for (let i = from; i < evs.length; i++) tl.push(evs[i]!);
    if (evs.length > from) for (const r of new Set(evs.slice(from).map((e) => e.reader))) w.use(r);
  }

  // After T's hour, per class, until nothing later can change an interval that overlaps the window:
  // no interval open, and either two holders seen after hi (a later close without its open then
  // starts after hi, and no earlier interval can be extended) or past hi + max age. At most into the
  // day after the window's last day.
  const after = classes.map((c) => new Set(slotEvents(slots[hiIdx], w, c).filter((e) => e.t > w.hi).map((e) => e.holder)));
  let nextRead = false;
  for (let k = hiIdx + 1; ; k++) {
    if (k >= slots.length) {
      if (nextRead) break;
      nextRead = true;
      const r = w.next();
      if (!r) break;
      slots.push(...slotsOf(r, w));
    }
    const sl = slots[k]!;
    const until = tl.openUntil();
    const open = until != null && sl.s <= until;
    let any = false;
    classes.forEach((c, i) => {
      if (!open && (after[i]!.size >= 2 || sl.s > w.hi + SESSION_MAX_AGE_MS)) return;
      any = true;
      for (const e of slotEvents(sl, w, c)) {
        tl.push(e);
        after[i]!.add(e.holder);
        w.use(sl.r);
      }
    });
    if (!w.readers.includes(sl.r) && (open || sl.s <= w.hi + BLOCK_MAX_AGE_MS)) feedBlocks(tl, sl, w, files);
    // A block released up to its max age after hi may have been allocated before it (its interval then
    // starts inexactly, max age before the release): blocks are read that far even once sessions are done.
    if (!any && !open && sl.s > w.hi + BLOCK_MAX_AGE_MS) break;
  }
}
