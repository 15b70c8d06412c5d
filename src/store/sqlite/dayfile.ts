// One day file: open with the configured pragmas, write a day's share of a batch in one transaction,
// and read it back (records, original lines, counters).
import Database from 'better-sqlite3';
import { deflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';
import type { NatRecord } from '../../parse/types.js';
import { eventCode, eventName, ipFromDb, ipToDb, protoCode, protoName } from '../codes.js';
import { fault } from '../../config/fault.js';
import { ensureMode, MODE } from '../../core/fs.js';
import { PortSummary, CLOSE_GRACE_MS, type PortRow } from './ports.js';
import { DAY_STAT_DDL, DayStats } from './day-stat.js';
import { BLOCK_INDEX_DDL, DDL, HOUR_MS, ID_RECORD_STEP, MAX_RECORDS_PER_LINE, RAW_BLOCK, SCHEMA_VERSION, rawRefOf } from './schema.js';
import type { DayCommitResult, DayLine, NatRow } from '../store.js';

export type { DayCommitResult, DayLine, NatRow };

/** nat rows bound per INSERT statement (one native call instead of INSERT_ROWS). */
const INSERT_ROWS = 32;
const NAT_COLUMNS = 11;
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



export class DayFile {
  readonly db: Database.Database;
  private readonly dayStartMs: number;
  private readonly devices = new Map<string, number>();
  private readonly vocab = new Map<string, number>();
  private spoolPos: number;
  /** Schema the file was created with (ids and indexes differ between versions). */
  readonly schemaVersion: number;
  private readonly st: ReturnType<DayFile['prepare']>;
  /** Port summary kept by writers of schema ≥ 2 files (ports.ts). */
  private readonly ports: PortSummary | null = null;
  /** Per-day counts for the daily view (stats.ts), kept by writers. */
  private readonly stats: DayStats | null = null;
  /** Dictionary of chunked raw blocks (meta raw_dict), null until the file has one. */
  rawDict: Buffer | null = null;

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
      const statsExisted = !!this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'day_stat'").get();
      const fresh = !this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'nat'").get();
      // One transaction: a crash between the tables and the index would leave a file never indexed.
      this.db.transaction(() => {
        this.db.exec(DDL);
        if (fresh) this.db.exec(BLOCK_INDEX_DDL);
      })();
      this.db.exec(DAY_STAT_DDL);
      DayStats.init(this.db, statsExisted);
      this.db.prepare(`INSERT OR IGNORE INTO meta VALUES ('schema_version', ?), ('day', ?), ('spool_pos', 0), ('records', 0), ('unparsed', 0), ('ignored', 0), ('lines', 0)`).run(SCHEMA_VERSION, day);
    }
    this.spoolPos = Number(this.meta('spool_pos') ?? 0);
    this.schemaVersion = Number(this.meta('schema_version') ?? SCHEMA_VERSION);
    this.st = this.prepare();
    this.rawDict = (this.meta('raw_dict') as Buffer | undefined) ?? null;
    if (!opts.readonly) {
      for (const r of this.db.prepare('SELECT id, address FROM device').all() as { id: number; address: string }[]) this.devices.set(r.address, r.id);
      for (const r of this.db.prepare('SELECT kind, name, id FROM vocab').all() as { kind: string; name: string; id: number }[]) this.vocab.set(`${r.kind}\0${r.name}`, r.id);
      if (this.schemaVersion >= 2) this.ports = new PortSummary(this.db);
      this.stats = new DayStats(this.db);
    }
  }

  private prepare() {
    const ro = this.db.readonly;
    return {
      meta: this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
      setMeta: ro ? null : this.db.prepare('UPDATE meta SET value = ? WHERE key = ?'),
      // meta summary_pos: this commit's spool position, from a writer that keeps the port pieces
      // (ports.ts) and the other-row counts (stats.ts). Equal to spool_pos: no older writer since.
      stampSummaries: ro ? null : this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('summary_pos', ?)"),
      putMeta: ro ? null : this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
      addMeta: ro ? null : this.db.prepare('UPDATE meta SET value = value + ? WHERE key = ?'),
      nextRaw: this.db.prepare('SELECT coalesce(max(id), 0) + 1 FROM raw').pluck(),
      insRaw: ro ? null : this.db.prepare('INSERT INTO raw (id, n, data) VALUES (?, ?, ?)'),
      insNat: ro ? null : this.db.prepare('INSERT INTO nat VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      insNatMany: ro ? null : this.db.prepare(`INSERT INTO nat VALUES ${new Array(INSERT_ROWS).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`),
      upSeen: ro
        ? null
        : this.db.prepare('INSERT INTO src_seen VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET first = min(first, excluded.first), last = max(last, excluded.last), n = n + excluded.n'),
      insLine: ro ? null : this.db.prepare('INSERT INTO line (id, t, device, status, reason) VALUES (?, ?, ?, ?, ?)'),
      insDevice: ro ? null : this.db.prepare('INSERT INTO device (address) VALUES (?)'),
      insVocab: ro ? null : this.db.prepare('INSERT INTO vocab (kind, name, id) VALUES (?, ?, (SELECT coalesce(max(id), 0) + 1 FROM vocab WHERE kind = ?)) RETURNING id').pluck(),
      raw: this.db.prepare('SELECT data FROM raw WHERE id = ?').pluck(),
    };
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
    // src_seen rows of this batch, keyed by src_ip: a subscriber normally holds one public address
    // an hour, so each list is one entry long.
    const seen = new Map<number | string, SeenEntry[]>();
    const v1 = this.schemaVersion < 2;
    const ports = this.ports;
    const stats = this.stats;
    // Record times close summary hours only up to the wall clock plus the grace (a forged future time
    // cannot close an hour early; pieces stop at the wall clock itself, ports.ts).
    const clock = Date.now() + CLOSE_GRACE_MS - this.dayStartMs;
    const tx = this.db.transaction(() => {
      seen.clear();
      const late: PortRow[] = [];
      let frontier = -1;
      let blockId = Number(st.nextRaw.get());
      const rows: unknown[][] = [];
      if (!this.rawDict && this.schemaVersion >= 2) {
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
            l.records.slice(0, MAX_RECORDS_PER_LINE).forEach((r, k) => {
              const natIp = ipDb(r.nat_ip);
              if (natIp == null) return;
              const block = r.nat_port_start != null;
              const t = (r.time ?? l.time) - this.dayStartMs;
              const srcIp = ipDb(r.src_ip);
              const event = eventCode(r.event);
              const code = vendor * 65536 + event * 1024 + protoCode(r.proto);
              const natPort = block ? r.nat_port_start! : r.nat_port ?? -1;
              const blockEnd = block ? r.nat_port_end : null;
              if (t > frontier && t <= clock) frontier = t;
              // "other": what READ_SQL.ipOthers reads (an inside address, and a block or not a session open)
              stats?.record(t, device, code % 1024, natIp, srcIp != null && (blockEnd != null || (event !== 0 && event !== 4)));
              if (ports?.closedAt(t)) late.push({ natIp, natPort, blockEnd, code, t });
              if (srcIp != null && !v1) {
                const hour = Math.floor(t / HOUR_MS);
                const key = typeof srcIp === 'number' ? srcIp : r.src_ip!;
                let list = seen.get(key);
                if (!list) seen.set(key, (list = []));
                let e = list.find((x) => x.hour === hour && (x.natIp === natIp || (typeof natIp !== 'number' && typeof x.natIp !== 'number' && natIp.equals(x.natIp))));
                if (!e) list.push((e = { hour, srcIp, natIp, first: t, last: t, n: 0 }));
                if (t < e.first) e.first = t;
                if (t > e.last) e.last = t;
                e.n++;
              }
              rows.push([natIp, natPort, t, v1 ? rawRef * MAX_RECORDS_PER_LINE + k : rawRef + k * ID_RECORD_STEP, blockEnd, srcIp, r.src_port, ipDb(r.dst_ip), r.dst_port, code, device]);
            });
          } else {
            const reason = l.reason ? this.vocabId('reason', l.reason) : null;
            st.insLine!.run(rawRef, l.time - this.dayStartMs, device, l.status === 'unparsed' ? 1 : 2, reason);
            stats?.line(l.time - this.dayStartMs, device, l.status === 'unparsed' ? 1 : 2);
            if (l.status === 'unparsed') res.unparsed++;
            else res.ignored++;
          }
        });
        blockId++;
      }
      // Insert the whole batch in key order: neighbouring keys share pages, so each page is
      // written once per commit; INSERT_ROWS rows a statement to cut the per-call cost.
      rows.sort(compareNatRows);
      const many = INSERT_ROWS * NAT_COLUMNS;
      const params: unknown[] = new Array(many);
      let r = 0;
      for (; r + INSERT_ROWS <= rows.length; r += INSERT_ROWS) {
        for (let i = 0; i < INSERT_ROWS; i++) {
          const row = rows[r + i]!;
          for (let c = 0; c < NAT_COLUMNS; c++) params[i * NAT_COLUMNS + c] = row[c];
        }
        st.insNatMany!.run(params);
      }
      for (; r < rows.length; r++) st.insNat!.run(rows[r]);
      res.records += rows.length;
      // Per-hour subscriber summary, in key order (hour, src_ip, nat_ip) for page locality.
      const seenRows: unknown[][] = [];
      for (const list of seen.values()) for (const e of list) seenRows.push([e.hour, e.srcIp, e.natIp, e.first, e.last, e.n]);
      seenRows.sort((a, b) => (a[0] as number) - (b[0] as number) || compareIp(a[1], b[1]) || compareIp(a[2], b[2]));
      for (const r of seenRows) st.upSeen!.run(r);
      ports?.update(late, frontier, Date.now() - this.dayStartMs);
      stats?.flush();
      st.addMeta!.run(res.records, 'records');
      st.addMeta!.run(res.unparsed, 'unparsed');
      st.addMeta!.run(res.ignored, 'ignored');
      st.addMeta!.run(res.lines, 'lines');
      st.setMeta!.run(batchEnd, 'spool_pos');
      st.stampSummaries!.run(batchEnd);
      ports?.stampDay(batchEnd);
      fault('commit'); // tests: die with the transaction written but not committed
    });
    try {
      tx();
    } catch (err) {
      // The cached ids, closed hours and dictionary may name rows the rollback removed.
      this.ports?.reload();
      this.stats?.clear();
      this.rawDict = (this.meta('raw_dict') as Buffer | undefined) ?? null;
      this.devices.clear();
      this.vocab.clear();
      for (const r of this.db.prepare('SELECT id, address FROM device').all() as { id: number; address: string }[]) this.devices.set(r.address, r.id);
      for (const r of this.db.prepare('SELECT kind, name, id FROM vocab').all() as { kind: string; name: string; id: number }[]) this.vocab.set(`${r.kind}\0${r.name}`, r.id);
      throw err;
    }
    this.spoolPos = batchEnd;
    return res;
  }

  /** Close the port summary of every hour (the day is over: lookups then read only the hours a port appears in). */
  closeAllHours(): void {
    this.ports?.closeAll();
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

  counters(): { records: number; unparsed: number; ignored: number; lines: number } {
    return {
      records: Number(this.meta('records') ?? 0),
      unparsed: Number(this.meta('unparsed') ?? 0),
      ignored: Number(this.meta('ignored') ?? 0),
      lines: Number(this.meta('lines') ?? 0),
    };
  }

  /** Decode nat rows back to records (query layer and tests). */
  decode(row: NatRow): StoredRecord {
    const vendorId = Math.floor(row.code / 65536);
    const rawRef = rawRefOf(row.id, this.schemaVersion);
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


export interface StoredRecord extends Omit<NatRecord, 'host' | 'time'> {
  time: number;
  device: string;
  raw_ref: number;
}

interface SeenEntry {
  hour: number;
  srcIp: number | Buffer;
  natIp: number | Buffer;
  first: number;
  last: number;
  n: number;
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

/** SQLite's order for an ANY column holding integers (IPv4) and blobs (IPv6): numbers first. */
function compareIp(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a !== typeof b) return typeof a === 'number' ? -1 : 1;
  return Buffer.compare(a as Buffer, b as Buffer);
}

/** Primary key order of nat rows: (nat_ip, t, nat_port). */
function compareNatRows(a: unknown[], b: unknown[]): number {
  return compareIp(a[0], b[0]) || (a[2] as number) - (b[2] as number) || (a[1] as number) - (b[1] as number);
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
