// Read-only access to day files for the query layer: the few statements a forensic answer needs,
// each one B-tree descent (nat primary key, nat_block, the port summaries, or nat_by_src in schema 1),
// plus the device activity probes behind the no_match / no_data distinction. Opens files read-only;
// never writes, never creates a file. A request reads one snapshot of each file (begin/end).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { constants, inflateRawSync } from 'node:zlib';
import type Database from 'better-sqlite3';
import { dayStart } from '../codes.js';
import { chunkLines, chunkOf, DayFile, isChunked, lineAt } from './dayfile.js';
import { BLOCK_ROW_SQL, MAX_RECORDS_PER_LINE, RAW_BLOCK, summariesCurrent } from './schema.js';
import { STAT_OTHERS } from './day-stat.js';
import { ALL_HOURS, DAY_PART_BITS, dayMask, hasPort, PART_BITS, PIECE_BASE, PIECE_MS, PIECES_PER_HOUR, secondsOf, TIME_PART_BITS } from './ports.js';
import { OPEN_KEY_SPAN, type DayView, type NatRow, type OpenScan, type PortHours } from '../store.js';




/** Most rows whose arrays a reader keeps for its next ipOpens (2 MB). */
const KEEP_OPENS = 1 << 17;

/** The aggregate function READ_SQL.ipOpens hands its rows to (DayReader registers it on its connection). */
const OPENS_FN = 'megalog_opens';


/**
 * A session open with an inside address (events 0 and 4: session and mapping creates, no block): the
 * rows of an IP-only answer's fast path. READ_SQL.ipOthers reads the other rows with an inside address.
 */
const OPEN_ROW_SQL = 'port_end IS NULL AND src_ip IS NOT NULL AND (code % 65536) / 1024 IN (0, 4)';

/**
 * SQL of the lookups, exported so a test can check their plans with EXPLAIN QUERY PLAN. They are
 * written to be index-ordered under both nat layouts: schema 1 clusters nat by (nat_ip, nat_port, t)
 * and indexes (src_ip, t); schema 2 clusters by (nat_ip, t, nat_port) and keeps a per-hour src_seen
 * summary instead of the src index. Every statement starts with one descent of the primary key.
 */
export const READ_SQL = {
  /** Every row of one public ip from t on (per port, time order). */
  ip: 'SELECT * FROM nat WHERE nat_ip = ? AND t >= ?',
  /**
   * IP-only answers (query/address.ts): the session opens of one public ip from t on, handed row by
   * row to a JS aggregate that writes them into typed arrays (OpenScan): the packed key and time, and
   * the holder. Tens of thousands of rows an answer: this is ~2.5× faster than two pluck scans, and
   * ~4× faster than one scan of two columns (better-sqlite3 builds no value a row).
   */
  ipOpens: `SELECT ${OPENS_FN}(t * ${OPEN_KEY_SPAN} + (nat_port + 1) * 1024 + code % 1024, CASE WHEN typeof(src_ip) = 'integer' THEN src_ip * 131072 + ifnull(src_port + 1, 0) ELSE hex(src_ip) || '|' || ifnull(src_port, '') END) FROM nat WHERE nat_ip = ? AND t >= ? AND ${OPEN_ROW_SQL}`,
  /** …and one of them: the (n+1)-th open of a session key (port, protocol) at time t, by id. */
  openAt: `SELECT * FROM nat WHERE nat_ip = ? AND t = ? AND nat_port = ? AND code % 1024 = ? AND ${OPEN_ROW_SQL} ORDER BY id LIMIT 1 OFFSET ?`,
  /** …every other row (blocks, closes)… */
  ipOthers: 'SELECT * FROM nat WHERE nat_ip = ? AND t >= ? AND src_ip IS NOT NULL AND (port_end IS NOT NULL OR (code % 65536) / 1024 NOT IN (0, 4))',
  /** …and the session opens of the keys ((port + 1)·1024 + protocol) listed in a JSON array. */
  ipKeyOpens: `SELECT * FROM nat WHERE nat_ip = ? AND t >= ? AND ${OPEN_ROW_SQL} AND (nat_port + 1) * 1024 + code % 1024 IN (SELECT value FROM json_each(?))`,
  /** Devices that logged a public ip this day. */
  owners: 'SELECT DISTINCT device FROM nat WHERE nat_ip = ?',
  /** Did a device send a record in [lo, hi]? Stops at the first row; a silent device costs a scan. */
  natActive: 'SELECT 1 FROM nat WHERE device = ? AND t BETWEEN ? AND ? LIMIT 1',
  /** …or an unparsed/ignored line? */
  lineActive: 'SELECT 1 FROM line WHERE device = ? AND t BETWEEN ? AND ? LIMIT 1',
  /** Rows of one public ip:port in [from, to) (one hour of the port walk), time order. */
  portIn: 'SELECT * FROM nat WHERE nat_ip = ? AND t >= ? AND t < ? AND nat_port = ?',
  /** Time of the last row of one public ip (one descent: max of the second key column). */
  last: 'SELECT max(t) FROM nat WHERE nat_ip = ?',
  /** Rows of one public ip in [from, to) that may be blocks covering a port: first port in [lo, port] and last ≥ port, or first = port. */
  blocksIn: 'SELECT * FROM nat WHERE nat_ip = ? AND t >= ? AND t < ? AND nat_port BETWEEN ? AND ? AND (port_end >= ? OR nat_port = ?)',
  /** portIn and blocksIn in one scan (an hour without port_time, where both read every row of the address). */
  portOrBlocksIn: 'SELECT * FROM nat WHERE nat_ip = ? AND t >= ? AND t < ? AND (nat_port = ? OR (nat_port BETWEEN ? AND ? AND port_end >= ?))',
  /** One deflate block of original messages. */
  rawBlock: 'SELECT n, data FROM raw WHERE id = ?',
} as const;

/** Subscriber lookups, by layout. */
export const SRC_SQL = {
  /** Schema 1: the public ports an inside address used over a range (nat_by_src). */
  v1: 'SELECT nat_ip, nat_port FROM nat WHERE src_ip = ? AND t BETWEEN ? AND ?',
  /** Schema 2: the public addresses it used in one hour (src_seen primary key)… */
  seen: 'SELECT nat_ip, first, last FROM src_seen WHERE hour = ? AND src_ip = ?',
  /** …then its rows on one of them. */
  rows: 'SELECT nat_ip, nat_port FROM nat WHERE nat_ip = ? AND t BETWEEN ? AND ? AND src_ip = ?',
} as const;

const HOUR_MS = 3_600_000;

/** Every byte value once, in order: instr(BYTE_VALUES, b) − 1 is the value of the 1-byte blob b. */
const BYTE_VALUES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** Blocks that may hold a port (first port in [?, port], last ≥ port or first = port) in [from, to), through nat_block. */
export const BLOCKS_BY_INDEX_SQL = `SELECT * FROM nat INDEXED BY nat_block WHERE nat_ip = ? AND nat_port BETWEEN ? AND ? AND t >= ? AND t < ? AND ${BLOCK_ROW_SQL} AND (port_end >= ? OR nat_port = ?)`;

/** One hour of a focused address: its rows of the focused ports and its blocks, in the file's order. */
interface FocusHour {
  rows: NatRow[];
  byPort: Map<number, number[]>;
  blocks: number[];
}

/** What a subscriber lookup reads once for all the ports it walks on one public address (focusOn). */
interface Focus {
  ports: Set<number>;
  /** Hours without port_time, read whole. */
  hours: Map<number, FocusHour>;
  /** Summary rows by part (port_seen or port_day), each read once. */
  parts: Map<string, unknown>;
}

/** A port_day row of one part. */
type DayRow = { cls: 0 | 1 | 2; hours: Buffer };

/** An hour of one public address: the rows of a set of ports (JSON array), and every block. */
const FOCUS_SQL = 'SELECT * FROM nat WHERE nat_ip = ? AND t >= ? AND t < ? AND (port_end IS NOT NULL OR nat_port IN (SELECT value FROM json_each(?))) ORDER BY t, nat_port, id';

/** One day file opened read-only, with its statements prepared and its device table loaded. */
export class DayReader implements DayView {
  readonly file: DayFile;
  readonly start: number;
  private readonly st: { [K in keyof typeof READ_SQL]: Database.Statement } & { focusIn?: Database.Statement };
  readonly schemaVersion: number;
  /** Owners per public address (a bulk request asks about the same addresses again and again). */
  private readonly ownerCache = new Map<string, string[]>();
  /** Per raw block, the lines last inflated from it: a chunk (its first line `from`), a whole block or a prefix of one. */
  private readonly rawCache = new Map<number, { from: number; plain: Buffer }>();
  private readonly devAddr = new Map<number, string>();
  private readonly devId = new Map<string, number>();
  /** Closed hours of the port summary (0 in files without one). */
  private closed = 0;
  /** File identity and SQLite data_version when the caches above were filled (see current()). */
  private readonly ino: number;
  private version: number;
  private seenSt: { parts: Database.Statement; bits: Database.Statement; blocks: Database.Statement } | null = null;
  /** port_day's rows of a 256-port part, while port_day is current (ports.ts); else null. */
  private daySt: Database.Statement | null = null;
  /** Public addresses (key: number or hex) whose ports a subscriber lookup walks (focusOn). */
  private focus: Map<string, Focus> | null = null;
  private timeSt: Database.Statement | null = null;
  /** ipOpens' arrays, reused by the next scan. */
  private openArrays: OpenScan | null = null;
  /** Where the ipOpens aggregate writes the rows of the scan running now. */
  private sink: { scan: OpenScan; intern: (holder: string) => number } | null = null;
  private versionSt: Database.Statement | null = null;
  /** Hours with complete port_time rows (0 in files without them). */
  private timed = 0;
  /** Last row time per public address (cleared when the file changes). */
  private readonly lastCache = new Map<string, number>();
  /** The file has the nat_block index (written by this version): block rows are one range away in any hour. */
  readonly blockIndex: boolean;
  private blocksIdxSt: Database.Statement | null = null;
  /** Pieces of the day complete (meta port_pieces, ports.ts): port_time rows of the hours not closed yet. */
  private pieces = 0;
  private snapshotSt: Database.Statement | null = null;
  private piecesSt: Database.Statement | null = null;
  /** day_stat kind 4 counts every "other" row of the file (see load). */
  private othersCounted = false;
  private othersSt: Database.Statement | null = null;

  constructor(readonly path: string, readonly day: string) {
    this.file = new DayFile(path, day, { journalMode: '', synchronous: '', cacheSizeMiB: 16, maxPageCount: 0, readonly: true });
    this.start = dayStart(day);
    this.schemaVersion = Number(this.file.meta('schema_version') ?? 1);
    const db = this.file.db;
    // better-sqlite3's types give an aggregate's step one argument; it gets one per SQL argument.
    const step = (_: number, key: number, holder: number | string): number => this.pushOpen(key, holder);
    db.aggregate(OPENS_FN, { start: 0, step: step as (total: number) => number });
    this.st = Object.fromEntries(Object.entries(READ_SQL).map(([k, sql]) => [k, db.prepare(sql)])) as DayReader['st'];
    (this.st.last as Database.Statement).pluck();
    this.ino = statSync(path).ino;
    this.version = -1;
    this.blockIndex = this.has('nat_block');
    if (this.blockIndex) this.blocksIdxSt = db.prepare(BLOCKS_BY_INDEX_SQL);
    this.load();
  }

  /**
   * Start a read transaction: every statement until end() sees one state of the file, the one the
   * caches were (re)loaded from. An answer then reads one snapshot even while the committer writes,
   * and the piece rows an hour's close deletes cannot vanish between reading meta and reading them.
   */
  begin(): void {
    const db = this.file.db;
    if (db.inTransaction) return;
    db.exec('BEGIN');
    this.snapshotSt ??= db.prepare("SELECT value FROM meta WHERE key = 'day'");
    this.snapshotSt.get(); // a deferred BEGIN takes its snapshot at the first read
    if (this.dataVersion() !== this.version) this.load();
  }

  /** End the read transaction begin() started. */
  end(): void {
    if (this.file.db.inTransaction) this.file.db.exec('COMMIT');
  }

  /** (Re)read what this reader caches from the file: devices and closed hours. */
  private load(): void {
    this.version = this.dataVersion();
    this.devAddr.clear();
    this.devId.clear();
    this.ownerCache.clear();
    this.lastCache.clear();
    for (const r of this.file.db.prepare('SELECT id, address FROM device').all() as { id: number; address: string }[]) {
      this.devAddr.set(r.id, r.address);
      this.devId.set(r.address, r.id);
    }
    // The summary table may appear after this reader opened (a writer of this version reopened an older file).
    if (!this.seenSt && this.has('port_seen')) {
      this.seenSt = {
        parts: this.file.db.prepare('SELECT hour, cls, ports FROM port_seen WHERE nat_ip = ? AND part = ?'),
        // Bitmap rows are tested in SQLite (instr in a blob of the 256 byte values gives a byte's value):
        // only the hours with the port, and the short lists, come back to JS.
        bits: this.file.db.prepare('SELECT hour, cls, CASE WHEN length(ports) = 512 THEN X\'FF\' ELSE ports END AS ports FROM port_seen WHERE nat_ip = ? AND part = ? AND (length(ports) <> 512 OR ((instr(?, substr(ports, ?, 1)) - 1) >> ?) & 1)'),
        blocks: this.file.db.prepare('SELECT DISTINCT hour FROM port_seen WHERE nat_ip = ? AND part BETWEEN ? AND ? AND blocks = 1').pluck(),
      };
    }
    this.closed = this.seenSt ? Number(this.file.meta('port_hours') ?? 0) : 0;
    const dayIdx = this.closed === ALL_HOURS && this.has('port_day') && summariesCurrent(this.file.db, 'port_day_pos');
    this.daySt = dayIdx ? (this.daySt ?? this.file.db.prepare('SELECT cls, hours FROM port_day WHERE nat_ip = ? AND part = ?')) : null;
    if (!this.timeSt && this.has('port_time')) this.timeSt = this.file.db.prepare('SELECT times FROM port_time WHERE nat_ip = ? AND hour = ? AND tpart = ?').pluck();
    this.timed = this.timeSt ? Number(this.file.meta('port_time_hours') ?? 0) & this.closed : 0;
    this.pieces = this.timeSt ? Number(this.file.meta('port_pieces') ?? 0) : 0;
    // day_stat's other-row counts cover the file (stats.ts): an address with none needs no ipOthers scan.
    this.othersCounted = Number(this.file.meta('stat_others') ?? 0) === 1 && summariesCurrent(this.file.db);
  }

  /**
   * For a reader kept open between requests: false when the file was removed or replaced (retention,
   * restore). Whether the committer wrote since the caches were filled is asked by begin(), inside
   * the request's snapshot. (Original-line blocks never change once written; their cache stays.)
   */
  current(): boolean {
    try {
      return statSync(this.path).ino === this.ino;
    } catch {
      return false;
    }
  }

  /** SQLite's data_version (changes when another connection commits); prepared once, asked every request. */
  private dataVersion(): number {
    this.versionSt ??= this.file.db.prepare('PRAGMA data_version').pluck();
    return Number(this.versionSt.get());
  }

  /** Where natIp:port may have rows this day, for blocks of at most `maxPorts` ports. */
  portHours(natIp: number | Buffer, port: number, maxPorts: number): PortHours {
    // A mapping without a port (ICMP without id, nat_port −1) is in no summary: nothing is known of
    // any hour (closed 0), so the walk reads each hour of the address from nat.
    const out: PortHours = { closed: port < 0 ? 0 : this.closed, cls: [0, 0, 0], blocks: 0 };
    if (!this.seenSt || this.closed === 0 || port < 0) return out;
    // A subscriber lookup asks about many ports of the same address: its summary rows are read once.
    const f = this.focusOf(natIp);
    const cached = <T>(part: string, read: () => T): T => {
      if (!f) return read();
      let got = f.parts.get(part) as T | undefined;
      if (!got) f.parts.set(part, (got = read()));
      return got;
    };
    if (this.daySt) {
      // A past day: one row per class of the port's 256-port part, with each port's hours.
      const st = this.daySt;
      const off = port & ((1 << DAY_PART_BITS) - 1);
      const part = port >> DAY_PART_BITS;
      for (const r of cached(`d${part}`, () => st.all(natIp, part) as DayRow[])) out.cls[r.cls] |= dayMask(r.hours, off);
    } else {
      const seen = this.seenSt;
      const off = port & ((1 << PART_BITS) - 1);
      // One lookup: bitmaps are tested in SQLite and come back as X'FF' (all bits: hasPort's 1-byte
      // form) when they hold the port. Copying ~70 bitmaps of 512 bytes into JS was a third of a
      // dense day's lookup; one byte of each, still ~0.1 ms.
      const parts = f
        ? cached(String(port >> PART_BITS), () => seen.parts.all(natIp, port >> PART_BITS) as { hour: number; cls: 0 | 1 | 2; ports: Buffer }[])
        : (seen.bits.all(natIp, port >> PART_BITS, BYTE_VALUES, (off >> 3) + 1, off & 7) as { hour: number; cls: 0 | 1 | 2; ports: Buffer }[]);
      for (const r of parts) if (hasPort(r.ports, off)) out.cls[r.cls] |= 1 << r.hour;
    }
    // With nat_block the walk reads blocks from the index, not by the summary's hours.
    if (!this.blockIndex) for (const h of this.seenSt.blocks.all(natIp, Math.max(0, port - maxPorts + 1) >> PART_BITS, port >> PART_BITS) as number[]) out.blocks |= 1 << h;
    return out;
  }

  /** Rows of natIp:port with time in [fromMs, toMs), in time order. */
  portRowsIn(natIp: number | Buffer, port: number, fromMs: number, toMs: number): NatRow[] {
    const f = this.focusHour(natIp, port, fromMs, toMs);
    if (f) return (f.byPort.get(port) ?? []).map((i) => f.rows[i]!);
    return this.st.portIn.all(natIp, this.rel(fromMs), toMs - this.start, port) as NatRow[];
  }

  /**
   * Seconds of `hour` (ascending) at which natIp:port has rows (any protocol), from port_time; null
   * when that hour has no complete port_time (older writer, or not closed): read the whole hour.
   */
  portSeconds(natIp: number | Buffer, port: number, hour: number): number[] | null {
    if (!this.timeSt || !(this.timed & (1 << hour)) || port < 0) return null;
    const blob = this.timeSt.get(natIp, hour, port >> TIME_PART_BITS) as Buffer | undefined;
    return blob ? secondsOf(blob, port) : [];
  }

  /**
   * For an hour not closed: the seconds (ascending) at which natIp:port has rows in the hour's
   * written pieces (ports.ts), and the time (ms since the epoch) up to which they cover it; null when
   * no piece of the hour is written, or the reader is focused on the address (its hours are read whole).
   */
  pieceSeconds(natIp: number | Buffer, port: number, hour: number): { seconds: number[]; until: number } | null {
    const k = Math.min(PIECES_PER_HOUR, this.pieces - hour * PIECES_PER_HOUR);
    if (!this.timeSt || k <= 0 || port < 0 || (this.closed & (1 << hour)) !== 0 || this.focused(natIp)) return null;
    // The part's pieces are neighbours (ports.ts timeRowKey): one range, in piece (time) order.
    this.piecesSt ??= this.file.db.prepare('SELECT times FROM port_time WHERE nat_ip = ? AND hour = ? AND tpart BETWEEN ? AND ? ORDER BY tpart').pluck();
    const seconds: number[] = [];
    const p0 = hour * PIECES_PER_HOUR;
    for (const blob of this.piecesSt.all(natIp, PIECE_BASE + (port >> TIME_PART_BITS), p0, p0 + k - 1) as Buffer[]) for (const s of secondsOf(blob, port)) seconds.push(s);
    return { seconds, until: this.start + hour * HOUR_MS + k * PIECE_MS };
  }

  /** Rows of natIp:port in the given seconds (ascending) of the hour starting at `hourMs`, in time order. */
  portRowsAt(natIp: number | Buffer, port: number, hourMs: number, seconds: readonly number[]): NatRow[] {
    const out: NatRow[] = [];
    for (let i = 0; i < seconds.length; ) {
      let j = i;
      while (j + 1 < seconds.length && seconds[j + 1] === seconds[j]! + 1) j++;
      const from = hourMs + seconds[i]! * 1000;
      const rows = this.portRowsIn(natIp, port, from, hourMs + (seconds[j]! + 1) * 1000);
      for (const r of rows) out.push(r);
      i = j + 1;
    }
    return out;
  }

  /** Time (ms since the epoch) of natIp's last row in this file, −Infinity when it has none. */
  lastRowTime(natIp: number | Buffer): number {
    const k = typeof natIp === 'number' ? String(natIp) : natIp.toString('hex');
    let t = this.lastCache.get(k);
    if (t === undefined) {
      const v = this.st.last.get(natIp) as number | null;
      t = v == null ? -Infinity : this.start + v;
      if (this.lastCache.size > 10_000) this.lastCache.clear();
      this.lastCache.set(k, t);
    }
    return t;
  }

  /** portRowsIn and blockRowsIn of the same range in one scan, in time order (split with coversBlock). */
  portOrBlockRowsIn(natIp: number | Buffer, port: number, maxPorts: number, fromMs: number, toMs: number): NatRow[] {
    // A focused hour already holds these rows (the same set: the port's own rows and covering blocks).
    if (this.focusHour(natIp, port, fromMs, toMs)) return this.blockRowsIn(natIp, port, maxPorts, fromMs, toMs);
    return this.st.portOrBlocksIn.all(natIp, this.rel(fromMs), toMs - this.start, port, Math.max(0, port - maxPorts + 1), port, port) as NatRow[];
  }

  /** Block rows of natIp covering `port` (blocks of at most `maxPorts` ports) with time in [fromMs, toMs). */
  blockRowsIn(natIp: number | Buffer, port: number, maxPorts: number, fromMs: number, toMs: number): NatRow[] {
    // A block event that names no port is stored at port −1 (no range): it is the block "holding" −1.
    const lo = port < 0 ? port : Math.max(0, port - maxPorts + 1);
    const f = this.focusHour(natIp, port, fromMs, toMs);
    if (f) {
      // The statement's condition on the hour's blocks and the port's own rows, in the file's order.
      const idx = [...new Set([...f.blocks, ...(f.byPort.get(port) ?? [])])].sort((a, b) => a - b);
      // (written so that a portless key, port −1, keeps its own rows as portOrBlocksIn does)
      return idx.map((i) => f.rows[i]!).filter((r) => r.nat_port === port || (r.nat_port >= lo && r.nat_port <= port && r.port_end != null && r.port_end >= port));
    }
    if (this.blocksIdxSt) return this.blocksIdxSt.all(natIp, lo, port, this.rel(fromMs), toMs - this.start, port, port) as NatRow[];
    return this.st.blocksIn.all(natIp, this.rel(fromMs), toMs - this.start, lo, port, port, port) as NatRow[];
  }

  /**
   * A subscriber lookup walks many ports of one public address, each walk reading whole hours of the
   * address (the nat key is (nat_ip, t, nat_port)). While focused, the first walk to ask for an hour
   * reads the rows of all the focused ports (and the hour's blocks) in one pass, and the others are
   * served from them. Until unfocus(); ports not focused are read as usual.
   */
  focusOn(natIp: number | Buffer, ports: Iterable<number>): void {
    const k = typeof natIp === 'number' ? String(natIp) : natIp.toString('hex');
    this.focus ??= new Map();
    this.focus.set(k, { ports: new Set(ports), hours: new Map(), parts: new Map() });
  }

  unfocus(): void {
    this.focus = null;
  }

  private focusOf(natIp: number | Buffer): Focus | undefined {
    return this.focus?.get(typeof natIp === 'number' ? String(natIp) : natIp.toString('hex'));
  }

  private focused(natIp: number | Buffer): boolean {
    return !!this.focusOf(natIp);
  }

  private focusHour(natIp: number | Buffer, port: number, fromMs: number, toMs: number): FocusHour | null {
    const f = this.focusOf(natIp);
    const h = (fromMs - this.start) / HOUR_MS;
    if (!f || !f.ports.has(port) || toMs - fromMs !== HOUR_MS || !Number.isInteger(h) || h < 0 || h > 23) return null;
    let got = f.hours.get(h);
    if (!got) {
      this.st.focusIn ??= this.file.db.prepare(FOCUS_SQL);
      const rows = this.st.focusIn.all(natIp, h * HOUR_MS, (h + 1) * HOUR_MS, JSON.stringify([...f.ports])) as NatRow[];
      got = { rows, byPort: new Map(), blocks: [] };
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        if (r.port_end != null) got.blocks.push(i);
        let l = got.byPort.get(r.nat_port);
        if (!l) got.byPort.set(r.nat_port, (l = []));
        l.push(i);
      }
      f.hours.set(h, got);
    }
    return got;
  }

  /** The reader for `<dir>/<day>.db`, or null when there is no such file. */
  static open(dir: string, day: string): DayReader | null {
    const path = join(dir, `${day}.db`);
    if (!existsSync(path)) return null;
    return new DayReader(path, day);
  }

  /** Every row of natIp from fromMs on (each port's rows in time order). */
  ipRows(natIp: number | Buffer, fromMs: number): IterableIterator<NatRow> {
    return this.st.ip.iterate(natIp, this.rel(fromMs)) as IterableIterator<NatRow>;
  }

  /**
   * Session opens of natIp from fromMs on, packed (see OpenScan), in the file's order. `intern` numbers
   * IPv6 holders (from 0, the same string always the same number).
   */
  ipOpens(natIp: number | Buffer, fromMs: number, intern: (holder: string) => number): OpenScan {
    // The arrays are kept for the next scan (see OpenScan): allocating them per answer made V8 run
    // a full collection every few IP-only answers.
    const scan = (this.openArrays ??= { n: 0, keys: new Float64Array(256), holders: new Float64Array(256) });
    scan.n = 0;
    this.sink = { scan, intern };
    try {
      this.st.ipOpens.get(natIp, this.rel(fromMs));
    } finally {
      this.sink = null;
      // Arrays grown past KEEP_OPENS rows (a dense day's address) are not kept: 16 B a row, per open reader.
      if (scan.keys.length > KEEP_OPENS) this.openArrays = null;
    }
    return scan;
  }

  /** One row of READ_SQL.ipOpens, into the scan running now. */
  private pushOpen(key: number, holder: number | string): number {
    const sink = this.sink;
    if (!sink) throw new Error(`${OPENS_FN} called outside DayReader.ipOpens`);
    const { scan } = sink;
    if (scan.n === scan.keys.length) {
      const keys = new Float64Array(scan.n * 2);
      const holders = new Float64Array(scan.n * 2);
      keys.set(scan.keys);
      holders.set(scan.holders);
      scan.keys = keys;
      scan.holders = holders;
    }
    scan.keys[scan.n] = key;
    scan.holders[scan.n++] = typeof holder === 'number' ? holder : -1 - sink.intern(holder);
    return 0;
  }

  /** The (ord+1)-th session open (by id) of natIp:natPort/proto at tMs (ms since the epoch). */
  openAt(natIp: number | Buffer, tMs: number, natPort: number, proto: number, ord: number): NatRow | undefined {
    return this.st.openAt.get(natIp, tMs - this.start, natPort, proto, ord) as NatRow | undefined;
  }

  /** The rows of natIp from fromMs on that ipOpens leaves out (blocks, closes), in the file's order. */
  ipOthers(natIp: number | Buffer, fromMs: number): NatRow[] {
    // Create-only logs (MikroTik) have none: one descent in day_stat instead of a scan of every row
    // of the address (a quarter of an IP-only answer on a dense day).
    if (this.othersCounted) {
      this.othersSt ??= this.file.db.prepare(`SELECT n FROM day_stat WHERE kind = ${STAT_OTHERS} AND hour = -1 AND key = ?`).pluck();
      if (!this.othersSt.get(natIp)) return [];
    }
    return this.st.ipOthers.all(natIp, this.rel(fromMs)) as NatRow[];
  }

  /** The session opens of natIp from fromMs on of the keys ((nat_port + 1)·1024 + protocol) given, in the file's order. */
  ipKeyOpens(natIp: number | Buffer, fromMs: number, keys: Iterable<number>): NatRow[] {
    return this.st.ipKeyOpens.all(natIp, this.rel(fromMs), JSON.stringify([...keys])) as NatRow[];
  }


  /** Distinct public (ip, port) pairs inside address srcIp used with time in [fromMs, toMs]. */
  srcKeys(srcIp: number | Buffer, fromMs: number, toMs: number): { nat_ip: number | Buffer; nat_port: number }[] {
    const lo = this.rel(fromMs);
    const hi = toMs - this.start;
    const db = this.file.db;
    let rows: { nat_ip: number | Buffer; nat_port: number }[] = [];
    // Schema 1 files keep nat_by_src (they may also get an empty src_seen from a newer DDL).
    if (this.has('nat_by_src')) {
      rows = db.prepare(SRC_SQL.v1).all(srcIp, lo, hi) as typeof rows;
    } else if (this.has('src_seen')) {
      const seen = db.prepare(SRC_SQL.seen);
      const byNat = db.prepare(SRC_SQL.rows);
      const nats = new Map<string, { nat: number | Buffer; first: number; last: number }>();
      for (let h = Math.max(0, Math.floor(lo / HOUR_MS)); h <= Math.min(23, Math.floor(hi / HOUR_MS)); h++) {
        for (const r of seen.all(h, srcIp) as { nat_ip: number | Buffer; first: number; last: number }[]) {
          const k = typeof r.nat_ip === 'number' ? String(r.nat_ip) : Buffer.from(r.nat_ip).toString('hex');
          const e = nats.get(k);
          if (e) {
            e.first = Math.min(e.first, r.first);
            e.last = Math.max(e.last, r.last);
          } else nats.set(k, { nat: r.nat_ip, first: r.first, last: r.last });
        }
      }
      for (const n of nats.values()) rows.push(...(byNat.all(n.nat, Math.max(lo, n.first), Math.min(hi, n.last), srcIp) as typeof rows));
    }
    const out = new Map<string, { nat_ip: number | Buffer; nat_port: number }>();
    for (const r of rows) out.set(`${typeof r.nat_ip === 'number' ? r.nat_ip : Buffer.from(r.nat_ip).toString('hex')}|${r.nat_port}`, r);
    return [...out.values()];
  }

  private rel(ms: number): number {
    return Number.isFinite(ms) ? ms - this.start : Number.MIN_SAFE_INTEGER;
  }

  /** Whether the file has a table or index of that name (layouts differ between schema versions). */
  has(name: string): boolean {
    return this.file.db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(name) !== undefined;
  }

  /** Addresses of the devices that logged natIp in this file. */
  owners(natIp: number | Buffer): string[] {
    const k = typeof natIp === 'number' ? String(natIp) : natIp.toString('hex');
    let o = this.ownerCache.get(k);
    if (!o) {
      o = (this.st.owners.all(natIp) as { device: number }[]).map((r) => this.deviceAddress(r.device));
      if (this.ownerCache.size > 10_000) this.ownerCache.clear();
      this.ownerCache.set(k, o);
    }
    return o;
  }

  /** Whether the device at `address` sent anything (a record or a kept line) with time in [fromMs, toMs]. */
  deviceActive(address: string, fromMs: number, toMs: number): boolean {
    const id = this.devId.get(address);
    if (id === undefined) return false;
    const lo = fromMs - this.start;
    const hi = toMs - this.start;
    return this.st.natActive.get(id, lo, hi) !== undefined || this.st.lineActive.get(id, lo, hi) !== undefined;
  }

  deviceAddress(id: number): string {
    return this.devAddr.get(id) ?? 'unknown';
  }

  /**
   * The exact bytes the device sent for a nat row. A chunked block (dayfile.ts) inflates only the
   * chunk of that line (~60 KB). A whole block is 1,024 lines (~250 KB inflated): only the share of
   * it up to that line (plus a margin) is inflated, the whole block when that falls short.
   */
  rawOf(row: Pick<NatRow, 'id'>): Buffer | null {
    // Schema 1: id = raw_ref·64 + k; schema 2: id = raw_ref + k·2^32 (see schema.ts).
    const ref = this.schemaVersion < 2 ? Math.floor(row.id / MAX_RECORDS_PER_LINE) : row.id % 2 ** 32;
    const block = Math.floor(ref / RAW_BLOCK);
    let index = ref % RAW_BLOCK;
    const cached = this.rawCache.get(block);
    const hit = cached && index >= cached.from && lineAt(cached.plain, index - cached.from);
    if (hit) return Buffer.from(hit);
    const got = this.st.rawBlock.get(block) as { n: number; data: Buffer } | undefined;
    if (!got || index >= got.n) return null;
    let { n, data } = got;
    let from = 0;
    let dict: Buffer | null = null;
    if (isChunked(data)) {
      const per = chunkLines(data);
      const c = chunkOf(data, Math.floor(index / per));
      dict = this.file.dictionary();
      if (!c || !dict) return null;
      data = c;
      from = index - (index % per);
      n = Math.min(per, n - from);
      index -= from;
    }
    // Compressed size grows about linearly with the lines: an eighth of the block and 1 KB past the line's share.
    const cut = Math.ceil((data.length * (index + 1)) / n) + (data.length >> 3) + 1024;
    // One output chunk (no concatenation): blocks inflate to ~7× their compressed size.
    const chunkSize = Math.max(16 * 1024, Math.min(cut, data.length) * 10);
    const opts = dict ? { dictionary: dict } : {};
    let plain = cut < data.length ? inflateRawSync(data.subarray(0, cut), { ...opts, finishFlush: constants.Z_SYNC_FLUSH, chunkSize }) : null;
    let line = plain && lineAt(plain, index);
    if (!line) {
      plain = inflateRawSync(data, { ...opts, chunkSize: Math.max(16 * 1024, data.length * 10) });
      line = lineAt(plain, index);
    }
    // A few blocks are kept: a bulk answer or an IP-only list reads neighbouring lines.
    if (this.rawCache.size >= 8) this.rawCache.delete(this.rawCache.keys().next().value as number);
    this.rawCache.delete(block);
    this.rawCache.set(block, { from, plain: plain! });
    return line ? Buffer.from(line) : null;
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
