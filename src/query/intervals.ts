// From rows to intervals: who held a public ip:port (or a port block) from when to when.
//
// Rules (docs/architecture.md, "Forensic answers"), applied per key — sessions: (nat_ip, nat_port,
// proto); blocks: (nat_ip, first port, last port, proto) — to the key's records in time order:
//   open  (session_create, mapping_create, block_alloc)
//         same holder as the current one → refresh (count + 1, max age restarts; a block's INTERIM
//         is logged as block_alloc and lands here); another holder → the current interval ends
//         here ("reuse") and a new one starts.
//   close (session_close, mapping_delete, block_release) by the current holder → ends the
//         interval ("close"/"release") once every session the holder opened on the key is closed
//         (EIM: one inside ip:port may talk to several destinations through one public port).
//         A close with no open interval: the mapping started before the data we read; its interval
//         is [max(previous other holder's last record, close − max age), close], start_exact false.
//   nothing more for max age after the holder's last open → ends at last open + max age ("max_age").
// Holder = inside ip:port for sessions, inside ip for blocks.
//
//   key 203.0.113.7:40312/tcp   A.create ── A.create ──────── B.create ──── B.close
//                               [──────── A ───────────────)[──── B ─────]
//
// Both max ages are 24 h, which is what makes "a query for day D reads D and D−1" exact: a mapping
// alive at T was opened (or refreshed) after T − 24 h, so its record sits in T's day or the one
// before. 24 h matches RouterOS's default tcp-established-timeout (1d), the longest-lived per-session
// format we parse that logs no close; Linux conntrack's default is 5 days, but those deployments log
// DESTROY events, which close the interval first. Blocks: vendors refresh open blocks with an interim
// record (Juniper PBA INTERIM, MX ACTIVE) far more often than daily; a block with neither release nor
// interim for 24 h is taken as gone. A longer max age only widens intervals (more candidates, never
// fewer), so these are the values to change, with a config key, if a deployment needs it.
import type { DayView, NatRow } from '../store/store.js';
import { ipFromDb } from '../store/codes.js';

export const SESSION_MAX_AGE_MS = 24 * 3600_000;
export const BLOCK_MAX_AGE_MS = 24 * 3600_000;
/** How far before a window records can still matter. */
export const LOOKBACK_MS = Math.max(SESSION_MAX_AGE_MS, BLOCK_MAX_AGE_MS);
/**
 * Largest port block looked for: blocks are stored under their first port, so "blocks holding port P"
 * reads first ports P − MAX_BLOCK_PORTS + 1 … P in one range of the primary key. Vendor defaults are
 * 64–4096 ports (IOS XR 64–4096, Juniper PBA and A10 batches in that range).
 */
export const MAX_BLOCK_PORTS = 4096;

export type EndReason = 'close' | 'release' | 'reuse' | 'max_age';

/** One record as the timelines see it. */
export interface Ev {
  t: number;
  open: boolean;
  block: boolean;
  holder: string;
  dst: string;
  row: NatRow;
  reader: DayView;
}

/** Who held a key, from when to when, and the records behind it. */
export interface Interval {
  kind: 'session' | 'block';
  holder: string;
  first: Ev;
  start: number;
  end: number;
  start_exact: boolean;
  end_reason: EndReason;
  count: number;
}

const OPEN_EVENTS = new Set([0, 2, 4]);

/** Build the event for a nat row of `reader`, or null when it carries no inside address. */
export function toEvent(row: NatRow, reader: DayView): Ev | null {
  const event = Math.floor((row.code % 65536) / 1024);
  const block = row.port_end != null || event === 2 || event === 3;
  const src = row.src_ip == null ? null : ipFromDb(row.src_ip);
  if (src == null) return null;
  return {
    t: reader.start + row.t,
    open: OPEN_EVENTS.has(event),
    block,
    holder: block ? src : `${src}|${row.src_port ?? ''}`,
    dst: `${row.dst_ip == null ? '' : typeof row.dst_ip === 'number' ? row.dst_ip : Buffer.from(row.dst_ip).toString('hex')}|${row.dst_port ?? ''}`,
    row,
    reader,
  };
}

/** Key of the timeline a row belongs to. */
export function keyOf(ev: Ev): string {
  const r = ev.row;
  const ip = typeof r.nat_ip === 'number' ? r.nat_ip : Buffer.from(r.nat_ip).toString('hex');
  return ev.block ? `b|${ip}|${r.nat_port}|${r.port_end ?? r.nat_port}|${r.code % 1024}` : `s|${ip}|${r.nat_port}|${r.code % 1024}`;
}

interface Holder {
  first: Ev;
  start: number;
  lastOpen: number;
  count: number;
  open: Map<string, number>;
}

/** The intervals of one key, fed in time order. */
class Timeline {
  private holder: Holder | null = null;
  private readonly lastBy = new Map<string, number>();
  /** The interval that ended last, while no other holder has appeared since (a late duplicate close extends it). */
  private lastEnded: Interval | null = null;

  constructor(private readonly maxAge: number, private readonly out: Interval[]) {}

  push(ev: Ev): void {
    const h = this.holder;
    if (h && ev.t > h.lastOpen + this.maxAge) this.end(h.lastOpen + this.maxAge, 'max_age');
    if (this.lastEnded && this.lastEnded.holder !== ev.holder) this.lastEnded = null;
    if (ev.open) {
      if (this.holder && this.holder.first.holder !== ev.holder) this.end(ev.t, 'reuse');
      if (this.holder) {
        this.holder.count++;
        this.holder.lastOpen = ev.t;
        this.holder.open.set(ev.dst, (this.holder.open.get(ev.dst) ?? 0) + 1);
      } else {
        this.holder = { first: ev, start: ev.t, lastOpen: ev.t, count: 1, open: new Map([[ev.dst, 1]]) };
        this.lastEnded = null;
      }
    } else if (this.holder && this.holder.first.holder === ev.holder) {
      const hh = this.holder;
      hh.count++;
      const k = hh.open.has(ev.dst) ? ev.dst : (hh.open.keys().next().value as string | undefined);
      if (k !== undefined) {
        const n = (hh.open.get(k) ?? 1) - 1;
        if (n > 0) hh.open.set(k, n);
        else hh.open.delete(k);
      }
      if (ev.block || hh.open.size === 0) this.end(ev.t, ev.block ? 'release' : 'close');
    } else if (this.lastEnded && ev.t - this.lastEnded.end <= this.maxAge) {
      this.lastEnded.end = ev.t;
      this.lastEnded.count++;
    } else {
      let prev = -Infinity;
      for (const [who, t] of this.lastBy) if (who !== ev.holder && t > prev) prev = t;
      const iv: Interval = {
        kind: ev.block ? 'block' : 'session',
        holder: ev.holder,
        first: ev,
        start: Math.max(prev, ev.t - this.maxAge),
        end: ev.t,
        start_exact: false,
        end_reason: ev.block ? 'release' : 'close',
        count: 1,
      };
      this.out.push(iv);
      this.lastEnded = iv;
    }
    this.lastBy.set(ev.holder, ev.t);
  }

  private end(at: number, reason: EndReason): void {
    const h = this.holder!;
    const iv: Interval = { kind: h.first.block ? 'block' : 'session', holder: h.first.holder, first: h.first, start: h.start, end: at, start_exact: true, end_reason: reason, count: h.count };
    this.out.push(iv);
    this.holder = null;
    this.lastEnded = reason === 'reuse' || reason === 'max_age' ? null : iv;
  }

  /** The open holder's max-age end, or null. */
  openUntil(): number | null {
    return this.holder ? this.holder.lastOpen + this.maxAge : null;
  }

  finish(): void {
    if (this.holder) this.end(this.holder.lastOpen + this.maxAge, 'max_age');
  }
}

/** Timelines of many keys; feed each key's events in time order (keys may interleave). */
export class Timelines {
  private readonly lines = new Map<string, Timeline>();
  readonly intervals: Interval[] = [];

  push(ev: Ev): void {
    const k = keyOf(ev);
    let tl = this.lines.get(k);
    if (!tl) this.lines.set(k, (tl = new Timeline(ev.block ? BLOCK_MAX_AGE_MS : SESSION_MAX_AGE_MS, this.intervals)));
    tl.push(ev);
  }

  /** Latest max-age end among intervals still open (to decide whether the next day file is worth reading). */
  openUntil(): number | null {
    let m: number | null = null;
    for (const tl of this.lines.values()) {
      const u = tl.openUntil();
      if (u != null && (m == null || u > m)) m = u;
    }
    return m;
  }

  finish(): Interval[] {
    for (const tl of this.lines.values()) tl.finish();
    return this.intervals.sort((a, b) => a.start - b.start || a.end - b.end);
  }
}
