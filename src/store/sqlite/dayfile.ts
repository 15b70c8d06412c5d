// One day file: open with the configured pragmas, write a day's share of a batch in one transaction,
// and read it back (records, original lines, counters). The layout is in schema.ts: session records
// go into packed pieces per (public address, hour), merged by level and packed into port-range parts
// once the hour is over; port blocks into blk; the original lines into deflated raw blocks.
import Database from 'better-sqlite3';
import { deflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';
import type { NatRecord } from '../../parse/types.js';
import { eventCode, eventName, ipFromDb, ipToDb, isBlockRow, protoCode, protoName } from '../codes.js';
import { fault } from '../../config/fault.js';
import { ensureMode, MODE } from '../../core/fs.js';
import { DAY_STAT_DDL, DayStats } from './day-stat.js';
import { CLOSE_GRACE_MS, DDL, FANOUT, HOUR_MS, ID_RECORD_STEP, LVL_PART, MAX_RECORDS_PER_LINE, PART_ROWS, RAW_BLOCK, SCHEMA_VERSION, rawRefOf } from './schema.js';
import { compareRows, encodePart, Part } from './part.js';
import type { DayCommitResult, DayLine, NatRow } from '../store.js';

export type { DayCommitResult, DayLine, NatRow };

/**
 * deflate level of raw blocks (1024 lines). On the bench's MikroTik mix: 6 → 34.6 B/line at ~200 k
 * lines/s of one core; 5 → 36.8 B at ~300 k; 9 → 34.2 B at ~150 k; brotli at any quality within
 * 1 B of deflate on blocks this size. Compression was 15 % of the committer thread at level 6.
 */
export const RAW_DEFLATE_LEVEL = 5;
/**
 * Raw blocks written with a day dictionary are cut in chunks of RAW_CHUNK lines deflated apart, so
 * that one line costs inflating ~60 KB (~0.1 ms) instead of ~250 KB. On the bench's MikroTik mix
 * (lines of ~245 B, level 5), offset table included: 1,024-line blocks 36.8 B/line; 256-line chunks
 * 37.8 B without a dictionary, 36.6 B with 32 KB of the day's first lines (8 KB: 36.8 B); 128-line
 * chunks 36.9 B (~0.06 ms a line) but twice the deflate streams to set up on the committer's thread
 * (each loads the dictionary), 64: 37.3 B, 32: 38.1 B.
 *
 *   chunked block   0x07, u16 LE lines per chunk c, u16 LE chunks k, k × u32 LE end offset of
 *                   chunk j after the header, chunks; chunk j = deflateRaw(lines j·c …, dictionary
 *                   = meta raw_dict). c is written, so RAW_CHUNK may change between versions.
 *   whole block     deflateRaw(all lines): the first byte of a deflate stream never has BTYPE 11
 *                   (bits 1–2 set), so 0x07 cannot start one.
 *   meta raw_dict   ≤ RAW_DICT_BYTES of the first commit's packed lines, set once per file (by the
 *                   first commit with at least RAW_DICT_MIN bytes of lines; blocks before are whole).
 */
export const RAW_CHUNK = 256;
export const CHUNKED = 0x07;
const RAW_DICT_BYTES = 32 * 1024;
const RAW_DICT_MIN = 8 * 1024;

export interface DayOptions {
  journalMode: string;
  synchronous: string;
  cacheSizeMiB: number;
  maxPageCount: number;
  readonly?: boolean;
}

/** The rec rows of one (public address, hour) as the writer tracks them. */
interface Group {
  natIp: number | Buffer;
  hour: number;
  /** Pieces per level (rec.lvl ≥ 0). */
  levels: number[];
  /** Records in pieces, and in parts (a closed hour). */
  pieceRows: number;
  partRows: number;
  /** Commit that last wrote a piece of it (this process's count). */
  lastCommit: number;
}

/** Hours of src_seen pairs the writer remembers (older hours get INSERT OR IGNORE for each record). */
const SEEN_HOURS = 3;
/** Most records one commit re-packs when closing hours (the rest waits for the next commit). */
const CLOSE_BUDGET = 400_000;

const ipKey = (ip: number | Buffer): string => (typeof ip === 'number' ? String(ip) : ip.toString('hex'));
/** A number for (IPv4 address, small value < 2^16) pairs, else a string: map keys on the commit path without a string a record. */
const pairKey = (ip: number | Buffer, v: number): number | string => (typeof ip === 'number' ? ip * 65536 + v : `${ip.toString('hex')}|${v}`);

export class DayFile {
  readonly db: Database.Database;
  private readonly dayStartMs: number;
  private readonly devices = new Map<string, number>();
  private readonly vocab = new Map<string, number>();
  private spoolPos: number;
  private readonly st: ReturnType<DayFile['prepare']>;
  /** Per-day counts for the daily view (day-stat.ts), kept by writers. */
  private readonly stats: DayStats | null = null;
  /** Dictionary of chunked raw blocks (meta raw_dict), null until the file has one. */
  rawDict: Buffer | null = null;
  /** Writer: rec rows by `${ipKey}|${hour}`, loaded on open. */
  private readonly groups = new Map<string, Group>();
  /** Writer: (public address, device) pairs in `owner` (pairKey). */
  private readonly owners = new Set<number | string>();
  private commits = 0;
  /**
   * Writer: (subscriber → public address) pairs known to be in src_seen, for the SEEN_HOURS hours
   * written last: a subscriber's pair is inserted once an hour, not once a record. One public address
   * per subscriber and hour is the usual case, kept as a value; a Set once there are more.
   */
  private readonly seen = new Map<number, Map<number | string, number | string | Set<number | string>>>();

  constructor(readonly path: string, readonly day: string, opts: DayOptions) {
    if (!opts.readonly && path !== ':memory:') ensureMode(path, MODE.data);
    this.db = new Database(path, { readonly: !!opts.readonly, fileMustExist: !!opts.readonly, timeout: 5000 });
    this.dayStartMs = Date.parse(`${day}T00:00:00Z`);
    if (!opts.readonly) {
      this.db.pragma(`journal_mode = ${opts.journalMode}`);
      this.db.pragma(`synchronous = ${opts.synchronous}`);
      this.db.pragma(`cache_size = ${-opts.cacheSizeMiB * 1024}`);
      this.db.pragma('temp_store = MEMORY');
      if (opts.maxPageCount > 0) this.db.pragma(`max_page_count = ${opts.maxPageCount}`);
      const version = this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'meta'").get() ? (this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() as number | undefined) : SCHEMA_VERSION;
      if (version !== undefined && Number(version) !== SCHEMA_VERSION) throw Object.assign(new Error(`${path}: day file of schema ${version}, this version writes ${SCHEMA_VERSION}`), { code: 'SQLITE_CORRUPT' });
      this.db.transaction(() => {
        this.db.exec(DDL);
        this.db.exec(DAY_STAT_DDL);
      })();
      this.db.prepare(`INSERT OR IGNORE INTO meta VALUES ('schema_version', ?), ('day', ?), ('spool_pos', 0), ('records', 0), ('unparsed', 0), ('ignored', 0), ('lines', 0)`).run(SCHEMA_VERSION, day);
    }
    this.spoolPos = Number(this.meta('spool_pos') ?? 0);
    this.st = this.prepare();
    this.rawDict = (this.meta('raw_dict') as Buffer | undefined) ?? null;
    if (!opts.readonly) {
      this.stats = new DayStats(this.db);
      this.reload();
    }
  }

  private prepare() {
    const ro = this.db.readonly;
    return {
      meta: this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
      setMeta: ro ? null : this.db.prepare('UPDATE meta SET value = ? WHERE key = ?'),
      putMeta: ro ? null : this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
      addMeta: ro ? null : this.db.prepare('UPDATE meta SET value = value + ? WHERE key = ?'),
      nextRaw: this.db.prepare('SELECT coalesce(max(id), 0) + 1 FROM raw').pluck(),
      insRaw: ro ? null : this.db.prepare('INSERT INTO raw (id, n, data) VALUES (?, ?, ?)'),
      insRec: ro ? null : this.db.prepare('INSERT INTO rec (nat_ip, hour, lvl, port_lo, port_hi, n, t_max, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      recOf: this.db.prepare('SELECT id, data FROM rec WHERE nat_ip = ? AND hour = ?'),
      recAt: this.db.prepare('SELECT id, data FROM rec WHERE nat_ip = ? AND hour = ? AND lvl = ?'),
      delRec: ro ? null : this.db.prepare('DELETE FROM rec WHERE id = ?'),
      insBlk: ro ? null : this.db.prepare('INSERT INTO blk VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      insOwner: ro ? null : this.db.prepare('INSERT OR IGNORE INTO owner VALUES (?, ?)'),
      upSeen: ro
        ? null
        : this.db.prepare('INSERT OR IGNORE INTO src_seen VALUES (?, ?, ?)'),
      insLine: ro ? null : this.db.prepare('INSERT INTO line (id, t, device, status, reason) VALUES (?, ?, ?, ?, ?)'),
      insDevice: ro ? null : this.db.prepare('INSERT INTO device (address) VALUES (?)'),
      insVocab: ro ? null : this.db.prepare('INSERT INTO vocab (kind, name, id) VALUES (?, ?, (SELECT coalesce(max(id), 0) + 1 FROM vocab WHERE kind = ?)) RETURNING id').pluck(),
      raw: this.db.prepare('SELECT data FROM raw WHERE id = ?').pluck(),
    };
  }

  /** (Re)load what the writer caches from the file: devices, vocabulary, rec groups, owners. */
  private reload(): void {
    this.devices.clear();
    this.vocab.clear();
    this.groups.clear();
    this.owners.clear();
    this.seen.clear();
    this.rawDict = (this.meta('raw_dict') as Buffer | undefined) ?? null;
    for (const r of this.db.prepare('SELECT id, address FROM device').all() as { id: number; address: string }[]) this.devices.set(r.address, r.id);
    for (const r of this.db.prepare('SELECT kind, name, id FROM vocab').all() as { kind: string; name: string; id: number }[]) this.vocab.set(`${r.kind}\0${r.name}`, r.id);
    for (const r of this.db.prepare('SELECT nat_ip, hour, lvl, count(*) AS k, sum(n) AS n FROM rec GROUP BY nat_ip, hour, lvl').all() as { nat_ip: number | Buffer; hour: number; lvl: number; k: number; n: number }[]) {
      const g = this.group(r.nat_ip, r.hour);
      if (r.lvl === LVL_PART) g.partRows += r.n;
      else {
        g.levels[r.lvl] = r.k;
        g.pieceRows += r.n;
      }
    }
    for (const r of this.db.prepare('SELECT nat_ip, device FROM owner').all() as { nat_ip: number | Buffer; device: number }[]) this.owners.add(pairKey(r.nat_ip, r.device));
  }

  /** Whether (hour, src, natIp) is new to src_seen as far as the writer knows (and note it). */
  private newSeen(hour: number, src: number | string, natIp: number | Buffer): boolean {
    let byHour = this.seen.get(hour);
    if (!byHour) {
      this.seen.set(hour, (byHour = new Map()));
      while (this.seen.size > SEEN_HOURS) this.seen.delete(this.seen.keys().next().value as number);
    }
    const nat = typeof natIp === 'number' ? natIp : natIp.toString('hex');
    const known = byHour.get(src);
    if (known === undefined) byHour.set(src, nat);
    else if (known === nat) return false;
    else if (known instanceof Set) {
      if (known.has(nat)) return false;
      known.add(nat);
    } else byHour.set(src, new Set([known, nat]));
    return true;
  }

  private group(natIp: number | Buffer, hour: number): Group {
    const k = `${ipKey(natIp)}|${hour}`;
    let g = this.groups.get(k);
    if (!g) this.groups.set(k, (g = { natIp, hour, levels: [], pieceRows: 0, partRows: 0, lastCommit: -1 }));
    return g;
  }

  meta(key: string): unknown {
    return this.st ? this.st.meta.get(key) : this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key);
  }

  /** Spool position committed into this file. */
  get committedPos(): number {
    return this.spoolPos;
  }

  /**
   * Write this day's share of a batch in ONE transaction, skipping messages at or below the
   * committed spool position, and move the position to `batchEnd`. `blocks`: the raw blocks of
   * `lines`, deflated ahead (used when no line is skipped).
   */
  commit(lines: DayLine[], batchEnd: number, blocks?: RawBlocks): DayCommitResult {
    const res: DayCommitResult = { records: 0, lines: 0, unparsed: 0, ignored: 0, skipped: 0 };
    const todo = lines.filter((l) => l.end > this.spoolPos);
    res.skipped = lines.length - todo.length;
    if (batchEnd <= this.spoolPos) return res;
    const st = this.st;
    const stats = this.stats!;
    const commitNo = ++this.commits;
    const tx = this.db.transaction(() => {
      const pieces = new Map<number | string, NatRow[]>();
      let blockId = Number(st.nextRaw.get());
      if (!this.rawDict) {
        const dict = rawDictionary(todo);
        if (dict) {
          st.putMeta!.run('raw_dict', dict);
          this.rawDict = dict;
        }
      }
      for (let b = 0; b < todo.length; b += RAW_BLOCK) {
        const chunk = todo.slice(b, b + RAW_BLOCK);
        const ahead = todo.length === lines.length ? blocks?.get(b / RAW_BLOCK, this.rawDict) : undefined;
        st.insRaw!.run(blockId, chunk.length, ahead ?? packBlock(chunk, this.rawDict));
        chunk.forEach((l, i) => {
          const rawRef = blockId * RAW_BLOCK + i;
          const device = this.deviceId(l.device);
          res.lines++;
          if (l.status === 'records') {
            const vendor = this.vocabId('vendor', l.vendor ?? 'unknown');
            const recs = l.records;
            for (let k = 0; k < recs.length && k < MAX_RECORDS_PER_LINE; k++) {
              const r = recs[k]!;
              const natIp = ipDb(r.nat_ip);
              if (natIp == null) continue;
              const blockRange = r.nat_port_start != null;
              const t = (r.time ?? l.time) - this.dayStartMs;
              const srcIp = ipDb(r.src_ip);
              const event = eventCode(r.event);
              const code = vendor * 65536 + event * 1024 + protoCode(r.proto);
              const row: NatRow = {
                nat_ip: natIp,
                nat_port: blockRange ? r.nat_port_start! : r.nat_port ?? -1,
                t,
                id: rawRef + k * ID_RECORD_STEP,
                port_end: blockRange ? r.nat_port_end : null,
                src_ip: srcIp,
                src_port: r.src_port,
                dst_ip: ipDb(r.dst_ip),
                dst_port: r.dst_port,
                code,
                device,
              };
              const block = isBlockRow(row.port_end, code);
              // "other": what DayReader.ipOthers reads (an inside address, and a block or not a session open)
              stats.record(t, device, code % 1024, natIp, srcIp != null && (block || (event !== 0 && event !== 4)));
              const ok = pairKey(natIp, device);
              if (!this.owners.has(ok)) {
                st.insOwner!.run(natIp, device);
                this.owners.add(ok);
              }
              if (block) st.insBlk!.run(natIp, row.nat_port, t, row.id, row.port_end, srcIp, r.src_port, row.dst_ip, r.dst_port, code, device);
              else {
                const gk = pairKey(natIp, hourOf(t));
                let list = pieces.get(gk);
                if (!list) pieces.set(gk, (list = []));
                list.push(row);
              }
              if (srcIp != null) {
                const hour = hourOf(t);
                const key = typeof srcIp === 'number' ? srcIp : r.src_ip!;
                if (this.newSeen(hour, key, natIp)) st.upSeen!.run(hour, srcIp, natIp);
              }
              res.records++;
            }
          } else {
            const reason = l.reason ? this.vocabId('reason', l.reason) : null;
            st.insLine!.run(rawRef, l.time - this.dayStartMs, device, l.status === 'unparsed' ? 1 : 2, reason);
            stats.line(l.time - this.dayStartMs, device, l.status === 'unparsed' ? 1 : 2);
            if (l.status === 'unparsed') res.unparsed++;
            else res.ignored++;
          }
        });
        blockId++;
      }
      // One piece per (public address, hour), then merges of full levels.
      for (const rows of pieces.values()) {
        const g = this.group(rows[0]!.nat_ip, hourOf(rows[0]!.t));
        rows.sort(compareRows);
        this.writeRows(g, 0, rows);
        g.pieceRows += rows.length;
        g.lastCommit = commitNo;
        for (let lvl = 0; (g.levels[lvl] ?? 0) >= FANOUT; lvl++) this.mergeLevel(g, lvl);
      }
      this.closeHours(commitNo, Date.now() - this.dayStartMs, CLOSE_BUDGET);
      stats.flush();
      st.addMeta!.run(res.records, 'records');
      st.addMeta!.run(res.unparsed, 'unparsed');
      st.addMeta!.run(res.ignored, 'ignored');
      st.addMeta!.run(res.lines, 'lines');
      st.setMeta!.run(batchEnd, 'spool_pos');
      fault('commit'); // tests: die with the transaction written but not committed
    });
    try {
      tx();
    } catch (err) {
      // The cached ids, groups and dictionary may name rows the rollback removed.
      stats.clear();
      this.reload();
      throw err;
    }
    this.spoolPos = batchEnd;
    return res;
  }

  /** Write sorted rows as one rec row of `lvl` (a piece) and count it. */
  private writeRows(g: Group, lvl: number, rows: NatRow[]): void {
    let tMax = 0;
    for (const r of rows) if (r.t > tMax) tMax = r.t;
    this.st.insRec!.run(g.natIp, g.hour, lvl, rows[0]!.nat_port, rows[rows.length - 1]!.nat_port, rows.length, tMax, encodePart(rows));
    if (lvl >= 0) g.levels[lvl] = (g.levels[lvl] ?? 0) + 1;
  }

  /** Every record of the rec rows given (id, data), deleted, sorted. */
  private takeRows(natIp: number | Buffer, recs: { id: number; data: Buffer }[]): NatRow[] {
    const rows: NatRow[] = [];
    for (const r of recs) {
      for (const row of new Part(r.data).rows(natIp)) rows.push(row);
      this.st.delRec!.run(r.id);
      fault('pack'); // tests: die with pieces deleted and their merge not written yet
    }
    return rows.sort(compareRows);
  }

  /** Merge the pieces of level `lvl` into one of the next. */
  private mergeLevel(g: Group, lvl: number): void {
    const rows = this.takeRows(g.natIp, this.st.recAt.all(g.natIp, g.hour, lvl) as { id: number; data: Buffer }[]);
    g.levels[lvl] = 0;
    if (rows.length) this.writeRows(g, lvl + 1, rows);
  }

  /** Pack an hour into parts: disjoint port ranges of at most PART_ROWS records (a port is never split). */
  private closeGroup(g: Group): number {
    const rows = this.takeRows(g.natIp, this.st.recOf.all(g.natIp, g.hour) as { id: number; data: Buffer }[]);
    for (let i = 0; i < rows.length; ) {
      let j = Math.min(rows.length, i + PART_ROWS);
      while (j < rows.length && rows[j]!.nat_port === rows[j - 1]!.nat_port) j++;
      this.writeRows(g, LVL_PART, rows.slice(i, j));
      i = j;
    }
    g.levels = [];
    g.pieceRows = 0;
    g.partRows = rows.length;
    return rows.length;
  }

  /**
   * Close the hours that are over (CLOSE_GRACE_MS past their end, by `clock`, ms since the day's
   * start) and that this commit did not write, up to `budget` records. An hour already closed is
   * packed again only once its late pieces reach a quarter of its parts (else readers read both).
   */
  private closeHours(commitNo: number, clock: number, budget: number): void {
    for (const g of this.groups.values()) {
      if (budget <= 0) return;
      if (g.pieceRows === 0 || g.lastCommit === commitNo) continue;
      if ((g.hour + 1) * HOUR_MS + CLOSE_GRACE_MS > clock) continue;
      if (g.partRows > 0 && g.pieceRows * 4 < g.partRows) continue;
      budget -= this.closeGroup(g);
    }
  }

  /** Pack every hour's pieces into parts (the day is over, before it is sealed). */
  closeAllHours(): void {
    if (![...this.groups.values()].some((g) => g.pieceRows > 0)) return;
    const tx = this.db.transaction(() => {
      for (const g of this.groups.values()) if (g.pieceRows > 0) this.closeGroup(g);
    });
    try {
      tx();
    } catch (err) {
      this.reload();
      throw err;
    }
  }

  private deviceId(address: string): number {
    let id = this.devices.get(address);
    if (id === undefined) {
      id = Number(this.st.insDevice!.run(address).lastInsertRowid);
      this.devices.set(address, id);
    }
    return id;
  }

  private vocabId(kind: string, name: string): number {
    const key = `${kind}\0${name}`;
    let id = this.vocab.get(key);
    if (id === undefined) {
      id = Number(this.st.insVocab!.get(kind, name, kind));
      this.vocab.set(key, id);
    }
    return id;
  }

  /** The dictionary of chunked raw blocks (re-read while absent: a writer may have set it since this opened). */
  dictionary(): Buffer | null {
    return (this.rawDict ??= (this.meta('raw_dict') as Buffer | undefined) ?? null);
  }

  /** The exact bytes of the message behind a raw ref, or null. */
  rawLine(rawRef: number): Buffer | null {
    const block = Math.floor(rawRef / RAW_BLOCK);
    const data = this.st.raw.get(block) as Buffer | undefined;
    if (!data) return null;
    return blockLines(data, this.dictionary())[rawRef % RAW_BLOCK] ?? null;
  }

  /** Every original message of this day in commit order (tests, export, re-parse). */
  *allRawLines(): Generator<Buffer> {
    for (const data of this.db.prepare('SELECT data FROM raw ORDER BY id').pluck().iterate() as Iterable<Buffer>) {
      yield* blockLines(data, this.dictionary());
    }
  }

  /** Every record of the file, packed and blocks (tests, verify): unordered. */
  *allRows(): Generator<NatRow> {
    for (const r of this.db.prepare('SELECT nat_ip, data FROM rec').iterate() as Iterable<{ nat_ip: number | Buffer; data: Buffer }>) yield* new Part(r.data).rows(r.nat_ip);
    yield* this.db.prepare('SELECT * FROM blk').iterate() as Iterable<NatRow>;
  }

  counters(): { records: number; unparsed: number; ignored: number; lines: number } {
    return {
      records: Number(this.meta('records') ?? 0),
      unparsed: Number(this.meta('unparsed') ?? 0),
      ignored: Number(this.meta('ignored') ?? 0),
      lines: Number(this.meta('lines') ?? 0),
    };
  }

  /** Decode a record row back to a record (query layer and tests). */
  decode(row: NatRow): StoredRecord {
    const vendorId = Math.floor(row.code / 65536);
    const rawRef = rawRefOf(row.id);
    return {
      vendor: this.vocabName('vendor', vendorId),
      event: eventName(Math.floor((row.code % 65536) / 1024)),
      proto: protoName(row.code % 1024),
      src_ip: ipFromDb(row.src_ip),
      src_port: row.src_port,
      nat_ip: ipFromDb(row.nat_ip),
      nat_port: row.port_end == null ? (row.nat_port < 0 ? null : row.nat_port) : null,
      nat_port_start: row.port_end == null ? null : row.nat_port,
      nat_port_end: row.port_end,
      dst_ip: ipFromDb(row.dst_ip),
      dst_port: row.dst_port,
      time: this.dayStartMs + row.t,
      device: this.deviceAddress(row.device),
      raw_ref: rawRef,
    };
  }

  private vocabName(kind: string, id: number): string {
    return (this.db.prepare('SELECT name FROM vocab WHERE kind = ? AND id = ?').pluck().get(kind, id) as string | undefined) ?? 'unknown';
  }

  private deviceAddress(id: number): string {
    return (this.db.prepare('SELECT address FROM device WHERE id = ?').pluck().get(id) as string | undefined) ?? 'unknown';
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** Hour of the day of a time (ms since the day's start), 0–23. */
export function hourOf(t: number): number {
  return Math.min(23, Math.max(0, Math.floor(t / HOUR_MS)));
}

export interface StoredRecord extends Omit<NatRecord, 'host' | 'time'> {
  time: number;
  device: string;
  raw_ref: number;
}


/** ipToDb with a fast path for plain dotted-quad IPv4 (3 calls a record on the commit path). */
function ipDb(ip: string | null): number | Buffer | null {
  if (ip == null) return null;
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return ipToDb(ip);
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3 && !(digits > 0 && part === 0)) {
      part = part * 10 + (c - 48);
      if (part > 255) return ipToDb(ip);
      digits++;
    } else return ipToDb(ip);
  }
  if (dots !== 3 || digits === 0) return ipToDb(ip);
  return n * 256 + part;
}

/**
 * The raw blocks of one day's lines (RAW_BLOCK lines each, as `commit` cuts them), deflated in
 * libuv's thread pool, so on another core than the committer's while it parses or writes SQLite.
 * All blocks (or chunks) are queued at once: a chain (next from the callback) would wait for this
 * thread, busy in SQLite. `onDone` runs once all are done; `commit` deflates any block not done, and
 * any block deflated with another dictionary than the file's (the file got its first one meanwhile).
 */
export class RawBlocks {
  private readonly done: (Buffer | undefined)[] = [];
  /** Blocks not deflated yet. */
  pending = 0;

  constructor(lines: DayLine[], onDone: () => void, private readonly dict: Buffer | null = null) {
    for (let b = 0; b < lines.length; b += RAW_BLOCK) {
      const k = this.pending++;
      const block = lines.slice(b, b + RAW_BLOCK);
      const finish = (out: Buffer | undefined) => {
        this.done[k] = out;
        if (--this.pending === 0) onDone();
      };
      if (!dict) {
        const packed = packLines(block);
        // One output chunk for the whole block: one round trip to the pool, nothing to concatenate.
        deflateRaw(packed, { level: RAW_DEFLATE_LEVEL, chunkSize: Math.max(64 * 1024, packed.length) }, (err, out) => finish(err ? undefined : out));
        continue;
      }
      const parts: (Buffer | undefined)[] = [];
      let left = Math.ceil(block.length / RAW_CHUNK);
      let failed = false;
      for (let c = 0; c * RAW_CHUNK < block.length; c++) {
        const packed = packLines(block.slice(c * RAW_CHUNK, (c + 1) * RAW_CHUNK));
        deflateRaw(packed, { level: RAW_DEFLATE_LEVEL, dictionary: dict, chunkSize: Math.max(16 * 1024, packed.length) }, (err, out) => {
          if (err) failed = true;
          parts[c] = out;
          if (--left === 0) finish(failed ? undefined : frameChunks(parts as Buffer[]));
        });
      }
    }
  }

  /** Block k, when it was deflated for the dictionary `dict` (the file's). */
  get(k: number, dict: Buffer | null): Buffer | undefined {
    if (dict !== this.dict && !(dict && this.dict && dict.equals(this.dict))) return undefined;
    return this.done[k];
  }
}

/** The dictionary of a file's chunked blocks from its first lines, or null when they are too few. */
export function rawDictionary(lines: DayLine[]): Buffer | null {
  const packed = packLines(lines.slice(0, 256));
  return packed.length >= RAW_DICT_MIN ? Buffer.from(packed.subarray(0, RAW_DICT_BYTES)) : null;
}

/** A raw block: chunked with the day dictionary when the file has one, else one deflate stream. */
export function packBlock(lines: DayLine[], dict: Buffer | null): Buffer {
  if (!dict) return deflateRawSync(packLines(lines), { level: RAW_DEFLATE_LEVEL });
  const parts: Buffer[] = [];
  for (let c = 0; c < lines.length; c += RAW_CHUNK) parts.push(deflateRawSync(packLines(lines.slice(c, c + RAW_CHUNK)), { level: RAW_DEFLATE_LEVEL, dictionary: dict }));
  return frameChunks(parts);
}

/** Chunks deflated separately, framed as one chunked block (the layout `chunkOf` reads). */
export function frameChunks(parts: Buffer[]): Buffer {
  const head = Buffer.allocUnsafe(5 + 4 * parts.length);
  head[0] = CHUNKED;
  head.writeUInt16LE(RAW_CHUNK, 1);
  head.writeUInt16LE(parts.length, 3);
  let end = 0;
  parts.forEach((p, j) => head.writeUInt32LE((end += p.length), 5 + 4 * j));
  return Buffer.concat([head, ...parts]);
}

/** Whether a raw block is chunked (else one deflate stream). */
export function isChunked(data: Buffer): boolean {
  return data.length > 0 && data[0] === CHUNKED;
}

/** Lines per chunk of a chunked block. */
export function chunkLines(data: Buffer): number {
  return data.readUInt16LE(1);
}

/** Compressed bytes of chunk j of a chunked block, or null when it has no such chunk. */
export function chunkOf(data: Buffer, j: number): Buffer | null {
  const k = data.readUInt16LE(3);
  if (j >= k) return null;
  const base = 5 + 4 * k;
  return data.subarray(base + (j === 0 ? 0 : data.readUInt32LE(5 + 4 * (j - 1))), base + data.readUInt32LE(5 + 4 * j));
}

/** Every line of a raw block, in order (`dict`: the file's meta raw_dict). */
export function blockLines(data: Buffer, dict: Buffer | null): Buffer[] {
  if (!isChunked(data)) return unpackLines(inflateRawSync(data));
  const out: Buffer[] = [];
  for (let j = 0, c = chunkOf(data, 0); c; c = chunkOf(data, ++j)) out.push(...unpackLines(inflateRawSync(c, { dictionary: dict! })));
  return out;
}

export function packLines(lines: DayLine[]): Buffer {
  let size = 0;
  for (const l of lines) size += l.payload.length + 5;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const l of lines) {
    let n = l.payload.length;
    while (n >= 0x80) {
      out[at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    out[at++] = n;
    at += l.payload.copy(out, at);
  }
  return out.subarray(0, at);
}

/**
 * Line `index` of packed lines (as packLines writes them), without splitting the others; null when
 * `buf` ends before that line does (an inflated prefix of a block).
 */
export function lineAt(buf: Buffer, index: number): Buffer | null {
  for (let i = 0, at = 0; at < buf.length; i++) {
    const [n, from] = lenAt(buf, at);
    if (i === index) return from + n <= buf.length ? buf.subarray(from, from + n) : null;
    at = from + n;
  }
  return null;
}

export function unpackLines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const [n, from] = lenAt(buf, at);
    out.push(buf.subarray(from, from + n));
    at = from + n;
  }
  return out;
}

/** The varint line length at `at` (packLines' format) and the offset just after it. */
function lenAt(buf: Buffer, at: number): [number, number] {
  let n = 0;
  let shift = 0;
  let b: number;
  do {
    b = buf[at++]!;
    n += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80 && at < buf.length);
  return [n, at];
}
