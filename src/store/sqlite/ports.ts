// The per-hour port summary of a day file (table port_seen): which public ports each public address
// used in each hour, so "who held ip:port at T" reads only the hours where that port appears instead
// of every row of the address since the day before (the nat key is (nat_ip, t, nat_port)).
//
//   port_seen row   (nat_ip, part = port >> 12, hour, cls) → blocks, ports
//     cls     0 tcp, 1 udp, 2 anything else (one protocol per class for the two that matter, so a
//             lookup can stop walking back at the first change of holder of that key)
//     blocks  1 when a port block whose first port falls in this part was logged in that hour
//     ports   the ports (port & 4095) logged in that hour: sorted u16 LE offsets while fewer than
//             256, else a 512-byte bitmap (bit i of byte i >> 3); length 512 means bitmap.
//   meta port_hours   bit h set = hour h is closed: its summary is complete, a port absent from it
//                     has no row in that hour. Still open hours are read from nat.
//
//   port_time row   (nat_ip, hour, tpart = port >> 10) → times: the seconds of the hour at which each
//             port of the part has a row (any class): sorted 3-byte big-endian entries
//             (port & 1023) << 12 | second. The walk then reads those seconds of nat (a descent
//             each, ~2 rows of the address a second) instead of the whole hour of the address
//             (~8,000 rows on a 50 M-record day of 256 addresses). 1024-port parts keep a row of
//             that day near 400 bytes, inside its B-tree page (a WITHOUT ROWID row over ~1,000
//             bytes spills to an overflow page). ~3 bytes per record.
//   meta port_time_hours   bit h set = the times of hour h are complete (closed with them). Hours
//                     closed by a writer without port_time have the bit clear: read as before.
//
//   port_time rows with hour = PIECE_BASE + tpart, tpart = p   the same entries for the 5-minute
//             piece p of the day (p = t / PIECE_MS; seconds still counted from the start of its
//             hour), written while its hour is not closed yet and deleted when it is. The columns
//             trade places so that one port part's pieces are neighbours: one range, one page.
//             Without them a lookup into the hour being written scanned every row of the address in
//             it (~0.5 ms on a dense day, and every lookup of today reaches that hour: the walk reads
//             forward until a later holder). Readers of older versions only ask for hours 0–23.
//   meta port_pieces  pieces 0 … port_pieces − 1 are complete: in a closed hour, or as piece rows.
//   meta summary_pos  (dayfile.ts) spool position of the last commit by a writer that keeps pieces; when
//             it is not the file's spool_pos, an older writer committed since: pieces are rewritten.
//
//   port_day row   (nat_ip, dpart = port >> 8, cls) → hours: the whole day's summary of a 256-port part,
//             written once every hour is closed (closeAll) from the port_seen rows. Each port of the
//             part with rows of class cls has its 24-bit hour mask (bit h: rows in hour h): entries
//             [port & 255, mask 3 bytes LE] sorted by port while fewer than DAY_DENSE, else the 768
//             masks of the part in port order (length 768 means dense). A lookup on a past day then
//             reads one short row per class instead of ~70 hour rows of port_seen (half of a 10 M-record
//             day's ip+port+time answer, and the pages most often missing from the cache).
//             ~4 bytes per distinct (ip, port, class) of the day.
//   meta port_day_pos  spool_pos when port_day was last made complete: built, or a commit of this
//             writer merged its rows into it. A reader uses port_day only while it equals spool_pos
//             (an older writer that commits into the file leaves it behind: port_seen is read).
//
// An hour is closed, inside a commit transaction, once committed record times have passed its end by
// CLOSE_GRACE_MS (record times count only up to the wall clock, so a forged future timestamp cannot
// close hours early); rows that arrive later for a closed hour update its summary in the same
// transaction as the rows. Pieces follow the same rule with PIECE_GRACE_MS (their frontier also no
// later than the wall clock itself), and late rows merge into them the same way. Both keep the rule
// "closed ⇒ complete" across crashes. A reader that takes an hour for still open must read its piece
// rows in the same snapshot as the meta it took that from (the close deletes them): DayReader.begin.
import type Database from 'better-sqlite3';
import { classesFor, isBlockRow, portClass } from '../codes.js';

export { classesFor, isBlockRow, portClass };
import { BLOCK_ROW_SQL, HOUR_MS, summariesCurrent } from './schema.js';

export const PART_BITS = 12;
/** Ports per port_time row (see the header). */
export const TIME_PART_BITS = 10;
const TIME_PART_MASK = (1 << TIME_PART_BITS) - 1;
const PART_SIZE = 1 << PART_BITS;
const BITMAP_BYTES = PART_SIZE / 8;
const LIST_MAX = BITMAP_BYTES / 2 - 1;
/** How far committed record times must pass an hour's end before it is closed. */
export const CLOSE_GRACE_MS = 5 * 60_000;
export const ALL_HOURS = 2 ** 24 - 1;
/** Length of a piece of an still open hour (see the header). */
export const PIECE_MS = 5 * 60_000;
export const PIECES_PER_HOUR = HOUR_MS / PIECE_MS;
/** port_time.hour of piece 0. */
export const PIECE_BASE = 24;
/** How far committed record times must pass a piece's end before it is written. */
export const PIECE_GRACE_MS = 60_000;
/** Ports per port_day row (see the header). */
export const DAY_PART_BITS = 8;
const DAY_PART_SIZE = 1 << DAY_PART_BITS;
/** Entries from which a port_day row is stored dense (4 bytes an entry against 3 a port). */
const DAY_DENSE = (DAY_PART_SIZE * 3) / 4;
const DAY_RETRY_MS = 10 * 60_000;



/**
 * Whether a summary blob holds offset `off` (0 … 4095). A 1-byte blob is the byte of `off` cut from a
 * bitmap (DayReader.portHours; a list is never 1 byte long: 2 bytes an entry).
 */
export function hasPort(blob: Uint8Array, off: number): boolean {
  if (blob.length === BITMAP_BYTES) return (blob[off >> 3]! & (1 << (off & 7))) !== 0;
  if (blob.length === 1) return (blob[0]! & (1 << (off & 7))) !== 0;
  let lo = 0;
  let hi = blob.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = blob[mid * 2]! | (blob[mid * 2 + 1]! << 8);
    if (v === off) return true;
    if (v < off) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** The 3-byte little-endian hour mask at byte i of a port_day blob. */
const maskAt = (blob: Uint8Array, i: number): number => blob[i]! | (blob[i + 1]! << 8) | (blob[i + 2]! << 16);

/** The hour mask of offset `off` (port & 255) in a port_day blob; 0: no row of the port that day. */
export function dayMask(blob: Uint8Array, off: number): number {
  if (blob.length === DAY_PART_SIZE * 3) return maskAt(blob, off * 3);
  let lo = 0;
  let hi = blob.length / 4 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = blob[mid * 4]!;
    if (v === off) return maskAt(blob, mid * 4 + 1);
    if (v < off) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

/** A port_day blob of 256 masks (index: port & 255), or null when none is set. */
export function encodeDay(masks: Uint32Array, from = 0): Buffer | null {
  let n = 0;
  for (let i = 0; i < DAY_PART_SIZE; i++) if (masks[from + i]) n++;
  if (n === 0) return null;
  if (n >= DAY_DENSE) {
    const out = Buffer.alloc(DAY_PART_SIZE * 3);
    for (let i = 0; i < DAY_PART_SIZE; i++) out.writeUIntLE(masks[from + i]!, i * 3, 3);
    return out;
  }
  const out = Buffer.allocUnsafe(n * 4);
  let k = 0;
  for (let i = 0; i < DAY_PART_SIZE; i++) {
    const m = masks[from + i]!;
    if (!m) continue;
    out[k] = i;
    out.writeUIntLE(m, k + 1, 3);
    k += 4;
  }
  return out;
}

/** Every mask of a port_day blob into `masks` (index: port & 255), or'ed. */
function decodeDay(blob: Uint8Array, masks: Uint32Array): void {
  if (blob.length === DAY_PART_SIZE * 3) for (let i = 0; i < DAY_PART_SIZE; i++) masks[i]! |= maskAt(blob, i * 3);
  else for (let k = 0; k + 3 < blob.length; k += 4) masks[blob[k]!]! |= maskAt(blob, k + 1);
}

/** Each offset of a port_seen blob (a bitmap or a list, see the header). */
function forEachPort(blob: Uint8Array, fn: (off: number) => void): void {
  if (blob.length === BITMAP_BYTES) {
    for (let i = 0; i < BITMAP_BYTES; i++) {
      const b = blob[i]!;
      if (b) for (let k = 0; k < 8; k++) if (b & (1 << k)) fn(i * 8 + k);
    }
  } else for (let i = 0; i + 1 < blob.length; i += 2) fn(blob[i]! | (blob[i + 1]! << 8));
}

/** One part's ports while a summary is built or merged. */
class PartBits {
  readonly bits = new Uint8Array(BITMAP_BYTES);
  blocks = 0;

  add(off: number): void {
    this.bits[off >> 3]! |= 1 << (off & 7);
  }

  merge(blob: Uint8Array): void {
    if (blob.length === BITMAP_BYTES) for (let i = 0; i < BITMAP_BYTES; i++) this.bits[i]! |= blob[i]!;
    else forEachPort(blob, (off) => this.add(off));
  }

  encode(): Buffer {
    const offs: number[] = [];
    for (let i = 0; i < BITMAP_BYTES && offs.length <= LIST_MAX; i++) {
      const b = this.bits[i]!;
      if (b) for (let k = 0; k < 8; k++) if (b & (1 << k)) offs.push(i * 8 + k);
    }
    if (offs.length > LIST_MAX) return Buffer.from(this.bits);
    const out = Buffer.allocUnsafe(offs.length * 2);
    offs.forEach((o, i) => out.writeUInt16LE(o, i * 2));
    return out;
  }
}

/** The columns of a nat row the summary reads (t in ms since the day's start). */
export interface PortRow {
  natIp: number | Buffer;
  natPort: number;
  blockEnd: number | null;
  code: number;
  t: number;
}


type Parts = Map<string, { natIp: number | Buffer; part: number; cls: number; hour: number; p: PartBits }>;

function ipKey(ip: number | Buffer): string {
  return typeof ip === 'number' ? String(ip) : ip.toString('hex');
}

/** port_time entries per (ip, hour, tpart) while built or merged: (port & 1023) << 12 | second. */
type Times = Map<string, { natIp: number | Buffer; hour: number; tpart: number; v: number[] }>;

/** The (hour, tpart) columns of the port_time row of an hour (h < 24) or of piece p (PIECE_BASE + p): see the header. */
export function timeRowKey(hour: number, tpart: number): [number, number] {
  return hour < PIECE_BASE ? [hour, tpart] : [PIECE_BASE + tpart, hour - PIECE_BASE];
}

/** Adds r's entry to the port_time row of `hour` (0–23, or PIECE_BASE + piece); seconds count from its clock hour. */
function addTime(times: Times, hour: number, r: PortRow): void {
  const tpart = r.natPort >> TIME_PART_BITS;
  const k = `${ipKey(r.natIp)}|${hour}|${tpart}`;
  let e = times.get(k);
  if (!e) times.set(k, (e = { natIp: r.natIp, hour, tpart, v: [] }));
  e.v.push(((r.natPort & TIME_PART_MASK) << 12) | Math.floor((r.t % HOUR_MS) / 1000));
}

/** Sorted, deduplicated entries as 3-byte big-endian values (byte order = numeric order). */
export function encodeTimes(v: number[]): Buffer {
  v.sort((a, b) => a - b);
  const out = Buffer.allocUnsafe(v.length * 3);
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    if (i > 0 && v[i] === v[i - 1]) continue;
    out.writeUIntBE(v[i]!, n * 3, 3);
    n++;
  }
  return out.subarray(0, n * 3);
}

/** Seconds of the hour (ascending) at which `port` has a row, from a port_time blob of its part. */
export function secondsOf(blob: Uint8Array, port: number): number[] {
  const key = (port & TIME_PART_MASK) << 12;
  const at = (i: number) => (blob[i * 3]! << 16) | (blob[i * 3 + 1]! << 8) | blob[i * 3 + 2]!;
  let lo = 0;
  let hi = Math.floor(blob.length / 3);
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (at(mid) < key) lo = mid + 1;
    else hi = mid;
  }
  const out: number[] = [];
  for (let i = lo; i < blob.length / 3; i++) {
    const v = at(i);
    if (v - key >= 4096) break;
    out.push(v & 4095);
  }
  return out;
}

function addRow(parts: Parts, hour: number, r: PortRow, times?: Times): void {
  if (r.natPort < 0) return; // no port (ICMP without id): never asked for by port
  if (times) addTime(times, hour, r);
  const part = r.natPort >> PART_BITS;
  const cls = portClass(r.code % 1024);
  const k = `${ipKey(r.natIp)}|${part}|${cls}|${hour}`;
  let e = parts.get(k);
  if (!e) parts.set(k, (e = { natIp: r.natIp, part, cls, hour, p: new PartBits() }));
  e.p.add(r.natPort & (PART_SIZE - 1));
  if (isBlockRow(r.blockEnd, r.code)) e.p.blocks = 1;
}

/** Keeps a writable day file's port summary: closes hours, merges late rows. */
export class PortSummary {
  private closed: number;
  /** Hours whose port_time rows are complete (meta port_time_hours). */
  private timed: number;
  /** Pieces complete (meta port_pieces). */
  private pieces: number;
  /** port_day is complete (meta port_day_pos = spool_pos): each commit merges its rows into it. */
  private indexed = false;
  /** Not before this time (ms) is a failed port_day tried again. */
  private dayRetryAt = 0;
  private readonly st;

  constructor(private readonly db: Database.Database) {
    this.closed = 0;
    this.timed = 0;
    this.pieces = 0;
    this.reload();
    this.st = {
      hourIps: db.prepare('SELECT DISTINCT nat_ip FROM src_seen WHERE hour = ?').pluck(),
      // port · 2^15 + class · 2^13 + block · 2^12 + second of the hour, for rows with a port (see summarize).
      hourPacked: db.prepare(`SELECT nat_port * 32768 + (CASE code % 1024 WHEN 6 THEN 0 WHEN 17 THEN 1 ELSE 2 END) * 8192 + ${BLOCK_ROW_SQL} * 4096 + (t % ${HOUR_MS}) / 1000 FROM nat WHERE nat_ip = ? AND t >= ? AND t < ? AND nat_port >= 0`).pluck(),
      get: db.prepare('SELECT blocks, ports FROM port_seen WHERE nat_ip = ? AND part = ? AND hour = ? AND cls = ?'),
      put: db.prepare('INSERT OR REPLACE INTO port_seen (nat_ip, part, hour, cls, blocks, ports) VALUES (?, ?, ?, ?, ?, ?)'),
      setSealed: db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('port_hours', ?)"),
      getTimes: db.prepare('SELECT times FROM port_time WHERE nat_ip = ? AND hour = ? AND tpart = ?').pluck(),
      putTimes: db.prepare('INSERT OR REPLACE INTO port_time (nat_ip, hour, tpart, times) VALUES (?, ?, ?, ?)'),
      setTimed: db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('port_time_hours', ?)"),
      setPieces: db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('port_pieces', ?)"),
      dropPieces: db.prepare(`DELETE FROM port_time WHERE nat_ip = ? AND hour >= ${PIECE_BASE} AND tpart BETWEEN ? AND ?`),
      dayGet: db.prepare('SELECT hours FROM port_day WHERE nat_ip = ? AND part = ? AND cls = ?').pluck(),
      dayPut: db.prepare('INSERT OR REPLACE INTO port_day (nat_ip, part, cls, hours) VALUES (?, ?, ?, ?)'),
      setDayPos: db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('port_day_pos', ?)"),
    };
    this.dropStalePieces();
  }

  /** Whether rows at `t` (ms since the day's start) fall in a closed hour or a written piece (they must go to update()). */
  closedAt(t: number): boolean {
    const hour = Math.floor(t / HOUR_MS);
    return hour >= 0 && hour < 24 && ((this.closed & (1 << hour)) !== 0 || t < this.pieces * PIECE_MS);
  }

  /**
   * Inside the commit transaction, after its rows: merge `late` (this commit's rows of closed hours
   * and written pieces), then close the hours that ended CLOSE_GRACE_MS before `frontier` (ms since the
   * day's start), and write the pieces that ended PIECE_GRACE_MS before it — and before `wall` (the
   * wall clock, ms since the day's start): the frontier may run CLOSE_GRACE_MS ahead of the clock (a
   * router's clock a few minutes fast), which would cut the piece still running.
   */
  update(late: readonly PortRow[], frontier: number, wall = Infinity): void {
    if (this.indexed) this.mergeDay(late);
    const parts: Parts = new Map();
    const times: Times = new Map();
    for (const r of late) {
      const hour = Math.floor(r.t / HOUR_MS);
      if (this.closed & (1 << hour)) addRow(parts, hour, r, (this.timed & (1 << hour)) !== 0 ? times : undefined);
      else if (r.natPort >= 0) addTime(times, PIECE_BASE + Math.floor(r.t / PIECE_MS), r); // a written piece of an still open hour
    }
    for (const e of times.values()) {
      const [hour, tpart] = timeRowKey(e.hour, e.tpart);
      const old = this.st.getTimes.get(e.natIp, hour, tpart) as Buffer | undefined;
      if (old) for (let i = 0; i + 2 < old.length; i += 3) e.v.push(old.readUIntBE(i, 3));
      this.st.putTimes.run(e.natIp, hour, tpart, encodeTimes(e.v));
    }
    for (const e of parts.values()) {
      const old = this.st.get.get(e.natIp, e.part, e.hour, e.cls) as { blocks: number; ports: Buffer } | undefined;
      if (old) {
        e.p.merge(old.ports);
        e.p.blocks |= old.blocks;
      }
      this.st.put.run(e.natIp, e.part, e.hour, e.cls, e.p.blocks, e.p.encode());
    }
    const upTo = Math.min(24, Math.floor((frontier - CLOSE_GRACE_MS) / HOUR_MS));
    for (let h = 0; h < upTo; h++) if (!(this.closed & (1 << h))) this.close(h);
    const piecesUpTo = Math.min(24 * PIECES_PER_HOUR, Math.floor((Math.min(frontier, wall) - PIECE_GRACE_MS) / PIECE_MS));
    if (piecesUpTo > this.pieces) {
      for (let p = this.pieces; p < piecesUpTo; p++) if (!(this.closed & (1 << Math.floor(p / PIECES_PER_HOUR)))) this.writePiece(p);
      this.pieces = piecesUpTo;
      this.st.setPieces.run(this.pieces);
    }
  }

  /**
   * Close every hour (the day is over), then write port_day: each its own transaction when called
   * outside one. A port_day that failed (a full disk) is tried again DAY_RETRY_MS later, not at
   * every commit: it costs seconds of the committer on a dense day, and readers do without it.
   */
  closeAll(): void {
    if (this.closed !== ALL_HOURS) this.inTransaction(() => {
      for (let h = 0; h < 24; h++) if (!(this.closed & (1 << h))) this.close(h);
    });
    if (this.indexed || Date.now() < this.dayRetryAt) return;
    try {
      this.inTransaction(() => this.buildDay());
    } catch (err) {
      this.dayRetryAt = Date.now() + DAY_RETRY_MS;
      throw err;
    }
  }

  private inTransaction(fn: () => void): void {
    try {
      this.db.transaction(fn)();
    } catch (err) {
      this.reload();
      throw err;
    }
  }

  /**
   * A writer before pieces (a downgrade, then this version again) commits rows into written pieces
   * without merging them, and closes hours without dropping their pieces: when the last commit was
   * not stamped by this code, the pieces are dropped and written again from nat.
   */
  private dropStalePieces(): void {
    if (this.pieces === 0 || summariesCurrent(this.db)) return;
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM port_time WHERE hour >= ?').run(PIECE_BASE);
      this.st.setPieces.run(0);
    })();
    this.pieces = 0;
  }

  /** In the commit transaction, after update(): port_day holds this commit's rows (see the header). */
  stampDay(spoolPos: number): void {
    if (this.indexed) this.st.setDayPos.run(spoolPos);
  }

  /**
   * Write port_day from the closed hours' port_seen rows, one public address at a time (~1.5 s on
   * a closed 10 M-record day, in the committer thread once a day).
   */
  private buildDay(): void {
    this.db.prepare('DELETE FROM port_day').run();
    const next = this.db.prepare('SELECT nat_ip FROM port_seen WHERE nat_ip > ? ORDER BY nat_ip LIMIT 1').pluck();
    const rows = this.db.prepare('SELECT part, hour, cls, ports FROM port_seen WHERE nat_ip = ?');
    const masks = new Uint32Array(3 << 16);
    // nat_ip is an integer (IPv4) or a blob (IPv6); every blob sorts after every integer.
    for (let ip = next.get(-1) as number | Buffer | undefined; ip !== undefined; ip = next.get(ip) as number | Buffer | undefined) {
      masks.fill(0);
      for (const r of rows.all(ip) as { part: number; hour: number; cls: number; ports: Buffer }[]) {
        const base = (r.cls << 16) | (r.part << PART_BITS);
        const bit = 1 << r.hour;
        forEachPort(r.ports, (off) => (masks[base | off]! |= bit));
      }
      for (let at = 0; at < masks.length; at += DAY_PART_SIZE) {
        const blob = encodeDay(masks, at);
        if (blob) this.st.dayPut.run(ip, (at & 0xffff) >> DAY_PART_BITS, at >> 16, blob);
      }
    }
    this.st.setDayPos.run(this.db.prepare("SELECT value FROM meta WHERE key = 'spool_pos'").pluck().get() ?? 0);
    this.indexed = true;
  }

  /** Merge a commit's rows into port_day (every hour is closed: they are all in `late`). */
  private mergeDay(late: readonly PortRow[]): void {
    const rows = new Map<string, { natIp: number | Buffer; part: number; cls: number; masks: Uint32Array }>();
    for (const r of late) {
      if (r.natPort < 0) continue;
      const part = r.natPort >> DAY_PART_BITS;
      const cls = portClass(r.code % 1024);
      const k = `${ipKey(r.natIp)}|${part}|${cls}`;
      let e = rows.get(k);
      if (!e) rows.set(k, (e = { natIp: r.natIp, part, cls, masks: new Uint32Array(DAY_PART_SIZE) }));
      e.masks[r.natPort & (DAY_PART_SIZE - 1)]! |= 1 << Math.floor(r.t / HOUR_MS);
    }
    for (const e of rows.values()) {
      const old = this.st.dayGet.get(e.natIp, e.part, e.cls) as Buffer | undefined;
      if (old) decodeDay(old, e.masks);
      this.st.dayPut.run(e.natIp, e.part, e.cls, encodeDay(e.masks));
    }
  }

  /** Re-read the closed hours (after a rolled-back transaction). */
  reload(): void {
    this.closed = Number(this.db.prepare("SELECT value FROM meta WHERE key = 'port_hours'").pluck().get() ?? 0);
    this.timed = Number(this.db.prepare("SELECT value FROM meta WHERE key = 'port_time_hours'").pluck().get() ?? 0);
    this.pieces = Number(this.db.prepare("SELECT value FROM meta WHERE key = 'port_pieces'").pluck().get() ?? 0);
    this.indexed = summariesCurrent(this.db, 'port_day_pos');
  }

  get closedHours(): number {
    return this.closed;
  }

  private close(h: number): void {
    for (const ip of this.st.hourIps.all(h) as (number | Buffer)[]) {
      this.summarize(ip, h * HOUR_MS, (h + 1) * HOUR_MS, h, true);
      this.st.dropPieces.run(ip, h * PIECES_PER_HOUR, (h + 1) * PIECES_PER_HOUR - 1);
    }
    this.closed |= 1 << h;
    this.timed |= 1 << h;
    this.st.setSealed.run(this.closed);
    this.st.setTimed.run(this.timed);
  }

  /** Write the port_time rows of piece p (its hour not closed), from its rows in nat. */
  private writePiece(p: number): void {
    for (const ip of this.st.hourIps.all(Math.floor(p / PIECES_PER_HOUR)) as (number | Buffer)[]) this.summarize(ip, p * PIECE_MS, (p + 1) * PIECE_MS, PIECE_BASE + p, false);
  }

  /**
   * Write the port_time rows (under `hour`: 0–23 or a piece) of ip's rows in [from, to), and with
   * `seen` its port_seen rows (then [from, to) is clock hour `hour`). The rows come as one packed
   * number each (hourPacked): no row arrays, no key strings — closing an hour of a dense day read
   * ~2 M rows and cost the committer ~15 % of its time before.
   */
  private summarize(ip: number | Buffer, from: number, to: number, hour: number, seen: boolean): void {
    const byTpart = new Map<number, number[]>();
    const parts = new Map<number, PartBits>();
    for (const v of this.st.hourPacked.all(ip, from, to) as number[]) {
      const port = v >>> 15;
      const entry = ((port & TIME_PART_MASK) << 12) | (v & 4095);
      let l = byTpart.get(port >> TIME_PART_BITS);
      if (!l) byTpart.set(port >> TIME_PART_BITS, (l = []));
      l.push(entry);
      if (seen) {
        const k = (port >> PART_BITS) * 4 + ((v >>> 13) & 3);
        let b = parts.get(k);
        if (!b) parts.set(k, (b = new PartBits()));
        b.add(port & (PART_SIZE - 1));
        if ((v >>> 12) & 1) b.blocks = 1;
      }
    }
    for (const [k, b] of parts) this.st.put.run(ip, k >> 2, hour, k & 3, b.blocks, b.encode());
    for (const [tpart, l] of byTpart) this.st.putTimes.run(ip, ...timeRowKey(hour, tpart), encodeTimes(l));
  }
}
