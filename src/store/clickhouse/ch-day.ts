// ClickHouse store, the read side: one day of `rec` (or `rec_all` over a cluster) as a DayView.
// Each call becomes at most one statement; what a walk asks again and again (a port's rows of the
// day, an address's blocks and last time) is read once and kept for the request, in caches bounded
// by rows. There is no snapshot across statements: rows are only ever added, so an answer read while
// a commit lands may include a record committed after it began, never miss one committed before.
import { dayStart, ipKey, isBlockRow } from '../codes.js';
import { OPEN_KEY_SPAN, type DayView, type NatRow, type OpenScan, type SessionView } from '../store.js';
import { ChClient, int, lit, type ChConfig } from './client.js';
import { addrOf, addrSql, daySql, KIND_IGNORED, KIND_RECORD, KIND_UNPARSED, readRow, ROW_SELECT, RowReader } from './schema.js';

/** Rows a view keeps in its caches (≈ 150 bytes each in memory). */
const CACHE_ROWS = 400_000;
/** Most rows of an address whose original lines rawOf reads in one statement. */
const RAW_BATCH_ROWS = 50_000;
const SRC_PORT_SPAN = 131_072;
/** Rows that may be port blocks (store/codes.ts isBlockRow: a range, or a block event). */
const BLOCK_SQL = '(port_end >= 0 OR intDiv(code % 65536, 1024) IN (2, 3))';
const ALL_HOURS = 0xffffff;
const HOUR_MS = 3_600_000;
const MAX_T = 0xffffffff;

const isOpen = (code: number): boolean => {
  const e = Math.floor((code % 65536) / 1024);
  return e === 0 || e === 4;
};
const byTime = (a: NatRow, b: NatRow): number => a.t - b.t || a.nat_port - b.nat_port || a.id - b.id;
const clampT = (v: number): number => Math.min(MAX_T, Math.max(0, Math.floor(v)));

/** RADIUS session events are not read from ClickHouse yet: a day answers that it has none. */
const NO_SESSIONS: SessionView = { any: () => false, eventsOf: () => [], edgeOf: () => null, nasResetAfter: () => null };

export class ClickhouseDay implements DayView {
  readonly start: number;
  readonly sessions: SessionView = NO_SESSIONS;
  readonly path: string;
  private readonly table: string;
  private readonly devId = new Map<string, number>();
  private readonly devAddr: string[] = [];
  private readonly loginId = new Map<string, number>();
  private readonly loginText: string[] = [];
  private readonly cache = new Map<string, unknown>();
  private cachedRows = 0;
  /** Per address, the widest ipAll read (rows from `from` on): port lookups of an IP-only answer filter it. */
  private readonly ipFrom = new Map<string, { from: number; rows: NatRow[] }>();
  private openArrays: OpenScan | null = null;

  constructor(private readonly client: ChClient, readonly day: string, cfg: ChConfig) {
    this.start = dayStart(day);
    this.table = `${cfg.clickhouse_database}.${cfg.clickhouse_cluster ? 'rec_all' : 'rec'}`;
    this.path = `${client.origin}/${this.table}/${day}`;
  }

  /** The day, or null when the store holds nothing for it. */
  static open(client: ChClient, cfg: ChConfig, day: string): ClickhouseDay | null {
    const table = `${cfg.clickhouse_database}.${cfg.clickhouse_cluster ? 'rec_all' : 'rec'}`;
    let rows: string[][];
    try {
      rows = client.tsv(`SELECT 1 FROM ${table} WHERE day = ${daySql(day)} LIMIT 1`);
    } catch (err) {
      if (/UNKNOWN_TABLE|doesn't exist|Code: 60|Code: 81/.test((err as Error).message)) return null; // nothing written yet
      throw err;
    }
    return rows.length ? new ClickhouseDay(client, day, cfg) : null;
  }

  /** Every statement of a request reads the table as it is then: caches start empty. */
  begin(): void {
    this.cache.clear();
    this.ipFrom.clear();
    this.cachedRows = 0;
  }

  end(): void {}

  current(): boolean {
    return true;
  }

  private device = (address: string): number => {
    let id = this.devId.get(address);
    if (id === undefined) {
      id = this.devAddr.length;
      this.devAddr.push(address);
      this.devId.set(address, id);
    }
    return id;
  };

  private login = (name: string): number => {
    let id = this.loginId.get(name);
    if (id === undefined) {
      id = this.loginText.length;
      this.loginText.push(name);
      this.loginId.set(name, id);
    }
    return id;
  };

  private where(natIp: number | Buffer): string {
    return `day = ${daySql(this.day)} AND kind = ${KIND_RECORD} AND nat_ip = ${addrSql(natIp)}`;
  }

  private rows(sql: string): NatRow[] {
    const r = new RowReader(this.client.query(`SELECT ${ROW_SELECT} FROM ${this.table} WHERE ${sql} ORDER BY t, nat_port, id FORMAT RowBinary`));
    const out: NatRow[] = [];
    while (r.more) out.push(readRow(r, this.device, this.login));
    return out;
  }

  private cached<T>(key: string, load: () => T): T {
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit as T;
    const v = load();
    const n = Array.isArray(v) ? v.length + 1 : v instanceof Map ? v.size + 1 : 1;
    if (this.cachedRows + n > CACHE_ROWS) {
      this.cache.clear();
      this.ipFrom.clear();
      this.cachedRows = 0;
    }
    this.cache.set(key, v);
    this.cachedRows += n;
    return v;
  }

  /** Session rows (not blocks) of natIp:port over the whole day, in time order. */
  private portDay(natIp: number | Buffer, port: number): NatRow[] {
    const k = ipKey(natIp);
    return this.cached(`p|${k}|${port}`, () => {
      if (this.cache.has(`b|${k}`)) return this.rows(`${this.where(natIp)} AND nat_port = ${int(port)}`).filter((r) => !isBlockRow(r.port_end, r.code));
      // The walk reads the address's blocks next: one statement for both.
      const both = this.rows(`${this.where(natIp)} AND (nat_port = ${int(port)} OR ${BLOCK_SQL})`);
      this.cached(`b|${k}`, () => both.filter((r) => isBlockRow(r.port_end, r.code)));
      return both.filter((r) => r.nat_port === port && !isBlockRow(r.port_end, r.code));
    });
  }

  portRowsIn(natIp: number | Buffer, port: number, fromMs: number, toMs: number): NatRow[] {
    const lo = fromMs - this.start;
    const hi = toMs - this.start;
    // An IP-only answer already holds the address's rows: its representatives' lookups read them.
    const all = this.ipFrom.get(ipKey(natIp));
    if (all && all.from <= lo && !this.cache.has(`p|${ipKey(natIp)}|${port}`)) return all.rows.filter((r) => r.nat_port === port && r.t >= lo && r.t < hi && !isBlockRow(r.port_end, r.code));
    return this.portDay(natIp, port).filter((r) => r.t >= lo && r.t < hi);
  }

  portHours(natIp: number | Buffer, port: number): number {
    if (!Number.isInteger(port) || port < 0 || port > 65535) return ALL_HOURS;
    let h = 0;
    for (const r of this.portDay(natIp, port)) h |= 1 << Math.min(23, Math.floor(r.t / HOUR_MS));
    return h;
  }

  lastRowTime(natIp: number | Buffer): number {
    const v = this.cached(`l|${ipKey(natIp)}`, () => {
      const [row] = this.client.tsv(`SELECT count(), max(t) FROM ${this.table} WHERE ${this.where(natIp)}`);
      return row && Number(row[0]) > 0 ? Number(row[1]) : -1;
    });
    return v < 0 ? -Infinity : this.start + v;
  }

  /** Every block row of natIp in the day (few: one range of the table). */
  private blocks(natIp: number | Buffer): NatRow[] {
    return this.cached(`b|${ipKey(natIp)}`, () => this.rows(`${this.where(natIp)} AND ${BLOCK_SQL}`).filter((r) => isBlockRow(r.port_end, r.code)));
  }

  blockRowsIn(natIp: number | Buffer, port: number, maxPorts: number, fromMs: number, toMs: number): NatRow[] {
    const lo = port < 0 ? port : Math.max(0, port - maxPorts + 1);
    const from = fromMs - this.start;
    const to = toMs - this.start;
    return this.blocks(natIp).filter((r) => r.nat_port >= lo && r.nat_port <= port && r.t >= from && r.t < to && ((r.port_end ?? -1) >= port || r.nat_port === port));
  }

  /** Every record of natIp from fromMs on, blocks included, in time order. */
  private ipAll(natIp: number | Buffer, fromMs: number): NatRow[] {
    const from = clampT(fromMs - this.start);
    const rows = this.cached(`a|${ipKey(natIp)}|${from}`, () => this.rows(`${this.where(natIp)} AND t >= ${int(from)}`));
    const k = ipKey(natIp);
    const had = this.ipFrom.get(k);
    if (!had || had.from > from) this.ipFrom.set(k, { from, rows });
    return rows;
  }

  ipRows(natIp: number | Buffer, fromMs: number): IterableIterator<NatRow> {
    return this.ipAll(natIp, fromMs)[Symbol.iterator]();
  }

  ipOpens(natIp: number | Buffer, fromMs: number, intern: (holder: string) => number): OpenScan {
    const rows = this.ipAll(natIp, fromMs).filter((r) => r.src_ip != null && isOpen(r.code) && !isBlockRow(r.port_end, r.code));
    let scan = this.openArrays;
    if (!scan || scan.keys.length < rows.length) scan = this.openArrays = { n: 0, keys: new Float64Array(Math.max(256, rows.length)), holders: new Float64Array(Math.max(256, rows.length)) };
    scan.n = 0;
    for (const r of rows) {
      scan.keys[scan.n] = r.t * OPEN_KEY_SPAN + (r.nat_port + 1) * 1024 + (r.code % 1024);
      const src = r.src_ip!;
      scan.holders[scan.n++] = typeof src === 'number' ? src * SRC_PORT_SPAN + (r.src_port == null ? 0 : r.src_port + 1) : -1 - intern(`${src.toString('hex').toUpperCase()}|${r.src_port ?? ''}`);
    }
    return scan;
  }

  openAt(natIp: number | Buffer, tMs: number, natPort: number, proto: number, ord: number): NatRow | undefined {
    const rows = this.portRowsIn(natIp, natPort, tMs, tMs + 1).filter((r) => r.code % 1024 === proto && r.src_ip != null && isOpen(r.code));
    return rows.sort((a, b) => a.id - b.id)[ord];
  }

  ipOthers(natIp: number | Buffer, fromMs: number): NatRow[] {
    return this.ipAll(natIp, fromMs).filter((r) => r.src_ip != null && (isBlockRow(r.port_end, r.code) || !isOpen(r.code)));
  }

  ipKeyOpens(natIp: number | Buffer, fromMs: number, keys: Iterable<number>): NatRow[] {
    const want = new Set(keys);
    return this.ipAll(natIp, fromMs).filter((r) => r.src_ip != null && isOpen(r.code) && !isBlockRow(r.port_end, r.code) && want.has((r.nat_port + 1) * 1024 + (r.code % 1024)));
  }

  srcKeys(srcIp: number | Buffer, fromMs: number, toMs: number): { nat_ip: number | Buffer; nat_port: number }[] {
    const lo = clampT(fromMs - this.start);
    const hi = clampT(toMs - this.start);
    const r = new RowReader(
      this.client.query(`SELECT DISTINCT nat_ip, nat_port FROM ${this.table} WHERE day = ${daySql(this.day)} AND kind = ${KIND_RECORD} AND bitAnd(nulls, 1) = 0 AND src_ip = ${addrSql(srcIp)} AND t >= ${int(lo)} AND t <= ${int(hi)} FORMAT RowBinary`),
    );
    const out: { nat_ip: number | Buffer; nat_port: number }[] = [];
    while (r.more) {
      const nat = r.fixed16();
      out.push({ nat_ip: nat.subarray(0, 12).every((b) => b === 0) ? nat.readUInt32BE(12) : Buffer.from(nat), nat_port: r.i32() });
    }
    return out;
  }

  owners(natIp: number | Buffer): string[] {
    return this.cached(`o|${ipKey(natIp)}`, () => this.client.tsv(`SELECT DISTINCT device FROM ${this.table} WHERE ${this.where(natIp)} ORDER BY device`).map((r) => unescapeTsv(r[0]!)));
  }

  deviceActive(address: string, fromMs: number, toMs: number): boolean {
    const lo = Math.max(0, Math.floor((fromMs - this.start) / 60_000));
    const hi = Math.min(1439, Math.floor((toMs - this.start) / 60_000));
    if (hi < 0 || lo > 1439 || hi < lo) return false;
    const rows = this.client.tsv(
      `SELECT 1 FROM ${this.table} WHERE day = ${daySql(this.day)} AND kind IN (${KIND_RECORD}, ${KIND_UNPARSED}, ${KIND_IGNORED}) AND device = ${lit(address)} AND t >= ${int(lo * 60_000)} AND t < ${int((hi + 1) * 60_000)} GROUP BY intDiv(t, 60000) HAVING min(t) <= ${int(Math.floor(toMs - this.start))} AND max(t) >= ${int(Math.floor(fromMs - this.start))} LIMIT 1`,
    );
    return rows.length > 0;
  }

  deviceAddress(id: number): string {
    return this.devAddr[id] ?? 'unknown';
  }

  loginName(id: number | null | undefined): string | null {
    return id == null ? null : (this.loginText[id] ?? null);
  }

  loginSources(login: string, fromMs: number, toMs: number): (number | Buffer)[] {
    if (!login) return [];
    // The hours [fromMs, toMs] touches, as the SQLite store's hourly login_seen answers.
    const lo = clampT(Math.floor((fromMs - this.start) / HOUR_MS) * HOUR_MS);
    const hi = clampT((Math.floor((toMs - this.start) / HOUR_MS) + 1) * HOUR_MS);
    const r = new RowReader(
      this.client.query(`SELECT DISTINCT src_ip FROM ${this.table} WHERE day = ${daySql(this.day)} AND kind = ${KIND_RECORD} AND login = ${lit(login)} AND bitAnd(nulls, 1) = 0 AND t >= ${int(lo)} AND t < ${int(hi)} FORMAT RowBinary`),
    );
    const out: (number | Buffer)[] = [];
    while (r.more) out.push(addrOf(r.fixed16()));
    return out;
  }

  rawOf(row: NatRow): Buffer | null {
    const t = row.t;
    if (!Number.isInteger(t) || t < 0 || t > MAX_T) return null;
    // An IP-only answer reads one line per inside address: all of them in one statement.
    const k = ipKey(row.nat_ip);
    const all = this.ipFrom.get(k);
    if (all && all.from <= t && all.rows.length <= RAW_BATCH_ROWS) {
      const raws = this.cached(`r|${k}|${all.from}`, () => {
        const r = new RowReader(this.client.query(`SELECT id, raw FROM ${this.table} WHERE ${this.where(row.nat_ip)} AND t >= ${int(all.from)} FORMAT RowBinary`));
        const out = new Map<number, Buffer>();
        while (r.more) {
          const id = r.u64();
          out.set(id, r.bytes());
        }
        return out;
      });
      const hit = raws.get(row.id);
      if (hit) return Buffer.from(hit);
    }
    const b = this.client.query(
      `SELECT raw FROM ${this.table} WHERE ${this.where(row.nat_ip)} AND nat_port = ${int(row.nat_port)} AND t = ${int(t)} AND id = ${int(row.id)} LIMIT 1 FORMAT RowBinary`,
      16 << 20,
    );
    if (!b.length) return null;
    return Buffer.from(new RowReader(b).bytes());
  }

  rawAt(natIp: number | Buffer, port: number, tMs: number, id: number): Buffer | null {
    return this.rawOf({ nat_ip: natIp, nat_port: port, t: tMs - this.start, id, port_end: null, src_ip: null, src_port: null, dst_ip: null, dst_port: null, code: 0, device: 0 });
  }

  close(): void {
    this.cache.clear();
    this.ipFrom.clear();
  }
}

/** A TabSeparated field back to its text (\\t, \\n, \\\\ …). */
function unescapeTsv(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => ({ t: '\t', n: '\n', r: '\r', '0': '\0', b: '\b', f: '\f' })[c] ?? c);
}
