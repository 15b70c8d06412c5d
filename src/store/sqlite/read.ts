// Read-only access to day files for the query layer (schema.ts): the packed records of one public
// address and hour (parts of a closed hour, pieces of one still written), its port blocks, the
// subscriber summary, owners and device activity, and the original lines. Opens files read-only;
// never writes, never creates a file. A request reads one snapshot of each file (begin/end).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { dayStart, HOUR_MS, ipKey } from '../codes.js';
import { DayFile } from './dayfile.js';
import type { LineReader } from '../line-codec.js';
import { hourOf, RAW_BLOCK, rawRefOf } from './schema.js';
import { STAT_OTHERS } from './day-stat.js';
import { Part } from './part.js';
import { SessionReader } from './sessions.js';
import { psetSeg, PSET_SPAN, segmentHas, segmentMark } from './port-set.js';
import { OPEN_KEY_SPAN, type DayView, type NatRow, type OpenScan } from '../store.js';

/** Most rows whose arrays a reader keeps for its next ipOpens (2 MB). */
const KEEP_OPENS = 1 << 17;
/** Bytes of packed parts a reader keeps (parts never change once written: cached by rec id). */
const PART_CACHE_BYTES = 32 * 1024 * 1024;
/** Rec rows a reader keeps listed between its snapshots' changes. */
const LIST_CACHE_ROWS = 64 * 1024;
/** Bytes of port-set rows a reader keeps (a few KB per address and segment). */
const PSET_CACHE_BYTES = 8 * 1024 * 1024;
const PSET_MASK_AFTER = 8;
const ALL_HOURS = 0xffffff;
const SRC_PORT_SPAN = 131_072;

/** The port-set rows of one (address, segment) as a reader keeps them. */
interface PsetEntry {
  rows: { hour: number; ports: Buffer }[];
  /** Closed hours (bit h). */
  known: number;
  hits: number;
  /** Per port of the segment, the hours that hold it: made once PSET_MASK_AFTER different ports were asked. */
  masks: Uint32Array | null;
  /** The last port asked (its offset in the segment, -1 none) and its hours. */
  lastOff: number;
  lastHas: number;
  bytes: number;
}

/** One rec row of an hour, without its data. */
interface RecRef {
  id: number;
  hour: number;
  port_lo: number;
  port_hi: number;
  n: number;
}

/** A session open with an inside address (events 0 and 4: session and mapping creates). */
const isOpen = (code: number): boolean => {
  const e = Math.floor((code % 65536) / 1024);
  return e === 0 || e === 4;
};


/** Order of rows as an answer reads them: time, port, id. */
const byTime = (a: NatRow, b: NatRow): number => a.t - b.t || a.nat_port - b.nat_port || a.id - b.id;

/** The reader's statements, exported so a test can check their plans. */
export const READ_SQL = {
  /** The rec rows of one address and hour (the rec_key index covers it). */
  hour: 'SELECT id, hour, port_lo, port_hi, n FROM rec WHERE nat_ip = ? AND hour = ?',
  /** The closed hours' port sets of one address and port segment. */
  pset: 'SELECT hour, ports FROM pset WHERE nat_ip = ? AND seg = ?',
  data: 'SELECT data FROM rec WHERE id = ?',
  last: 'SELECT max(t) FROM (SELECT max(t_max) AS t FROM rec WHERE nat_ip = ? UNION ALL SELECT max(t) FROM blk WHERE nat_ip = ?)',
  /** Port blocks that may hold a port: first port in [lo, port], last ≥ port or first = port, time in [from, to). */
  blocks: 'SELECT * FROM blk WHERE nat_ip = ? AND nat_port BETWEEN ? AND ? AND t >= ? AND t < ? AND (port_end >= ? OR nat_port = ?)',
  blocksFrom: 'SELECT * FROM blk WHERE nat_ip = ? AND t >= ?',
  blocksOfSrc: 'SELECT nat_ip, nat_port FROM blk WHERE nat_ip = ? AND t BETWEEN ? AND ? AND src_ip = ?',
  blockAt: 'SELECT * FROM blk WHERE nat_ip = ? AND nat_port = ? AND t = ? AND id = ?',
  others: `SELECT n FROM day_stat WHERE kind = ${STAT_OTHERS} AND hour = -1 AND key = ?`,
  owners: 'SELECT device FROM owner WHERE nat_ip = ?',
  active: 'SELECT 1 FROM active WHERE device = ? AND minute BETWEEN ? AND ? AND first <= ? AND last >= ? LIMIT 1',
  seen: 'SELECT nat_ip FROM src_seen WHERE hour = ? AND src_ip = ?',
  loginName: 'SELECT name FROM login WHERE id = ?',
  loginId: 'SELECT id FROM login WHERE name = ?',
  /** The inside addresses a login held in hours overlapping [lo, hi] (login_seen's primary key). */
  loginSrcs: 'SELECT src_ip FROM login_seen WHERE login = ? AND first_hour <= ? AND last_hour >= ?',
  rawBlock: 'SELECT n, data FROM raw WHERE id = ?',
  version: 'PRAGMA data_version',
  snapshot: "SELECT value FROM meta WHERE key = 'day'",
} as const;

/** One day file opened read-only, with its statements prepared and its device table loaded. */
export class DayReader implements DayView {
  readonly file: DayFile;
  readonly start: number;
  private readonly st: { [K in keyof typeof READ_SQL]: Database.Statement };
  /** Owners per public address (a bulk request asks about the same addresses again and again). */
  private readonly ownerCache = new Map<string, string[]>();
  /** The original-line decoder, for the snapshot the caches were loaded from (new shapes come with new lines). */
  private lines: LineReader | null = null;
  private readonly devAddr = new Map<number, string>();
  private readonly devId = new Map<string, number>();
  /** Login texts by id (a login is written once and never changes). */
  private readonly loginNames = new Map<number, string | null>();
  /** Parts by rec id, least recently used first (bytes). */
  private readonly parts = new Bounded<number, Part>(PART_CACHE_BYTES, (p) => p.data.length);
  /** Rec rows by `${ipKey}|${hour}`, for the snapshot the caches were loaded from (rows). */
  private readonly lists = new Bounded<string, RecRef[]>(LIST_CACHE_ROWS, (l) => l.length + 1);
  private readonly lastCache = new Map<string, number>();
  /** Port sets by `${ipKey}|${segment}` (bytes). */
  private readonly psets = new Bounded<string, PsetEntry>(PSET_CACHE_BYTES, (e) => e.bytes);
  /** File identity and SQLite data_version when the caches above were filled (see current()). */
  private readonly ino: number;
  private version = -1;
  /** ipOpens' arrays, reused by the next scan. */
  private openArrays: OpenScan | null = null;
  private sessionReader: SessionReader | null = null;

  constructor(readonly path: string, readonly day: string) {
    this.file = new DayFile(path, day, { journalMode: '', synchronous: '', cacheSizeMiB: 16, maxPageCount: 0, readonly: true });
    this.start = dayStart(day);
    const db = this.file.db;
    this.st = Object.fromEntries(Object.entries(READ_SQL).map(([k, sql]) => [k, db.prepare(sql)])) as DayReader['st'];
    for (const k of ['data', 'last', 'others', 'version', 'owners', 'seen', 'loginName', 'loginId', 'loginSrcs'] as const) this.st[k].pluck();
    this.ino = statSync(path).ino;
    this.load();
  }

  /** The day's RADIUS session events (sessions.ts). */
  get sessions(): SessionReader {
    return (this.sessionReader ??= new SessionReader(this.file.db, this.start, (id) => this.deviceAddress(id)));
  }

  /** The reader for `<dir>/<day>.db`, or null when there is no such file. */
  static open(dir: string, day: string): DayReader | null {
    const path = join(dir, `${day}.db`);
    if (!existsSync(path)) return null;
    return new DayReader(path, day);
  }

  begin(): void {
    const db = this.file.db;
    if (db.inTransaction) return;
    db.exec('BEGIN');
    this.st.snapshot.get(); // a deferred BEGIN takes its snapshot at the first read
    if (Number(this.st.version.get()) !== this.version) this.load();
  }

  end(): void {
    if (this.file.db.inTransaction) this.file.db.exec('COMMIT');
  }

  /** (Re)read what this reader caches from the file: devices; forget listings of the older state. */
  private load(): void {
    this.version = Number(this.st.version.get());
    this.devAddr.clear();
    this.devId.clear();
    this.ownerCache.clear();
    this.lastCache.clear();
    this.psets.clear();
    this.lists.clear();
    this.lines = null;
    for (const r of this.file.db.prepare('SELECT id, address FROM device').all() as { id: number; address: string }[]) {
      this.devAddr.set(r.id, r.address);
      this.devId.set(r.address, r.id);
    }
  }

  current(): boolean {
    try {
      return statSync(this.path).ino === this.ino;
    } catch {
      return false;
    }
  }

  private rel(ms: number): number {
    return Number.isFinite(ms) ? ms - this.start : Number.MIN_SAFE_INTEGER;
  }

  /** The rec rows of an address in one hour. */
  private list(natIp: number | Buffer, hour: number): RecRef[] {
    const k = `${ipKey(natIp)}|${hour}`;
    return this.lists.get(k) ?? this.lists.set(k, this.st.hour.all(natIp, hour) as RecRef[]);
  }

  private part(id: number): Part {
    return this.parts.touch(id) ?? this.parts.set(id, new Part(this.st.data.get(id) as Buffer));
  }

  /** The rec rows of each hour of natIp that [fromMs, toMs] touches and has any, ascending. */
  private *hours(natIp: number | Buffer, fromMs: number, toMs: number): Generator<RecRef[]> {
    const last = toMs === Infinity ? 23 : hourOf(Math.max(0, toMs - this.start));
    for (let h = hourOf(Math.max(0, this.rel(fromMs))); h <= last; h++) {
      const refs = this.list(natIp, h);
      if (refs.length) yield refs;
    }
  }

  /**
   * Visit the records of one hour's rec rows in (nat_port, t, id) order: parts and pieces merged when
   * the hour has several rows whose port ranges overlap (an hour still being written).
   */
  private eachInOrder(refs: RecRef[], visit: (p: Part, i: number) => void): void {
    const parts = refs.map((r) => this.part(r.id));
    const disjoint = refs.every((r, j) => refs.every((o, k) => k === j || o.port_hi < r.port_lo || o.port_lo > r.port_hi));
    if (disjoint) {
      const order = parts.map((_, j) => j).sort((a, b) => refs[a]!.port_lo - refs[b]!.port_lo);
      for (const j of order) for (let i = 0; i < parts[j]!.n; i++) visit(parts[j]!, i);
      return;
    }
    const all: [Part, number][] = [];
    for (const p of parts) for (let i = 0; i < p.n; i++) all.push([p, i]);
    all.sort(([p, i], [q, k]) => p.port(i) - q.port(k) || p.t(i) - q.t(k) || p.num(2, i) - q.num(2, k));
    for (const [p, i] of all) visit(p, i);
  }

  /**
   * The hours (bit h: hour h) that may hold records of natIp:port: closed hours whose port set has
   * it, and every hour not closed yet (no port set: it may hold any port). One read of ≤ 24 rows.
   */
  portHours(natIp: number | Buffer, port: number): number {
    if (port < 0 || port > 65535) return ALL_HOURS;
    const seg = psetSeg(port);
    const k = `${ipKey(natIp)}|${seg}`;
    let e = this.psets.get(k);
    if (!e) {
      const rows = this.st.pset.all(natIp, seg) as { hour: number; ports: Buffer }[];
      e = { rows, known: 0, hits: 0, masks: null, lastOff: -1, lastHas: 0, bytes: rows.reduce((n, r) => n + r.ports.length + 64, 64) };
      for (const r of rows) e.known |= 1 << r.hour;
      this.psets.set(k, e);
    }
    const off = port % PSET_SPAN;
    // One answer asks its port several times (each day, each walk): the last port's hours are kept.
    if (off === e.lastOff) return (ALL_HOURS & ~e.known) | e.lastHas;
    // A subscriber's or a bulk request's walks ask many ports of the same few addresses: a segment
    // asked for PSET_MASK_AFTER different ports is turned into a mask per port (16 KB) instead of
    // scanning its rows each time. A forensic answer asks one port and never gets there.
    if (!e.masks && ++e.hits >= PSET_MASK_AFTER) {
      const masks = (e.masks = new Uint32Array(PSET_SPAN));
      for (const r of e.rows) segmentMark(r.ports, masks, 1 << r.hour);
      e.bytes += masks.byteLength;
      this.psets.grew(masks.byteLength);
    }
    let has = 0;
    if (e.masks) has = e.masks[off]!;
    else for (const r of e.rows) if (segmentHas(r.ports, off)) has |= 1 << r.hour;
    e.lastOff = off;
    e.lastHas = has;
    return (ALL_HOURS & ~e.known) | has;
  }

  /** Rows of natIp:port with time in [fromMs, toMs), in time order. */
  portRowsIn(natIp: number | Buffer, port: number, fromMs: number, toMs: number): NatRow[] {
    const lo = this.rel(fromMs);
    const hi = toMs - this.start;
    const out: NatRow[] = [];
    for (let h = hourOf(Math.max(0, lo)); h <= hourOf(Math.max(0, hi - 1)) && h * HOUR_MS < hi; h++) {
      for (const ref of this.list(natIp, h)) {
        if (port < ref.port_lo || port > ref.port_hi) continue;
        const p = this.part(ref.id);
        for (let i = p.lowerBound(port); i < p.n && p.port(i) === port; i++) {
          const t = p.t(i);
          if (t >= lo && t < hi) out.push(p.row(natIp, i));
        }
      }
    }
    return out.sort(byTime);
  }

  portsHourRows(natIp: number | Buffer, ports: ReadonlySet<number>, hour: number): Map<number, NatRow[]> {
    const out = new Map<number, NatRow[]>();
    for (const ref of this.list(natIp, hour)) {
      const p = this.part(ref.id);
      for (let i = 0; i < p.n; i++) {
        const port = p.port(i);
        if (!ports.has(port)) continue;
        const row = p.row(natIp, i);
        const l = out.get(port);
        if (l) l.push(row);
        else out.set(port, [row]);
      }
    }
    for (const l of out.values()) if (l.length > 1) l.sort(byTime);
    return out;
  }

  dayBlocks(natIp: number | Buffer): NatRow[] {
    return this.st.blocksFrom.all(natIp, Number.MIN_SAFE_INTEGER) as NatRow[];
  }

  lastRowTime(natIp: number | Buffer): number {
    const k = ipKey(natIp);
    let t = this.lastCache.get(k);
    if (t === undefined) {
      const v = this.st.last.get(natIp, natIp) as number | null;
      t = v == null ? -Infinity : this.start + v;
      if (this.lastCache.size > 10_000) this.lastCache.clear();
      this.lastCache.set(k, t);
    }
    return t;
  }

  blockRowsIn(natIp: number | Buffer, port: number, maxPorts: number, fromMs: number, toMs: number): NatRow[] {
    const lo = port < 0 ? port : Math.max(0, port - maxPorts + 1);
    return this.st.blocks.all(natIp, lo, port, this.rel(fromMs), toMs - this.start, port, port) as NatRow[];
  }

  /**
   * Every record of natIp with time in [fromMs, toMs] whose packed row `keep` accepts, plus its
   * blocks when `blocks` accepts them, in time order.
   */
  private scan(natIp: number | Buffer, fromMs: number, toMs: number, keep: (p: Part, i: number) => boolean, blocks: ((r: NatRow) => boolean) | null): NatRow[] {
    const from = this.rel(fromMs);
    const to = toMs - this.start;
    const out: NatRow[] = [];
    for (const refs of this.hours(natIp, fromMs, toMs)) {
      for (const ref of refs) {
        const p = this.part(ref.id);
        for (let i = 0; i < p.n; i++) {
          const t = p.t(i);
          if (t >= from && t <= to && keep(p, i)) out.push(p.row(natIp, i));
        }
      }
    }
    if (blocks) for (const r of this.st.blocksFrom.all(natIp, from) as NatRow[]) if (r.t <= to && blocks(r)) out.push(r);
    return out.sort(byTime);
  }

  /** Every record of natIp with time in [fromMs, toMs], blocks included, in time order (reads only the hours of the range). */
  ipRowsIn(natIp: number | Buffer, fromMs: number, toMs: number): NatRow[] {
    return this.scan(natIp, fromMs, toMs, () => true, () => true);
  }

  ipRows(natIp: number | Buffer, fromMs: number): IterableIterator<NatRow> {
    return this.scan(natIp, fromMs, Infinity, () => true, () => true)[Symbol.iterator]();
  }

  ipOpens(natIp: number | Buffer, fromMs: number, intern: (holder: string) => number): OpenScan {
    let scan = (this.openArrays ??= { n: 0, keys: new Float64Array(256), holders: new Float64Array(256) });
    scan.n = 0;
    const from = this.rel(fromMs);
    const push = (key: number, holder: number) => {
      if (scan.n === scan.keys.length) {
        const keys = new Float64Array(scan.n * 2);
        const holders = new Float64Array(scan.n * 2);
        keys.set(scan.keys);
        holders.set(scan.holders);
        scan.keys = keys;
        scan.holders = holders;
      }
      scan.keys[scan.n] = key;
      scan.holders[scan.n++] = holder;
    };
    for (const refs of this.hours(natIp, fromMs, Infinity)) {
      this.eachInOrder(refs, (p, i) => {
        const t = p.t(i);
        if (t < from) return;
        const code = p.code(i);
        const src = p.srcIp(i);
        if (src == null || !isOpen(code)) return;
        const sport = p.srcPort(i);
        const key = t * OPEN_KEY_SPAN + (p.port(i) + 1) * 1024 + (code % 1024);
        if (typeof src === 'number') push(key, src * SRC_PORT_SPAN + (sport == null ? 0 : sport + 1));
        else push(key, -1 - intern(`${src.toString('hex').toUpperCase()}|${sport ?? ''}`));
      });
    }
    if (scan.keys.length > KEEP_OPENS) this.openArrays = null;
    return scan;
  }

  openAt(natIp: number | Buffer, tMs: number, natPort: number, proto: number, ord: number): NatRow | undefined {
    const rows = this.portRowsIn(natIp, natPort, tMs, tMs + 1).filter((r) => r.code % 1024 === proto && r.src_ip != null && isOpen(r.code));
    return rows.sort((a, b) => a.id - b.id)[ord];
  }

  ipOthers(natIp: number | Buffer, fromMs: number): NatRow[] {
    if (!this.st.others.get(natIp)) return [];
    return this.scan(natIp, fromMs, Infinity, (p, i) => p.srcIp(i) != null && !isOpen(p.code(i)), (r) => r.src_ip != null);
  }

  ipKeyOpens(natIp: number | Buffer, fromMs: number, keys: Iterable<number>): NatRow[] {
    const want = new Set(keys);
    return this.scan(natIp, fromMs, Infinity, (p, i) => p.srcIp(i) != null && isOpen(p.code(i)) && want.has((p.port(i) + 1) * 1024 + (p.code(i) % 1024)), null);
  }

  srcKeys(srcIp: number | Buffer, fromMs: number, toMs: number): { nat_ip: number | Buffer; nat_port: number }[] {
    const lo = this.rel(fromMs);
    const hi = toMs - this.start;
    const out = new Map<string, { nat_ip: number | Buffer; nat_port: number }>();
    const add = (nat: number | Buffer, port: number) => out.set(`${ipKey(nat)}|${port}`, { nat_ip: nat, nat_port: port });
    const nats = new Map<string, number | Buffer>();
    for (let h = hourOf(Math.max(0, lo)); h <= hourOf(Math.max(0, hi)); h++) {
      for (const nat of this.st.seen.all(h, srcIp) as (number | Buffer)[]) {
        nats.set(ipKey(nat), nat);
        for (const ref of this.list(nat, h)) {
          const p = this.part(ref.id);
          for (const i of p.rowsOfSrc(srcIp)) {
            const t = p.t(i);
            if (t >= lo && t <= hi) add(nat, p.port(i));
          }
        }
      }
    }
    for (const nat of nats.values()) for (const r of this.st.blocksOfSrc.all(nat, lo, hi, srcIp) as { nat_ip: number | Buffer; nat_port: number }[]) add(r.nat_ip, r.nat_port);
    return [...out.values()];
  }

  owners(natIp: number | Buffer): string[] {
    const k = ipKey(natIp);
    let o = this.ownerCache.get(k);
    if (!o) {
      o = (this.st.owners.all(natIp) as number[]).map((d) => this.deviceAddress(d));
      if (this.ownerCache.size > 10_000) this.ownerCache.clear();
      this.ownerCache.set(k, o);
    }
    return o;
  }

  /** Whether the device sent anything (a record or a kept line) in [fromMs, toMs], to the minute's first and last (day-stat.ts). */
  deviceActive(address: string, fromMs: number, toMs: number): boolean {
    const id = this.devId.get(address);
    if (id === undefined) return false;
    const lo = Math.floor((fromMs - this.start) / 60_000);
    const hi = Math.floor((toMs - this.start) / 60_000);
    if (hi < 0 || lo > 1439) return false;
    return this.st.active.get(id, lo, hi, toMs - this.start, fromMs - this.start) !== undefined;
  }

  deviceAddress(id: number): string {
    return this.devAddr.get(id) ?? 'unknown';
  }

  loginName(id: number | null | undefined): string | null {
    if (id == null) return null;
    let name = this.loginNames.get(id);
    if (name === undefined) {
      name = (this.st.loginName.get(id) as string | undefined) ?? null;
      if (this.loginNames.size > 100_000) this.loginNames.clear();
      this.loginNames.set(id, name);
    }
    return name;
  }

  loginSources(login: string, fromMs: number, toMs: number): (number | Buffer)[] {
    const id = this.st.loginId.get(login) as number | undefined;
    if (id === undefined || toMs < this.start) return [];
    const out = new Map<number | string, number | Buffer>();
    for (const src of this.st.loginSrcs.all(id, hourOf(Math.max(0, toMs - this.start)), hourOf(Math.max(0, fromMs - this.start))) as (number | Buffer)[]) out.set(ipKey(src), src);
    return [...out.values()];
  }

  /** The exact bytes the device sent for a record: its line's residue decoded against it (one block inflated, ≤ 127 residues walked). */
  rawOf(row: NatRow): Buffer | null {
    const ref = rawRefOf(row.id);
    const got = this.st.rawBlock.get(Math.floor(ref / RAW_BLOCK)) as { n: number; data: Buffer } | undefined;
    if (!got || ref % RAW_BLOCK >= got.n) return null;
    this.lines ??= this.file.lineReader();
    try {
      return this.lines.lineAt(got.data, ref % RAW_BLOCK, row, this.deviceAddress(row.device));
    } catch {
      return null; // a damaged block: `megalog verify` reports the file
    }
  }

  /** The original line of the record `id` of natIp:port (a block's first port) at tMs (ms since the epoch). */
  rawAt(natIp: number | Buffer, port: number, tMs: number, id: number): Buffer | null {
    const row = this.portRowsIn(natIp, port, tMs, tMs + 1).find((r) => r.id === id) ?? (this.st.blockAt.get(natIp, port, tMs - this.start, id) as NatRow | undefined);
    return row ? this.rawOf(row) : null;
  }

  /** EXPLAIN QUERY PLAN details of a statement (tests). */
  plan(sql: string): string[] {
    const n = (sql.match(/\?/g) ?? []).length;
    return (this.file.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...new Array(n).fill(0)) as { detail: string }[]).map((r) => r.detail);
  }

  close(): void {
    this.end();
    this.file.close();
  }
}

/**
 * A map that lets go of entries once their weight passes `limit`, least recently used first as a clock
 * approximates it (a touch sets a bit; the hand spares a set entry once and clears its bit). A touch
 * does not move the entry: deleting and re-adding it on every read left holes that V8's Map walks on
 * each eviction, and a reader evicting parts all the time spent more there than reading them.
 */
class Bounded<K, V> {
  private readonly m = new Map<K, { v: V; used: boolean }>();
  private hand: IterableIterator<[K, { v: V; used: boolean }]> | null = null;
  private total = 0;

  constructor(private readonly limit: number, private readonly weight: (v: V) => number) {}

  get(k: K): V | undefined {
    return this.m.get(k)?.v;
  }

  /** get, and mark the entry used (the clock spares it once). */
  touch(k: K): V | undefined {
    const e = this.m.get(k);
    if (!e) return undefined;
    e.used = true;
    return e.v;
  }

  set(k: K, v: V): V {
    this.m.set(k, { v, used: true });
    this.grew(this.weight(v));
    return v;
  }

  /** An entry's weight grew by `by` in place. */
  grew(by: number): void {
    this.total += by;
    // Two turns of the hand at most: the first clears every bit.
    for (let steps = 2 * this.m.size; this.total > this.limit && this.m.size > 1 && steps > 0; steps--) {
      let next = this.hand?.next();
      if (!next || next.done) next = (this.hand = this.m.entries()).next();
      if (next.done) break;
      const [k, e] = next.value;
      if (e.used) e.used = false;
      else {
        this.m.delete(k);
        this.total -= this.weight(e.v);
      }
    }
  }

  clear(): void {
    this.m.clear();
    this.hand = null;
    this.total = 0;
  }
}
