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
import { HOUR_MS, classesFor, ipKey, isBlockRow, portClass } from '../store/codes.js';
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
  /** Hours read once for the walks of many ports (a subscriber's), or none: each walk reads its own. */
  shared?: SharedHours | null;
}

/** Rows the shared hours may hold before they are dropped (and read again if asked): ~200 B each. */
const SHARED_ROWS_MAX = 500_000;

/**
 * The session rows of a set of ports per public address, read an hour at a time for all of them
 * (DayView.portsHourRows): a subscriber's day walks hundreds of ports of the same address or two, and
 * one pass over an hour's parts costs less than a binary search a port. Bounded: past SHARED_ROWS_MAX
 * rows it forgets what it read.
 */
export class SharedHours {
  private readonly got = new Map<DayView, Map<string, (Map<number, NatRow[]> | undefined)[]>>();
  private readonly blocks = new Map<DayView, Map<string, NatRow[]>>();
  private rows = 0;

  /** `ports`: by public address (ipKey), the ports the walks will ask. */
  constructor(private readonly ports: ReadonlyMap<string, ReadonlySet<number>>) {}

  /** Session rows of natIp:port in hour h of r, in time order; null when r reads no shared hours. */
  rowsOf(r: DayView, natIp: number | Buffer, port: number, h: number): NatRow[] | null {
    const key = ipKey(natIp);
    const ports = this.ports.get(key);
    if (!r.portsHourRows || !ports?.has(port)) return null;
    let byIp = this.got.get(r);
    if (!byIp) this.got.set(r, (byIp = new Map()));
    let hours = byIp.get(key);
    if (!hours) byIp.set(key, (hours = new Array(24)));
    let hour = hours[h];
    if (!hour) {
      if (this.rows > SHARED_ROWS_MAX) {
        this.got.clear();
        this.blocks.clear();
        this.rows = 0;
        return this.rowsOf(r, natIp, port, h);
      }
      hour = hours[h] = r.portsHourRows(natIp, ports, h);
      for (const l of hour.values()) this.rows += l.length;
    }
    return hour.get(port) ?? [];
  }

  /**
   * The hours of r (bit h: hour h) with session rows of natIp:port, from every hour of r read for all
   * the ports; null as rowsOf.
   */
  hoursOf(r: DayView, natIp: number | Buffer, port: number): number | null {
    let mask = 0;
    for (let h = 0; h < 24; h++) {
      const rows = this.rowsOf(r, natIp, port, h);
      if (!rows) return null;
      if (rows.length) mask |= 1 << h;
    }
    return mask;
  }

  /** DayView.blockRowsIn over r's whole day, from the address's blocks read once; null as rowsOf. */
  blocksOf(r: DayView, natIp: number | Buffer, port: number, maxPorts: number): NatRow[] | null {
    const key = ipKey(natIp);
    if (!r.dayBlocks || !this.ports.get(key)?.has(port)) return null;
    let byIp = this.blocks.get(r);
    if (!byIp) this.blocks.set(r, (byIp = new Map()));
    let all = byIp.get(key);
    if (!all) {
      byIp.set(key, (all = r.dayBlocks(natIp)));
      this.rows += all.length;
    }
    const lo = port < 0 ? port : Math.max(0, port - maxPorts + 1);
    return all.filter((b) => b.nat_port >= lo && b.nat_port <= port && ((b.port_end != null && b.port_end >= port) || b.nat_port === port));
  }
}

/** One hour a walk reads: made when the walk first reads it (Slots). */
interface Slot {
  r: DayView;
  h: number;
  /** Start of the hour (ms). */
  s: number;
  rows?: Ev[];
}

/** A day file of a walk: what tells which of its hours are worth reading. */
interface WalkDay {
  r: DayView;
  /** Time of the reader's last row of the address: an hour after it has nothing to read. */
  last: number;
  /** The reader's hours that may hold the port (DayView.portHours). */
  hours: number;
}

const NONE: readonly Ev[] = Object.freeze([]);

/**
 * The hours a walk may read, 24 a day file, oldest first, numbered from 0. An hour's Slot is made only
 * when it is read: a subscriber's day walks hundreds of ports over three day files, and most hours of
 * a port are skipped on the day's own facts.
 */
class Slots {
  private readonly days: WalkDay[] = [];
  private readonly made: (Slot | undefined)[] = [];

  constructor(private readonly w: PortWalk) {}

  get length(): number {
    return this.days.length * 24;
  }

  add(r: DayView): void {
    const w = this.w;
    const last = r.lastRowTime(w.natIp);
    // A day inside [lo, hi] is read whole by every walk: with shared hours, which hours hold the port
    // is known from them, without the port sets.
    const whole = w.shared != null && r.start >= w.lo && r.start + DAY_MS - 1 <= w.hi;
    const hours = last === -Infinity ? 0 : ((whole ? w.shared!.hoursOf(r, w.natIp, w.port) : null) ?? r.portHours(w.natIp, w.port));
    this.days.push({ r, last, hours });
  }

  reader(k: number): DayView {
    return this.days[(k / 24) | 0]!.r;
  }

  /** Start (ms) of hour k. */
  start(k: number): number {
    return this.days[(k / 24) | 0]!.r.start + (k % 24) * HOUR_MS;
  }

  /** Whether hour k is not past the address's last row in its file (it may hold the address's blocks). */
  live(k: number): boolean {
    return this.start(k) <= this.days[(k / 24) | 0]!.last;
  }

  /** Whether hour k may hold session records of the port. */
  may(k: number): boolean {
    return (this.days[(k / 24) | 0]!.hours & (1 << k % 24)) !== 0 && this.live(k);
  }

  at(k: number): Slot {
    let sl = this.made[k];
    if (!sl) {
      const r = this.reader(k);
      const h = k % 24;
      sl = this.made[k] = { r, h, s: r.start + h * HOUR_MS };
    }
    return sl;
  }

  /** Session events of protocol class c in hour k (a shared empty array when it has none: most hours of a port). */
  events(k: number, c: number): readonly Ev[] {
    if (k < 0 || k >= this.length || !this.may(k)) return NONE;
    const all = sessions(this.at(k), this.w);
    if (!all.length) return NONE;
    return all.filter((e) => portClass(e.row.code % 1024) === c);
  }
}

/** A record matches a protocol filter when it has that protocol or none (port-block logs often carry none). */
export function protoMatches(want: number | null, code: number): boolean {
  if (want == null) return true;
  const p = code % 1024;
  return p === want || p === PROTO_NONE;
}

/** Session records of port P in a slot (not blocks), as events, read once. */
function sessions(sl: Slot, w: PortWalk): Ev[] {
  if (!sl.rows) {
    sl.rows = [];
    for (const row of w.shared?.rowsOf(sl.r, w.natIp, w.port, sl.h) ?? sl.r.portRowsIn(w.natIp, w.port, sl.s, sl.s + HOUR_MS)) {
      if (isBlockRow(row.port_end, row.code) || !protoMatches(w.want, row.code) || (w.keep && !w.keep(row))) continue;
      const ev = toEvent(row, sl.r);
      if (ev) sl.rows.push(ev);
    }
  }
  return sl.rows;
}

/**
 * Feed the block rows of r that may hold P: of the hour starting at `s`, or of the whole file (s =
 * null). A file's blocks are read once a walk (`files`): its block table is keyed by first port, not
 * time, so an hour's read would cost the whole day's blocks of that port range.
 */
function feedBlocks(tl: Timelines, r: DayView, s: number | null, w: PortWalk, files: Map<DayView, NatRow[]>): void {
  let all = files.get(r);
  if (!all) files.set(r, (all = w.shared?.blocksOf(r, w.natIp, w.port, MAX_BLOCK_PORTS) ?? r.blockRowsIn(w.natIp, w.port, MAX_BLOCK_PORTS, r.start, r.start + DAY_MS)));
  const from = s == null ? 0 : s - r.start;
  const rows = s == null ? all : all.filter((row) => row.t >= from && row.t < from + HOUR_MS);
  for (const row of rows) {
    if (!isBlockRow(row.port_end, row.code) || !protoMatches(w.want, row.code) || (w.keep && !w.keep(row))) continue;
    const ev = toEvent(row, r);
    if (ev) {
      tl.push(ev);
      w.use(r);
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
  const slots = new Slots(w);
  for (const r of w.readers) slots.add(r);
  const files = new Map<DayView, NatRow[]>();
  let hiIdx = -1;
  while (hiIdx + 1 < slots.length && slots.start(hiIdx + 1) <= w.hi) hiIdx++;

  // Port blocks: few rows, read over the days the rules need (all of a file's blocks that may hold
  // P, one range a file).
  for (const r of w.readers) feedBlocks(tl, r, null, w, files);

  // Sessions, per class, backwards from T's hour until pinned (tcp, udp) or the lookback ends.
  const classes = classesFor(w.want);
  for (const c of classes) {
    let evs: Ev[] = [];
    let from = 0;
    for (let k = hiIdx; k >= 0; k--) {
      const got = slots.events(k, c);
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
  const after = classes.map((c) => new Set(slots.events(hiIdx, c).filter((e) => e.t > w.hi).map((e) => e.holder)));
  let nextRead = false;
  for (let k = hiIdx + 1; ; k++) {
    if (k >= slots.length) {
      if (nextRead) break;
      nextRead = true;
      const r = w.next();
      if (!r) break;
      slots.add(r);
    }
    const s = slots.start(k);
    const until = tl.openUntil();
    const open = until != null && s <= until;
    let any = false;
    classes.forEach((c, i) => {
      if (!open && (after[i]!.size >= 2 || s > w.hi + SESSION_MAX_AGE_MS)) return;
      any = true;
      const r = slots.reader(k);
      for (const e of slots.events(k, c)) {
        tl.push(e);
        after[i]!.add(e.holder);
        w.use(r);
      }
    });
    const r = slots.reader(k);
    if (!w.readers.includes(r) && (open || s <= w.hi + BLOCK_MAX_AGE_MS) && slots.live(k)) feedBlocks(tl, r, s, w, files);
    // A block released up to its max age after hi may have been allocated before it (its interval then
    // starts inexactly, max age before the release): blocks are read that far even once sessions are done.
    if (!any && !open && s > w.hi + BLOCK_MAX_AGE_MS) break;
  }
}
