// ClickHouse store, the write side: each day's share of a batch is ONE `INSERT … FORMAT RowBinary`
// into `rec` (schema.ts): its records, its kept lines and a mark row carrying the batch's spool
// position. One insert into one partition is one part, written whole or not at all.
//
// Exactly once (docs/clickhouse.md): the committed position lives in ClickHouse itself, as
// max(pos) of the site's rows in the day's partition. The store reads it from the server before the
// first insert into a day and again after any failed insert, and skips every line at or below it;
// so an insert whose answer was lost (server restarted, connection cut, processor killed) is found
// there and not sent again, and one that never landed is sent again. Nothing here relies on the
// server deduplicating blocks (18.16's plain MergeTree does not).
//
// Caveats: an insert still running on the server after our 60 s timeout, and committed after the
// check that follows, would be written twice (the retry waits for the committer's backoff first).
// Durability is the server's: an acknowledged insert is in its page cache, on disk only where the
// server has fsync_after_insert (used when detected) or a replica holds it.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../config/load.js';
import { fault } from '../../config/fault.js';
import { DAY_MS, dayOf, eventCode, ipToDbFast, protoCode } from '../codes.js';
import { createHash } from 'node:crypto';
import type { DayCommitResult, DayDigest, DayDigests, DayFiles, DayLine, Store } from '../store.js';
import { ChClient, ChError, int, type ChConfig } from './client.js';
import { COLUMNS, dayNumber, daySql, distributedDdl, KIND_IGNORED, KIND_MARK, KIND_RECORD, KIND_SESSION, KIND_UNPARSED, RECORDS_PER_LINE, RowWriter, SITES, tableDdl } from './schema.js';

const ZERO16 = Buffer.alloc(16);
/** Columns a day's digest covers, in this order: every column of a row but its day, site and spool position. */
const DIGEST_COLUMNS = ['id', 'kind', 't', 'nat_ip', 'nat_port', 'port_end', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'code', 'nulls', 'device', 'vendor', 'reason', 'login', 'raw'];
/** How long a processor starting waits for its ClickHouse server to answer. */
const START_WAIT_MS = 30_000;
/** Rows read in one statement by digest() (whole minutes). */
const DIGEST_CHUNK_ROWS = 250_000;

/** What the store knows of one day, as read from the server (and kept up to date by its inserts). */
interface DayState {
  /** Spool position this site committed into the day. */
  pos: number;
  /** Next line number of this site in the day. */
  seq: number;
  /** Records of the day (this site). */
  records: number;
}

export type ChStoreConfig = ChConfig & Pick<Config, 'cold_storage_dir'>;

export class ClickhouseStore implements Store, DayDigests {
  /** ClickHouse keeps no day files: nothing to seal as files (docs/clickhouse.md, evidence). */
  readonly dayFiles: DayFiles | null = null;
  /** Days are sealed by the hash of this site's rows (evidence/row-seal.ts). */
  readonly dayDigests: DayDigests = this;
  readonly client: ChClient;
  private readonly db: string;
  private readonly site: number;
  private readonly days = new Map<string, DayState>();
  private schemaReady = false;

  constructor(private readonly cfg: ChStoreConfig, env: NodeJS.ProcessEnv = process.env) {
    this.client = new ChClient(cfg, env);
    mkdirSync(cfg.cold_storage_dir, { recursive: true }); // the seal manifest and legal holds stay local
    this.db = cfg.clickhouse_database;
    this.site = cfg.clickhouse_site;
  }

  /** Create the database and tables when missing (after the server's features are known). */
  private ensureSchema(): void {
    if (this.schemaReady) return;
    const f = this.client.features();
    this.client.exec(`CREATE DATABASE IF NOT EXISTS ${this.db}`);
    this.client.exec(tableDdl(this.db, f));
    if (this.cfg.clickhouse_cluster) this.client.exec(distributedDdl(this.db, this.cfg.clickhouse_cluster));
    this.schemaReady = true;
  }

  private state(day: string): DayState {
    let s = this.days.get(day);
    if (!s) {
      this.ensureSchema();
      const [row] = this.client.tsv(`SELECT max(pos), max(id), countIf(kind = ${KIND_RECORD}) FROM ${this.db}.rec WHERE day = ${daySql(day)} AND site = ${int(this.site)}`);
      const [pos, maxId, records] = (row ?? ['0', '0', '0']).map(Number) as [number, number, number];
      s = { pos, seq: maxId > 0 ? Math.floor(maxId / (SITES * RECORDS_PER_LINE)) + 1 : 1, records };
      this.days.set(day, s);
      while (this.days.size > 8) this.days.delete(this.days.keys().next().value as string);
    }
    return s;
  }

  /**
   * Highest spool position this site committed (the last 3 days). Asked at start: a server still
   * starting (boot order) is waited for up to START_WAIT_MS before the processor gives up.
   */
  maxCommittedPos(): number {
    const deadline = Date.now() + START_WAIT_MS;
    for (;;) {
      try {
        this.ensureSchema();
        const since = dayOf(Date.now() - 3 * DAY_MS);
        const [row] = this.client.tsv(`SELECT max(pos) FROM ${this.db}.rec WHERE day >= ${daySql(since)} AND site = ${int(this.site)}`);
        return Number(row?.[0] ?? 0);
      } catch (err) {
        if (!(err instanceof ChError) || err.code !== 'MEGALOG_ERR_CLICKHOUSE_DOWN' || Date.now() > deadline) throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
      }
    }
  }

  commitDay(day: string, lines: DayLine[], batchEnd: number): DayCommitResult {
    const res: DayCommitResult = { records: 0, lines: 0, unparsed: 0, ignored: 0, skipped: 0, sessions: 0, duplicateSessions: 0 };
    const st = this.state(day);
    const todo = lines.filter((l) => l.end > st.pos);
    res.skipped = lines.length - todo.length;
    if (batchEnd <= st.pos) return res;
    const dayMs = Date.parse(`${day}T00:00:00Z`);
    const dn = dayNumber(day);
    const w = new RowWriter();
    let seq = st.seq;
    const site = this.site;
    const head = (pos: number, kind: number, id: number, t: number) => {
      w.u16(dn);
      w.u16(site);
      w.u64(pos);
      w.u8(kind);
      w.u64(id);
      w.u32(Math.min(Math.max(0, t), 0xffffffff));
      w.rows++;
    };
    for (const l of todo) {
      const lineNo = seq++;
      res.lines++;
      if (l.status === 'records') {
        const vendor = l.vendor ?? 'unknown';
        const recs = l.records; // made once: a handoff line makes them when asked
        for (let k = 0; k < recs.length && k < RECORDS_PER_LINE; k++) {
          const r = recs[k]!;
          const nat = ipToDbFast(r.nat_ip);
          if (nat == null) continue;
          const range = r.nat_port_start != null;
          const src = ipToDbFast(r.src_ip);
          const dst = ipToDbFast(r.dst_ip);
          const code = eventCode(r.event) * 1024 + protoCode(r.proto); // no vendor number: `vendor` has its name
          head(l.end, KIND_RECORD, (lineNo * RECORDS_PER_LINE + k) * SITES + site, (r.time ?? l.time) - dayMs);
          w.addr(nat);
          w.i32(range ? r.nat_port_start! : r.nat_port ?? -1);
          w.i32(range && r.nat_port_end != null ? r.nat_port_end : -1);
          w.addr(src);
          w.i32(r.src_port ?? -1);
          w.addr(dst);
          w.i32(r.dst_port ?? -1);
          w.u32(code);
          w.u8((src == null ? 1 : 0) | (dst == null ? 2 : 0));
          w.str(l.device);
          w.str(vendor);
          w.str('');
          w.str(r.login ?? '');
          w.bytes(l.payload);
          res.records++;
        }
      } else {
        // A RADIUS accounting packet is kept as a line of its own kind (the subscriber step does not read it from ClickHouse yet).
        head(l.end, l.status === 'unparsed' ? KIND_UNPARSED : l.status === 'session' ? KIND_SESSION : KIND_IGNORED, lineNo * RECORDS_PER_LINE * SITES + site, l.time - dayMs);
        w.fixed16(ZERO16);
        w.i32(-1);
        w.i32(-1);
        w.fixed16(ZERO16);
        w.i32(-1);
        w.fixed16(ZERO16);
        w.i32(-1);
        w.u32(0);
        w.u8(3);
        w.str(l.device);
        w.str(l.vendor ?? '');
        w.str(l.reason ?? '');
        w.str('');
        w.bytes(l.payload);
        if (l.status === 'unparsed') res.unparsed++;
        else if (l.status === 'session') res.sessions++;
        else res.ignored++;
      }
    }
    // The mark: this site has committed the day up to batchEnd (max(pos) of the partition).
    head(batchEnd, KIND_MARK, 0, 0);
    w.fixed16(ZERO16);
    for (const v of [-1, -1]) w.i32(v);
    w.fixed16(ZERO16);
    w.i32(-1);
    w.fixed16(ZERO16);
    w.i32(-1);
    w.u32(0);
    w.u8(3);
    for (let i = 0; i < 5; i++) w.str(''); // device, vendor, reason, login, raw
    try {
      this.client.insert(`${this.db}.rec`, COLUMNS, w.done(), w.rows);
      fault('insert'); // tests: die with the insert landed and its answer not taken
    } catch (err) {
      // Did it land? Ask the server (the outcome of a lost answer is only known there). Until the
      // server answers, the day's state is forgotten, so the next try asks first.
      this.days.delete(day);
      let landed = false;
      try {
        landed = this.state(day).pos >= batchEnd;
      } catch {
        /* still down: asked again before the next insert */
      }
      if (!landed) throw err;
      return res; // the state just read counts what landed
    }
    st.pos = batchEnd;
    st.seq = seq;
    st.records += res.records;
    return res;
  }

  /** Records of `day` (this site); 0 while the server cannot say (a dashboard figure, never an error). */
  recordsOf(day: string): number {
    try {
      return this.state(day).records;
    } catch {
      return 0;
    }
  }

  /** Inserts are acknowledged by the server once written (see the header): nothing to fsync here. */
  syncAll(): void {}

  /** The days (partitions) this server holds, oldest first. */
  listDayNames(): string[] {
    this.ensureSchema();
    return this.client
      .tsv(`SELECT DISTINCT toString(min_date) FROM system.parts WHERE database = '${this.db}' AND table = 'rec' AND active ORDER BY 1`)
      .map((r) => r[0]!)
      .filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d));
  }

  /**
   * SHA-256 of this site's rows of `day` (records and kept lines, not the marks), in the order
   * (minute, id), each row as RowBinary of DIGEST_COLUMNS: read in chunks of whole minutes of at most
   * DIGEST_CHUNK_ROWS rows (a busier minute is one chunk), so memory stays bounded by a chunk.
   */
  digest(day: string): DayDigest {
    this.ensureSchema();
    const where = `day = ${daySql(day)} AND site = ${int(this.site)} AND kind != ${KIND_MARK}`;
    const minutes = this.client.tsv(`SELECT intDiv(t, 60000) AS m, count() FROM ${this.db}.rec WHERE ${where} GROUP BY m ORDER BY m`).map((r) => [Number(r[0]), Number(r[1])] as const);
    const hash = createHash('sha256');
    let bytes = 0;
    let records = 0;
    let lines = 0;
    for (let i = 0; i < minutes.length; ) {
      const from = minutes[i]![0];
      let n = 0;
      let j = i;
      while (j < minutes.length && (j === i || n + minutes[j]![1] <= DIGEST_CHUNK_ROWS)) n += minutes[j++]![1];
      const to = j < minutes.length ? minutes[j]![0] : Number.MAX_SAFE_INTEGER;
      const upper = to === Number.MAX_SAFE_INTEGER ? '' : ` AND t < ${int(to * 60_000)}`;
      const buf = this.client.query(`SELECT ${DIGEST_COLUMNS.join(', ')} FROM ${this.db}.rec WHERE ${where} AND t >= ${int(from * 60_000)}${upper} ORDER BY intDiv(t, 60000), id FORMAT RowBinary`);
      hash.update(buf);
      bytes += buf.length;
      const c = this.client.tsv(`SELECT countIf(kind = ${KIND_RECORD}), countIf(kind != ${KIND_RECORD} OR intDiv(id, ${SITES}) % ${RECORDS_PER_LINE} = 0) FROM ${this.db}.rec WHERE ${where} AND t >= ${int(from * 60_000)}${upper}`)[0]!;
      records += Number(c[0]);
      lines += Number(c[1]);
      i = j;
    }
    return { sha256: hash.digest('hex'), bytes, records, lines };
  }

  /**
   * What the server holds per day, every site (the `megalog stats` contract): records, unparsed and
   * ignored lines, and the bytes of the day's partition on this server.
   */
  listDays(): { day: string; records: number; unparsed: number; ignored: number; bytes: number }[] {
    this.ensureSchema();
    const bytes = new Map(this.client.tsv(`SELECT toString(min_date), sum(bytes) FROM system.parts WHERE database = '${this.db}' AND table = 'rec' AND active GROUP BY min_date`).map((r) => [r[0]!, Number(r[1])]));
    const table = `${this.db}.${this.cfg.clickhouse_cluster ? 'rec_all' : 'rec'}`;
    return this.client
      .tsv(`SELECT toString(day), countIf(kind = ${KIND_RECORD}), countIf(kind = ${KIND_UNPARSED}), countIf(kind = ${KIND_IGNORED}) FROM ${table} GROUP BY day ORDER BY day`)
      .map((r) => ({ day: r[0]!, records: Number(r[1]), unparsed: Number(r[2]), ignored: Number(r[3]), bytes: bytes.get(r[0]!) ?? 0 }));
  }

  /** Drop whole day partitions older than `retentionDays` (a held day stays: `<cold>/<day>.db.hold`). */
  applyRetention(retentionDays: number, now = Date.now(), dryRun = false): string[] {
    const cutoff = dayOf(now - retentionDays * DAY_MS);
    const removed: string[] = [];
    for (const day of this.listDayNames()) {
      if (day >= cutoff) break;
      if (existsSync(join(this.cfg.cold_storage_dir, `${day}.db.hold`))) continue;
      if (!dryRun) {
        this.client.exec(`ALTER TABLE ${this.db}.rec DROP PARTITION ${daySql(day).replace(/^toDate\((.*)\)$/, '$1')}`);
        this.days.delete(day);
      }
      removed.push(day);
    }
    return removed;
  }

  isFull(err: unknown): boolean {
    return err instanceof ChError && /NOT_ENOUGH_SPACE|Not enough space|Cannot reserve/.test(err.message);
  }

  close(): void {
    this.days.clear();
  }
}
