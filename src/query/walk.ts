// The records of one public ip:port that the interval rules need, read hour by hour.
//
// The nat key is (nat_ip, t, nat_port), so reading "port P of address A" costs every row of A in the
// hours read. The port summary (store/sqlite/ports.ts) says in which closed hours P appears, per
// protocol class, and port_time at which seconds; only those are read. An hour not closed yet is read
// through its written 5-minute pieces and then the minutes after them (in files with nat_block; else
// whole). Port blocks come from nat_block, once a file, where the file has it. Sessions are then read backwards from
// T's hour until the timeline is pinned down before the window, at the first record that opens a new
// holder's interval — a change of holder, or a gap longer than the max age (see intervals.ts):
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
import type { DayView, NatRow, PortHours } from '../store/store.js';
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
}

interface Slot {
  r: DayView;
  h: number;
  /** Start of the hour (ms). */
  s: number;
  hours: PortHours;
  /** Time of the reader's last row of the address: an still open hour after it has nothing to read. */
  last: number;
  rows?: Ev[];
  /** An hour read whole (no port_time): the rows of P and the blocks that may cover it, one scan for both. */
  scan?: NatRow[];
}

/** A record matches a protocol filter when it has that protocol or none (port-block logs often carry none). */
export function protoMatches(want: number | null, code: number): boolean {
  if (want == null) return true;
  const p = code % 1024;
  return p === want || p === PROTO_NONE;
}

function slotsOf(r: DayView, w: PortWalk): Slot[] {
  const hours = r.portHours(w.natIp, w.port, MAX_BLOCK_PORTS);
  const last = r.lastRowTime(w.natIp);
  return Array.from({ length: 24 }, (_, h) => ({ r, h, s: r.start + h * HOUR_MS, hours, last }));
}

const closed = (sl: Slot) => (sl.hours.closed & (1 << sl.h)) !== 0;
const sessionHour = (sl: Slot, c: number) => (closed(sl) ? (sl.hours.cls[c]! & (1 << sl.h)) !== 0 : sl.s <= sl.last);
/** With nat_block any hour's blocks are one range of the index; else the summary says which closed hours have some. */
const blockHour = (sl: Slot) => (closed(sl) && !sl.r.blockIndex ? (sl.hours.blocks & (1 << sl.h)) !== 0 : sl.s <= sl.last);

/** An still open hour's rows of P or of blocks that may cover P, read once for sessions() and feedBlocks(). */
function scanOf(sl: Slot, w: PortWalk): NatRow[] {
  sl.scan ??= sl.r.portOrBlockRowsIn(w.natIp, w.port, MAX_BLOCK_PORTS, sl.s, sl.s + HOUR_MS);
  return sl.scan;
}

/**
 * Session records of port P in a slot (not blocks), as events, read once: only the seconds where
 * port_time has P when the hour has it (closed, or the pieces written of an hour not closed, then
 * the rows after them), else the whole hour of the address.
 */
function sessions(sl: Slot, w: PortWalk): Ev[] {
  if (!sl.rows) {
    sl.rows = [];
    let rows: NatRow[];
    // Pieces only with nat_block: without it feedBlocks scans the still open hour whole anyway.
    const pc = !closed(sl) && sl.r.blockIndex ? sl.r.pieceSeconds(w.natIp, w.port, sl.h) : null;
    if (pc) rows = sl.r.portRowsAt(w.natIp, w.port, sl.s, pc.seconds).concat(sl.r.portRowsIn(w.natIp, w.port, pc.until, sl.s + HOUR_MS));
    else if (!closed(sl)) rows = scanOf(sl, w).filter((row) => row.nat_port === w.port);
    else {
      const secs = sl.r.portSeconds(w.natIp, w.port, sl.h);
      rows = secs ? sl.r.portRowsAt(w.natIp, w.port, sl.s, secs) : sl.r.portRowsIn(w.natIp, w.port, sl.s, sl.s + HOUR_MS);
    }
    for (const row of rows) {
      if (isBlockRow(row.port_end, row.code) || !protoMatches(w.want, row.code)) continue;
      const ev = toEvent(row, sl.r);
      if (ev) sl.rows.push(ev);
    }
  }
  return sl.rows;
}

/** Session events of summary class c in a slot (none when the summary rules the slot out). */
function slotEvents(sl: Slot | undefined, w: PortWalk, c: number): Ev[] {
  if (!sl || !sessionHour(sl, c)) return [];
  return sessions(sl, w).filter((e) => portClass(e.row.code % 1024) === c);
}

/**
 * Feed the block rows of a slot that may hold P (`whole`: of its whole file). A file with nat_block
 * is read once a walk (`files`): the index seeks by first port, not time, so an hour's read would
 * cost the whole day's blocks of that port range.
 */
function feedBlocks(tl: Timelines, sl: Slot, w: PortWalk, files: Map<DayView, NatRow[]>, whole = false): void {
  if (!whole && !blockHour(sl)) return;
  let rows: NatRow[];
  if (sl.r.blockIndex) {
    let all = files.get(sl.r);
    if (!all) files.set(sl.r, (all = sl.r.blockRowsIn(w.natIp, w.port, MAX_BLOCK_PORTS, sl.r.start, sl.r.start + DAY_MS)));
    const from = sl.s - sl.r.start;
    rows = whole ? all : all.filter((row) => row.t >= from && row.t < from + HOUR_MS);
  } else rows = closed(sl) ? sl.r.blockRowsIn(w.natIp, w.port, MAX_BLOCK_PORTS, sl.s, sl.s + HOUR_MS) : scanOf(sl, w);
  for (const row of rows) {
    if (!isBlockRow(row.port_end, row.code) || !protoMatches(w.want, row.code)) continue;
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

  // Port blocks: few rows, read wherever the summary has them over the days the rules need (a file
  // with nat_block: all of its blocks that may hold P, one range from its first slot).
  for (const sl of slots) {
    if (!sl.r.blockIndex) feedBlocks(tl, sl, w, files);
    else if (sl.h === 0) feedBlocks(tl, sl, w, files, true);
  }

  // Sessions, per class, backwards from T's hour until pinned (tcp, udp) or the lookback ends.
  const classes = classesFor(w.want);
  for (const c of classes) {
    let evs: Ev[] = [];
    let from = 0;
    for (let k = hiIdx; k >= 0; k--) {
      const sl = slots[k]!;
      if (!sessionHour(sl, c)) continue;
      evs = slotEvents(sl, w, c).concat(evs);
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
      if (!sessionHour(sl, c)) return;
      for (const e of slotEvents(sl, w, c)) {
        tl.push(e);
        after[i]!.add(e.holder);
        w.use(sl.r);
      }
    });
    if (!w.readers.includes(sl.r) && (open || sl.s <= w.hi + BLOCK_MAX_AGE_MS)) feedBlocks(tl, sl, w, files);
    if (!any && !open) break;
  }
}
