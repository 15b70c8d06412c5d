// One day file: open with the configured pragmas, write a day's share of a batch in one transaction,
// and read it back (records, original lines, counters). The layout is in schema.ts: session records
// go into packed pieces per (public address, hour), merged by level and packed into port-range parts
// once the hour is over; port blocks into blk; the original lines into blocks of residues against
// their records (store/line-codec.ts), 1,024 lines a block.
import Database from 'better-sqlite3';
import { eventCode, ipKey, ipToDbFast, isBlockRow, protoCode } from '../codes.js';
import { fault } from '../../config/fault.js';
import { ensureMode, MODE } from '../../core/fs.js';
import { DAY_STAT_DDL, DayStats } from './day-stat.js';
import { SESSIONS_DDL, SessionWriter } from './sessions.js';
import { CLOSE_GRACE_MS, DDL, FANOUT, HOUR_MS, hourOf, ID_RECORD_STEP, LVL_PART, MAX_RECORDS_PER_LINE, PART_ROWS, RAW_BLOCK, SCHEMA_VERSION } from './schema.js';
import { encodeCols, Part } from './part.js';
import { C_PORT, C_T, Cols, sortedOrder } from './cols.js';
import { decodeSegment, encodeSegment, portSegments, psetSeg, PSET_SPAN } from './port-set.js';
import { LineReader, LineWriter, packWords, type KeyedWord, type LineRecord } from '../line-codec.js';
import { LineBlock, type LineThread } from '../line-codec/thread.js';
import type { DayCommitResult, DayLine, NatRow } from '../store.js';
import type { NatRecord, RecordColumns } from '../../parse/types.js';

export type { DayCommitResult, DayLine, NatRow };


export interface DayOptions {
  journalMode: string;
  synchronous: string;
  cacheSizeMiB: number;
  maxPageCount: number;
  readonly?: boolean;
  /** Writer: encode the original lines in this thread (line-codec/thread.ts) while the commit does the records; else in line. */
  lineThread?: LineThread | null;
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

/** One commit's records of one (public address, hour): its level-0 piece. */
interface Piece {
  natIp: number | Buffer;
  hour: number;
  cols: Cols;
}

/** What the writer last noted of an IPv4 subscriber (DayFile.subs). */
interface Sub {
  hour: number;
  /** Public address (IPv4 integer; an IPv6 buffer is never equal, so always checked). */
  nat: number | Buffer | null;
  login: string | null;
  loginId: number;
  loginHour: number;
}

/** Subscribers the writer remembers before it forgets them all. */
const SUBS_KEEP = 200_000;

/** Hours of src_seen pairs the writer remembers (older hours get INSERT OR IGNORE for each record). */
const SEEN_HOURS = 3;
/** Logins whose last login_seen write the writer remembers before it forgets them all (then upserts again). */
const LOGIN_SEEN_KEEP = 100_000;
/** Blocks of lines a commit has in the line thread at once (~300 KB each): memory stays bounded whatever the batch. */
const LINES_IN_FLIGHT = 8;
/** Most records one commit re-packs when closing hours (the rest waits for the next commit). */
const CLOSE_BUDGET = 400_000;

/**
 * The writer's scratch record sets, overwritten by each use (one thread writes): a commit's piece
 * sorted (SORTED, written before any merge), a merge's or a packing's records as read (MERGE_IN) and
 * sorted (MERGE_OUT, written before the next takeRows).
 */
const SORTED = new Cols();
/** Rows a scratch set keeps room for between commits (~5 MB each): a larger one is dropped. */
const SCRATCH_KEEP_ROWS = 65_536;
const MERGE_IN = new Cols();
const MERGE_OUT = new Cols();

/** A number for (IPv4 address, small value < 2^16) pairs, else a string: map keys on the commit path without a string a record. */
const pairKey = (ip: number | Buffer, v: number): number | string => (typeof ip === 'number' ? ip * 65536 + v : `${ip.toString('hex')}|${v}`);

export class DayFile {
  readonly db: Database.Database;
  private readonly dayStartMs: number;
  private readonly devices = new Map<string, number>();
  /** Writer: login text → its id in `login`. */
  private readonly logins = new Map<string, number>();
  /** Writer: each login's last (subscriber, hour) written to login_seen (cleared past LOGIN_SEEN_KEEP). */
  private readonly loginSeen = new Map<number, number | string>();
  private readonly vocab = new Map<string, number>();
  /** vocab's vendor ids by name. */
  private readonly vendors = new Map<string, number>();
  private spoolPos: number;
  private readonly st: ReturnType<DayFile['prepare']>;
  /** Per-day counts for the daily view (day-stat.ts), kept by writers. */
  private readonly stats: DayStats | null = null;
  /** Writer: the original-line encoder, opened from the file's shapes and keyed words on first use. */
  private lineWriter: LineWriter | null = null;
  /** Writer: the thread that encodes the lines instead (DayOptions.lineThread), and whether it has this file's writer open. */
  private readonly lineThread: LineThread | null;
  private lineThreadOpen = false;
  /** The block of lines gathered for the thread. */
  private lineBlock: LineBlock | null = null;
  /** Writer: rec rows by `${ipKey}|${hour}`, loaded on open. */
  private readonly groups = new Map<string, Group>();
  /** Writer: (public address, device) pairs in `owner` (pairKey). */
  private readonly owners = new Set<number | string>();
  private commits = 0;
  private sessionWriter: SessionWriter | null = null;
  /**
   * Writer: (subscriber → public address) pairs known to be in src_seen, for the SEEN_HOURS hours
   * written last: a subscriber's pair is inserted once an hour, not once a record. One public address
   * per subscriber and hour is the usual case, kept as a value; a Set once there are more.
   */
  private readonly seen = new Map<number, Map<number | string, number | string | Set<number | string>>>();
  /**
   * Writer: each IPv4 subscriber's last (hour, public address) noted in src_seen, and its last login
   * (text, id, hour noted in login_seen): a record that repeats them costs one lookup by number.
   */
  private readonly subs = new Map<number, Sub>();
  /** The record a line is encoded against (commit: `only`), reused. */
  private readonly lineRec: LineRecord = { t: 0, nat_ip: null, nat_port: null, port_end: null, src_ip: null, src_port: null, dst_ip: null, dst_port: null, code: 0 };

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
        this.db.exec(SESSIONS_DDL);
      })();
      this.db.prepare(`INSERT OR IGNORE INTO meta VALUES ('schema_version', ?), ('day', ?), ('spool_pos', 0), ('records', 0), ('unparsed', 0), ('ignored', 0), ('lines', 0), ('radius_events', 0)`).run(SCHEMA_VERSION, day);
    }
    this.spoolPos = Number(this.meta('spool_pos') ?? 0);
    this.st = this.prepare();
    this.lineThread = opts.readonly ? null : (opts.lineThread ?? null);
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
      putPset: ro ? null : this.db.prepare('INSERT OR REPLACE INTO pset VALUES (?, ?, ?, ?)'),
      psetAt: this.db.prepare('SELECT ports FROM pset WHERE nat_ip = ? AND seg = ? AND hour = ?').pluck(),
      recOf: this.db.prepare('SELECT id, n, lvl, data FROM rec WHERE nat_ip = ? AND hour = ?'),
      toPart: ro ? null : this.db.prepare(`UPDATE rec SET lvl = ${LVL_PART} WHERE id = ?`),
      recAt: this.db.prepare('SELECT id, data FROM rec WHERE nat_ip = ? AND hour = ? AND lvl = ?'),
      delRec: ro ? null : this.db.prepare('DELETE FROM rec WHERE id = ?'),
      insBlk: ro ? null : this.db.prepare('INSERT INTO blk VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      insLogin: ro ? null : this.db.prepare('INSERT INTO login (name) VALUES (?)'),
      upLoginSeen: ro
        ? null
        : this.db.prepare('INSERT INTO login_seen VALUES (?, ?, ?, ?) ON CONFLICT (login, src_ip) DO UPDATE SET first_hour = min(first_hour, excluded.first_hour), last_hour = max(last_hour, excluded.last_hour)'),
      insOwner: ro ? null : this.db.prepare('INSERT OR IGNORE INTO owner VALUES (?, ?)'),
      upSeen: ro
        ? null
        : this.db.prepare('INSERT OR IGNORE INTO src_seen VALUES (?, ?, ?)'),
      insLine: ro ? null : this.db.prepare('INSERT INTO line (id, t, device, status, reason) VALUES (?, ?, ?, ?, ?)'),
      insDevice: ro ? null : this.db.prepare('INSERT INTO device (address) VALUES (?)'),
      insVocab: ro ? null : this.db.prepare('INSERT INTO vocab (kind, name, id) VALUES (?, ?, (SELECT coalesce(max(id), 0) + 1 FROM vocab WHERE kind = ?)) RETURNING id').pluck(),
      insShape: ro ? null : this.db.prepare('INSERT INTO shape (data) VALUES (?)'),
      insWord: ro ? null : this.db.prepare('INSERT OR IGNORE INTO kword VALUES (?, ?, ?, ?)'),
    };
  }

  /** (Re)load what the writer caches from the file: devices, vocabulary, rec groups, owners. */
  private reload(): void {
    this.devices.clear();
    this.logins.clear();
    this.loginSeen.clear();
    this.vocab.clear();
    this.vendors.clear();
    this.groups.clear();
    this.owners.clear();
    this.seen.clear();
    this.subs.clear();
    this.lineWriter = null;
    if (this.lineThread && this.lineThreadOpen) {
      // Blocks of a failed commit may still be in the thread: their results are taken and forgotten.
      this.lineThread.drain();
      this.lineThread.drop(this.path);
      this.lineThreadOpen = false;
    }
    this.lineBlock = null;
    for (const r of this.db.prepare('SELECT id, address FROM device').all() as { id: number; address: string }[]) this.devices.set(r.address, r.id);
    for (const r of this.db.prepare('SELECT id, name FROM login').all() as { id: number; name: string }[]) this.logins.set(r.name, r.id);
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

  /** The writer's note of an IPv4 subscriber (see `subs`). */
  private sub(src: number): Sub {
    let s = this.subs.get(src);
    if (!s) {
      if (this.subs.size >= SUBS_KEEP) this.subs.clear();
      this.subs.set(src, (s = { hour: -1, nat: null, login: null, loginId: 0, loginHour: -1 }));
    }
    return s;
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
   * committed spool position, and move the position to `batchEnd`.
   */
  commit(lines: DayLine[], batchEnd: number): DayCommitResult {
    const res: DayCommitResult = { records: 0, lines: 0, unparsed: 0, ignored: 0, skipped: 0, sessions: 0, duplicateSessions: 0 };
    const pos = this.spoolPos;
    let todo = lines.every((l) => l.end > pos) ? lines : lines.filter((l) => l.end > pos);
    res.skipped = lines.length - todo.length;
    if (batchEnd <= this.spoolPos) return res;
    const st = this.st;
    const stats = this.stats!;
    const commitNo = ++this.commits;
    // RADIUS session events go to their own table (sessions.ts), not to the lines and records.
    const sessions = todo.some((l) => l.status === 'session') ? todo.filter((l) => l.status === 'session') : null;
    if (sessions) todo = todo.filter((l) => l.status !== 'session');
    const tx = this.db.transaction(() => {
      if (sessions) {
        const w = (this.sessionWriter ??= new SessionWriter(this.db)).write(sessions, this.dayStartMs, (a) => this.deviceId(a));
        res.sessions = w.added;
        res.duplicateSessions = w.duplicates;
        st.addMeta!.run(w.added, 'radius_events');
      }
      const pieces = new Map<number | string, Piece>();
      let blockId = Number(st.nextRaw.get());
      // Lines encoded here, or block by block in the line thread while this loop goes on: at most
      // LINES_IN_FLIGHT blocks there at once, each taken back in order (a thread that died: here).
      const lt = this.lineThread?.alive ? this.lineThread : null;
      const codec = lt ? null : this.codec();
      const lb = lt ? this.threadBlock(lt) : null;
      /** Blocks in the thread: (id, lines) pairs, oldest first from `taken`. */
      const posted: number[] = [];
      let taken = 0;
      const takeBlock = () => {
        const r = lt!.take();
        st.insRaw!.run(posted[taken], posted[taken + 1], r.block);
        for (const shape of r.shapes) st.insShape!.run(shape);
        for (const w of r.words) st.insWord!.run(w.src, w.shape, w.index, w.word);
        taken += 2;
      };
      for (let b = 0; b < todo.length; b += RAW_BLOCK) {
        const blockEnd = Math.min(todo.length, b + RAW_BLOCK);
        for (let i = b; i < blockEnd; i++) {
          const l = todo[i]!;
          const rawRef = blockId * RAW_BLOCK + (i - b);
          const device = this.deviceId(l.device);
          res.lines++;
          // The line's record when it has exactly one: its original line is kept as a residue against it.
          let only: LineRecord | null = null;
          if (l.status === 'records') {
            const vendor = this.vendorId(l.vendor);
            // Read in place from the committer's handoff, or from the objects.
            const src = l.cols ? l.cols.src : new ObjectColumns(l.records);
            const from = l.cols ? l.cols.from : 0;
            const count = l.cols ? l.cols.to - l.cols.from : l.records.length;
            const nRecs = Math.min(count, MAX_RECORDS_PER_LINE);
            for (let k = 0; k < nRecs; k++) {
              const j = from + k;
              const natIp = storeIp(src.natIp(j));
              if (natIp == null) continue;
              const portStart = src.natPortStart(j);
              const blockRange = portStart === portStart; // not NaN
              const rt = src.time(j);
              const t = (rt === rt ? rt : l.time) - this.dayStartMs;
              const hour = hourOf(t);
              const srcText = src.srcIp(j);
              const srcIp = storeIp(srcText);
              const dstIp = storeIp(src.dstIp(j));
              const event = src.event(j);
              const code = vendor * 65536 + event * 1024 + protoCode(src.proto(j));
              const sport = src.srcPort(j);
              const dport = src.dstPort(j);
              // An IPv4 subscriber's last public address, hour and login (the usual record repeats them all).
              const sub = typeof srcIp === 'number' ? this.sub(srcIp) : null;
              const loginText = src.login(j);
              let login: number | null = null;
              if (loginText != null) {
                if (sub) {
                  if (sub.login !== loginText) {
                    sub.login = loginText;
                    sub.loginId = this.loginId(loginText);
                    sub.loginHour = -1;
                  }
                  login = sub.loginId;
                } else login = this.loginId(loginText);
              }
              const natPort = blockRange ? portStart : orMinus1(src.natPort(j));
              const portEnd = blockRange ? orNull(src.natPortEnd(j)) : null;
              const id = rawRef + k * ID_RECORD_STEP;
              if (count === 1) {
                // One object for every line: the codec reads it during add() and keeps nothing of it.
                only = this.lineRec;
                only.t = t;
                only.nat_ip = natIp;
                only.nat_port = natPort;
                only.port_end = portEnd;
                only.src_ip = srcIp;
                only.src_port = orNull(sport);
                only.dst_ip = dstIp;
                only.dst_port = orNull(dport);
                only.code = code;
              }
              const block = isBlockRow(portEnd, code);
              // "other": what DayReader.ipOthers reads (an inside address, and a block or not a session open)
              stats.record(t, device, code % 1024, natIp, srcIp != null && (block || (event !== 0 && event !== 4)));
              const ok = pairKey(natIp, device);
              if (!this.owners.has(ok)) {
                st.insOwner!.run(natIp, device);
                this.owners.add(ok);
              }
              if (block) st.insBlk!.run(natIp, natPort, t, id, portEnd, srcIp, orNull(sport), dstIp, orNull(dport), code, device, login);
              else {
                const gk = pairKey(natIp, hour);
                let piece = pieces.get(gk);
                if (!piece) pieces.set(gk, (piece = { natIp, hour, cols: new Cols() }));
                const c = piece.cols;
                c.push(natPort, t, id, c.ip(srcIp), sport, c.ip(dstIp), dport, code, device, login ?? NaN);
              }
              if (sub) {
                if (sub.hour !== hour || sub.nat !== natIp) {
                  if (this.newSeen(hour, srcIp as number, natIp)) st.upSeen!.run(hour, srcIp, natIp);
                  sub.hour = hour;
                  sub.nat = natIp;
                }
                if (login != null && sub.loginHour !== hour) {
                  this.noteLogin(login, hour, srcIp!);
                  sub.loginHour = hour;
                }
              } else if (srcIp != null) {
                if (this.newSeen(hour, String(srcText), natIp)) st.upSeen!.run(hour, srcIp, natIp);
                if (login != null) this.noteLogin(login, hour, srcIp);
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
          if (lb) lb.add(l.payload, l.device, only);
          else codec!.add(l.payload, l.device, only);
        }
        if (lt) {
          lt.post(this.path, lb!);
          posted.push(blockId, blockEnd - b);
          fault('lines'); // tests: die with blocks in the line thread
          if (posted.length - taken >= 2 * LINES_IN_FLIGHT) takeBlock();
        } else st.insRaw!.run(blockId, blockEnd - b, codec!.finishBlock());
        blockId++;
      }
      // One piece per (public address, hour), then merges of full levels.
      for (const piece of pieces.values()) {
        const g = this.group(piece.natIp, piece.hour);
        const rows = piece.cols.permuted(sortedOrder(piece.cols), SORTED);
        if (g.partRows > 0) this.widenPortSet(g, rows.c[C_PORT]!.subarray(0, rows.n));
        this.writeRows(g, 0, rows, 0, rows.n);
        g.pieceRows += rows.n;
        g.lastCommit = commitNo;
        for (let lvl = 0; (g.levels[lvl] ?? 0) >= FANOUT; lvl++) this.mergeLevel(g, lvl);
      }
      this.closeHours(commitNo, Date.now() - this.dayStartMs, CLOSE_BUDGET);
      // The lines' blocks, and the shapes and keyed words learned with them, in the order encoded.
      if (lt) while (taken < posted.length) takeBlock();
      else {
        const learned = codec!.takeNew();
        for (const shape of learned.shapes) st.insShape!.run(shape);
        for (const w of learned.words) st.insWord!.run(w.src, w.shape, w.index, w.word);
      }
      for (const c of [SORTED, MERGE_IN, MERGE_OUT]) c.shrink(SCRATCH_KEEP_ROWS);
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

  /** Write rows [from, to) of sorted columns as one rec row of `lvl` (a piece) and count it. */
  private writeRows(g: Group, lvl: number, rows: Cols, from: number, to: number): void {
    const port = rows.c[C_PORT]!;
    const t = rows.c[C_T]!;
    let tMax = 0;
    for (let i = from; i < to; i++) if (t[i]! > tMax) tMax = t[i]!;
    this.st.insRec!.run(g.natIp, g.hour, lvl, port[from]!, port[to - 1]!, to - from, tMax, encodeCols(rows, from, to));
    if (lvl >= 0) g.levels[lvl] = (g.levels[lvl] ?? 0) + 1;
  }

  /** Write the port set of a closed hour (port-set.ts): every segment, an empty one too (the hour is then known). */
  private writePortSet(g: Group, ports: ArrayLike<number>): void {
    portSegments(ports).forEach((seg, i) => this.st.putPset!.run(g.natIp, i, g.hour, seg));
  }

  /** Add the ports of late rows (sorted) to their closed hour's port set. */
  private widenPortSet(g: Group, ports: Float64Array): void {
    for (let i = 0; i < ports.length; ) {
      if (ports[i]! < 0) {
        i++;
        continue;
      }
      const seg = psetSeg(ports[i]!);
      const offs = new Set(decodeSegment((this.st.psetAt.get(g.natIp, seg, g.hour) as Buffer | undefined) ?? Buffer.alloc(0)));
      for (; i < ports.length && psetSeg(ports[i]!) === seg; i++) offs.add(ports[i]! % PSET_SPAN);
      this.st.putPset!.run(g.natIp, seg, g.hour, encodeSegment([...offs].sort((a, b) => a - b)));
    }
  }

  /** Every record of the rec rows given (id, data), deleted, sorted. */
  private takeRows(recs: { id: number; data: Buffer }[]): Cols {
    const parts = recs.map((r) => new Part(r.data));
    const rows = MERGE_IN;
    rows.clear();
    rows.reserve(parts.reduce((n, p) => n + p.n, 0));
    for (const [k, r] of recs.entries()) {
      parts[k]!.appendTo(rows);
      this.st.delRec!.run(r.id);
      fault('pack'); // tests: die with pieces deleted and their merge not written yet
    }
    return rows.permuted(sortedOrder(rows), MERGE_OUT);
  }

  /** Merge the pieces of level `lvl` into one of the next. */
  private mergeLevel(g: Group, lvl: number): void {
    const rows = this.takeRows(this.st.recAt.all(g.natIp, g.hour, lvl) as { id: number; data: Buffer }[]);
    g.levels[lvl] = 0;
    if (rows.n) this.writeRows(g, lvl + 1, rows, 0, rows.n);
  }

  /** Pack an hour into parts: disjoint port ranges of at most PART_ROWS records (a port is never split). */
  private closeGroup(g: Group): number {
    const recs = this.st.recOf.all(g.natIp, g.hour) as { id: number; n: number; lvl: number; data: Buffer }[];
    // A single piece small enough to be a part is one already: relabelled, not packed again.
    if (recs.length === 1 && recs[0]!.lvl >= 0 && recs[0]!.n <= PART_ROWS) {
      this.st.toPart!.run(recs[0]!.id);
      const p = new Part(recs[0]!.data);
      this.writePortSet(g, Array.from({ length: p.n }, (_, i) => p.port(i)));
      g.levels = [];
      g.pieceRows = 0;
      g.partRows = recs[0]!.n;
      return recs[0]!.n;
    }
    const rows = this.takeRows(recs);
    const port = rows.c[C_PORT]!;
    for (let i = 0; i < rows.n; ) {
      let j = Math.min(rows.n, i + PART_ROWS);
      while (j < rows.n && port[j] === port[j - 1]) j++;
      this.writeRows(g, LVL_PART, rows, i, j);
      i = j;
    }
    this.writePortSet(g, port.subarray(0, rows.n));
    g.levels = [];
    g.pieceRows = 0;
    g.partRows = rows.n;
    return rows.n;
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

  /** The id of a login in `login` (added on first sight). */
  private loginId(name: string): number {
    let id = this.logins.get(name);
    if (id === undefined) {
      id = Number(this.st.insLogin!.run(name).lastInsertRowid);
      this.logins.set(name, id);
    }
    return id;
  }

  /**
   * Note that `login` held inside address srcIp in `hour` (login_seen: widen its hours). The writer
   * remembers each login's last (address, hour): a PPP session keeps its address, so that is one
   * upsert a login an hour, and no string built a record for IPv4.
   */
  private noteLogin(login: number, hour: number, srcIp: number | Buffer): void {
    const k = typeof srcIp === 'number' ? srcIp * 32 + hour : `${srcIp.toString('hex')}|${hour}`;
    if (this.loginSeen.get(login) === k) return;
    if (this.loginSeen.size >= LOGIN_SEEN_KEEP) this.loginSeen.clear();
    this.loginSeen.set(login, k);
    this.st.upLoginSeen!.run(login, srcIp, hour, hour);
  }

  /** vocabId('vendor', …) without a key string a line. */
  private vendorId(vendor: string | null): number {
    const name = vendor ?? 'unknown';
    let id = this.vendors.get(name);
    if (id === undefined) this.vendors.set(name, (id = this.vocabId('vendor', name)));
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

  /** The writer's line encoder, opened from what the file has learned (shapes, keyed words). */
  private codec(): LineWriter {
    if (!this.lineWriter) {
      this.lineWriter = new LineWriter({ shapes: shapesOf(this.db), words: this.packedWords() }, { timeBase: this.dayStartMs });
    }
    return this.lineWriter;
  }

  /** The file's keyed words as packWords blobs (what a LineWriter opens from). */
  private packedWords(): Buffer[] {
    const words = this.db.prepare('SELECT src_ip AS src, shape, idx AS "index", word FROM kword').all() as KeyedWord[];
    return words.length ? [packWords(words)] : [];
  }

  /** The block builder for the line thread, whose writer for this file is opened from the file's tables first. */
  private threadBlock(lt: LineThread): LineBlock {
    if (!this.lineThreadOpen) {
      lt.open(this.path, shapesOf(this.db), this.packedWords(), this.dayStartMs);
      this.lineThreadOpen = true;
    }
    return (this.lineBlock ??= new LineBlock(RAW_BLOCK));
  }

  /** A reader of this file's original lines (shapes loaded now: make a new one to see lines written since). */
  lineReader(): LineReader {
    const word = this.db.prepare('SELECT word FROM kword WHERE src_ip = ? AND shape = ? AND idx = ?').pluck();
    return new LineReader({ shapes: shapesOf(this.db), words: (src, shape, index) => word.get(typeof src === 'number' ? src : Buffer.from(src), shape, index) as Buffer | undefined }, { timeBase: this.dayStartMs });
  }

  /** Every original message of this day in commit order (tests, export, re-parse). */
  *allRawLines(): Generator<Buffer> {
    const devices = new Map((this.db.prepare('SELECT id, address FROM device').all() as { id: number; address: string }[]).map((d) => [d.id, d.address]));
    // the record each line was encoded against (its first), and the device of lines without one
    const first = new Map<number, NatRow>();
    for (const r of this.allRows()) if (r.id < ID_RECORD_STEP) first.set(r.id, r);
    const lineDev = new Map((this.db.prepare('SELECT id, device FROM line').all() as { id: number; device: number }[]).map((l) => [l.id, l.device]));
    const reader = this.lineReader();
    for (const b of this.db.prepare('SELECT id, n, data FROM raw ORDER BY id').iterate() as Iterable<{ id: number; n: number; data: Buffer }>) {
      const recs: (NatRow | null)[] = [];
      const devs: string[] = [];
      for (let i = 0; i < b.n; i++) {
        const ref = b.id * RAW_BLOCK + i;
        const rec = first.get(ref) ?? null;
        recs.push(rec);
        devs.push(devices.get(rec ? rec.device : lineDev.get(ref) ?? -1) ?? 'unknown');
      }
      yield* reader.blockLines(b.data, recs, devs);
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

  close(): void {
    if (this.lineThread && this.lineThreadOpen) {
      this.lineThread.drop(this.path);
      this.lineThreadOpen = false;
    }
    if (this.db.open) this.db.close();
  }
}

/** The line shapes a day file has learned (store/line-codec.ts), in the order they were learned. */
function shapesOf(db: Database.Database): Buffer[] {
  return db.prepare('SELECT data FROM shape ORDER BY id').pluck().all() as Buffer[];
}

/** NaN (a null field of RecordColumns) as null. */
const orNull = (v: number): number | null => (v === v ? v : null);
const orMinus1 = (v: number): number => (v === v ? v : -1);

/** An address of RecordColumns as the store keeps it: the integer of an IPv4, else its text parsed. */
function storeIp(v: number | string | null): number | Buffer | null {
  return typeof v === 'string' ? ipToDbFast(v) : v;
}

/** Records given as objects, read as columns (hand-built lines, the storage bench, tests). */
class ObjectColumns implements RecordColumns {
  constructor(private readonly r: readonly NatRecord[]) {}
  time(j: number): number {
    return this.r[j]!.time ?? NaN;
  }
  srcPort(j: number): number {
    return this.r[j]!.src_port ?? NaN;
  }
  natPort(j: number): number {
    return this.r[j]!.nat_port ?? NaN;
  }
  natPortStart(j: number): number {
    return this.r[j]!.nat_port_start ?? NaN;
  }
  natPortEnd(j: number): number {
    return this.r[j]!.nat_port_end ?? NaN;
  }
  dstPort(j: number): number {
    return this.r[j]!.dst_port ?? NaN;
  }
  srcIp(j: number): string | null {
    return this.r[j]!.src_ip;
  }
  natIp(j: number): string | null {
    return this.r[j]!.nat_ip;
  }
  dstIp(j: number): string | null {
    return this.r[j]!.dst_ip;
  }
  event(j: number): number {
    return eventCode(this.r[j]!.event);
  }
  proto(j: number): string | null {
    return this.r[j]!.proto;
  }
  login(j: number): string | null {
    return this.r[j]!.login ?? null;
  }
}
