// Day file schema (one SQLite file per UTC day, `<cold>/YYYY-MM-DD.db`).
//
//   nat      one row per translation, clustered by (nat_ip, t, nat_port): "who had public ip:port at
//            T ± w" is one B-tree descent plus a short scan of that address's rows inside the window,
//            and the candidate list of an address is one contiguous range. Time comes before the
//            port on purpose: rows arrive in time order, so each commit appends near one spot per
//            public address instead of touching a random page per row (with the port first a day of
//            50 M rows fell to < 8 k rows/s as the B-tree outgrew the cache; see test/bench).
//            nat_ip/src_ip/dst_ip: INTEGER for IPv4, 16-byte BLOB for IPv6.
//            nat_port is the session port or a block's first port (port_end set for blocks), -1 when
//            the protocol has none (ICMP without id). t = ms since the day's 00:00 UTC.
//            code = vendor·65536 + event·1024 + proto (IANA number; 511 none, 510 other).
//            id names the original line: raw_ref + k·2^32 for the k-th record of a message (schema 1:
//            raw_ref·64 + k), so the common one-record line costs a 4-byte id.
//   src_seen one row per (hour, subscriber, public address): first/last time and count. "What did
//            this subscriber hold over a range" reads these rows, then the nat rows of each public
//            address in [first, last] with that src_ip. It replaces schema 1's (src_ip, t) index,
//            which cost 33 bytes and one random page write per record.
//   port_seen which ports each public address used in each hour (see ports.ts): an ip:port lookup
//            reads the nat rows of the hours where that port appears, not every row of the address.
//            Added after schema 2 without a version change: a file without it, or an hour not yet
//            closed (meta port_hours), is read from nat as before.
//   port_day the whole day's port summary, one hour mask per (ip, port, class), written once every
//            hour is closed (see ports.ts); read instead of port_seen while meta port_day_pos says it
//            is current.
//   day_stat per-day counts for the daily view (records by hour and device, by hour and protocol, by
//            public address; kept lines by hour, device and status), added in each commit (stats.ts).
//   port_time the seconds of each hour at which each port has rows (see ports.ts): the walk reads
//            those seconds of nat, not the whole hour of the address. Added like port_seen: an hour
//            without it (meta port_time_hours) is read as before.
//   nat_block index of the port-block rows alone, by (nat_ip, first port, t) (a partial index:
//            session rows are not in it, so it costs nothing on session logs). "Which blocks hold
//            port P" is then one range whether the hour is closed or not. Created with new files
//            only (building it on a full day would stall the committer); readers use it when present.
//   raw      the original messages, exact bytes, in blocks of up to RAW_BLOCK lines, raw_ref =
//            block_id·RAW_BLOCK + index. Whole blocks: data = deflateRaw( (varint len, bytes)* );
//            chunked blocks (files with meta raw_dict): RAW_CHUNK-line chunks deflated apart with
//            that dictionary, behind a table of their offsets (see dayfile.ts), so reading one line
//            inflates one chunk. A file may hold both (blocks committed before its dictionary).
//   line     messages that gave no record: status 1 unparsed, 2 ignored (reason = vocab id).
//   device   sender addresses seen this day; vocab: vendor and reason names → small ids.
//   meta     spool_pos (end position of the last spool record committed here: replays skip up to
//            it, which makes commits exactly-once), counters, schema version.
import type Database from 'better-sqlite3';

export const SCHEMA_VERSION = 2;
export const RAW_BLOCK = 1024;
export const MAX_RECORDS_PER_LINE = 64;
export { HOUR_MS } from '../codes.js';
/** id = raw_ref + k·ID_RECORD_STEP (schema ≥ 2). */
export const ID_RECORD_STEP = 2 ** 32;

/** Raw ref of the message behind a nat row id. */
export function rawRefOf(id: number, schemaVersion = SCHEMA_VERSION): number {
  return schemaVersion < 2 ? Math.floor(id / MAX_RECORDS_PER_LINE) : id % ID_RECORD_STEP;
}

// The forensic queries in the shape the layout serves (parameters: ms since the day's start).
/** Who held nat_ip:nat_port in [from, to]: one descent, then that address's rows in the window. */
export const LOOKUP_SQL = 'SELECT * FROM nat WHERE nat_ip = ? AND nat_port = ? AND t BETWEEN ? AND ?';
/** Candidate list of a public address over [from, to]: one contiguous range. */
export const CANDIDATES_SQL = 'SELECT src_ip, count(*) AS n, min(t) AS first, max(t) AS last FROM nat WHERE nat_ip = ? AND t BETWEEN ? AND ? GROUP BY src_ip';
/** Public addresses a subscriber held (params: src_ip, first hour, last hour): one seek per hour. */
export const SRC_SEEN_SQL =
  'SELECT nat_ip, min(first) AS first, max(last) AS last, sum(n) AS n FROM src_seen WHERE src_ip = ? AND hour IN (WITH RECURSIVE h(x) AS (SELECT ? UNION ALL SELECT x + 1 FROM h WHERE x < ?) SELECT x FROM h) GROUP BY nat_ip';
/** Then that subscriber's rows on one public address (params: nat_ip, from, to, src_ip). */
export const SRC_ROWS_SQL = 'SELECT * FROM nat WHERE nat_ip = ? AND t BETWEEN ? AND ? AND src_ip = ?';

/**
 * Whether the file's last commit was made by a writer that keeps the summaries added after schema 2
 * (port_time pieces, day_stat's other-row counts): meta summary_pos, stamped by each such commit
 * (dayfile.ts), equals spool_pos. False when an older writer committed since, or nothing was committed.
 * With 'port_day_pos': whether port_day (ports.ts) is complete, built and merged into by every commit since.
 */
export function summariesCurrent(db: Database.Database, stamp: 'summary_pos' | 'port_day_pos' = 'summary_pos'): boolean {
  const m = db.prepare(`SELECT (SELECT value FROM meta WHERE key = '${stamp}') AS at, (SELECT value FROM meta WHERE key = 'spool_pos') AS pos`).get() as { at: unknown; pos: unknown };
  return m.at != null && Number(m.at) === Number(m.pos);
}

/** The condition that makes a nat row a port block (ports.ts isBlockRow), as the nat_block index states it. */
export const BLOCK_ROW_SQL = '(port_end IS NOT NULL OR (code % 65536) / 1024 IN (2, 3))';
/** See the header; run on new files only. */
export const BLOCK_INDEX_DDL = `CREATE INDEX IF NOT EXISTS nat_block ON nat (nat_ip, nat_port, t) WHERE ${BLOCK_ROW_SQL}`;

export const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value ANY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS device (id INTEGER PRIMARY KEY, address TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS vocab (kind TEXT NOT NULL, name TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (kind, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS raw (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS nat (
  nat_ip ANY NOT NULL,
  nat_port INTEGER NOT NULL,
  t INTEGER NOT NULL,
  id INTEGER NOT NULL,
  port_end INTEGER,
  src_ip ANY,
  src_port INTEGER,
  dst_ip ANY,
  dst_port INTEGER,
  code INTEGER NOT NULL,
  device INTEGER NOT NULL,
  PRIMARY KEY (nat_ip, t, nat_port, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS src_seen (
  hour INTEGER NOT NULL,
  src_ip ANY NOT NULL,
  nat_ip ANY NOT NULL,
  first INTEGER NOT NULL,
  last INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (hour, src_ip, nat_ip)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS port_seen (
  nat_ip ANY NOT NULL,
  part INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  cls INTEGER NOT NULL,
  blocks INTEGER NOT NULL,
  ports BLOB NOT NULL,
  PRIMARY KEY (nat_ip, part, hour, cls)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS port_day (
  nat_ip ANY NOT NULL,
  part INTEGER NOT NULL,
  cls INTEGER NOT NULL,
  hours BLOB NOT NULL,
  PRIMARY KEY (nat_ip, part, cls)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS port_time (
  nat_ip ANY NOT NULL,
  hour INTEGER NOT NULL,
  tpart INTEGER NOT NULL,
  times BLOB NOT NULL,
  PRIMARY KEY (nat_ip, hour, tpart)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS line (id INTEGER PRIMARY KEY, t INTEGER NOT NULL, device INTEGER NOT NULL, status INTEGER NOT NULL, reason INTEGER);
`;
