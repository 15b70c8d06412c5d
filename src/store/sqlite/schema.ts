// Day file schema (one SQLite file per UTC day, `<cold>/YYYY-MM-DD.db`).
//
//   rec      the session records, packed: one row per (public address, hour, piece or part), each a
//            set of records sorted by (nat_port, t, id) in fixed-width columns (part.ts). A commit
//            writes one piece (lvl ≥ 0) per address and hour it touched; FANOUT pieces of a level are
//            merged into one of the next, so an hour still being written has a few dozen pieces at
//            most. Once an hour is over (CLOSE_GRACE_MS past its end and no longer written), its
//            pieces are merged into parts (lvl −1): disjoint port ranges of at most PART_ROWS
//            records, [port_lo, port_hi] in the row. "Who had ip:port in this hour" reads the rows of
//            (nat_ip, hour) whose range holds the port, and binary-searches each.
//            rec ids are never reused (AUTOINCREMENT): a reader caches parts by id.
//            nat_ip: INTEGER for IPv4, 16-byte BLOB for IPv6; t = ms since the day's 00:00 UTC.
//            code = vendor·65536 + event·1024 + proto (IANA number; 511 none, 510 other).
//            id names the original line: raw_ref + k·2^32 for the k-th record of a message.
//   pset     the exact set of ports of each closed hour of each public address, per segment of
//            4,096 ports (port-set.ts): which hours hold ip:port is one read of ≤ 24 small rows.
//            Written when an hour is packed, widened when late records come into a closed hour; an
//            hour without pset rows (still written) may hold any port.
//   blk      port-block records (a block of ports, or a block allocate/release event), one row each,
//            by (nat_ip, nat_port, t): few, and read by port range over the whole day.
//   src_seen one row per (hour, subscriber, public address) seen: "what did this subscriber hold over
//            a range" reads these rows, then those hours of each public address.
//   login    the subscriber logins the day's lines named (NatRecord.login), each once: a record keeps
//            the login's id (a column of its part, blk.login), ~1 B a record.
//   login_seen one row per (login, subscriber address) with the first and last hour the day's lines
//            named them together: "what did login X hold" reads the login's rows, then what each
//            address held, keeping the records of that login. (Per hour it cost ~0.6 B a record on a
//            10 M-record day, as src_seen does; per day 1/24 of that.)
//   owner    which devices logged each public address (an answer names them).
//   day_stat per-day counts for the daily view, and per-minute device activity (day-stat.ts).
//   raw      the original messages, exact bytes recoverable, in blocks of up to RAW_BLOCK lines,
//            raw_ref = block_id·RAW_BLOCK + index: each line kept as its residue against its record
//            (or whole), store/line-codec.ts.
//   shape, kword  what the line codec learned this day: line shapes, and the subscribers' words.
//   line     messages that gave no record: status 1 unparsed, 2 ignored (reason = vocab id).
//   device   sender addresses seen this day; vocab: vendor and reason names → small ids.
//   radius_event  RADIUS accounting session events (sessions.ts), indexed by framed address and time.
//   meta     spool_pos (end position of the last spool record committed here: replays skip up to
//            it, which makes commits exactly-once), counters, schema version.
export const SCHEMA_VERSION = 6;
export const RAW_BLOCK = 1024;
/** Records one message may give (an IPFIX packet gives dozens): id = raw_ref + k·ID_RECORD_STEP stays below 2^53. */
export const MAX_RECORDS_PER_LINE = 1024;
import { HOUR_MS } from '../codes.js';
export { HOUR_MS };

/** Hour of the day of a time (ms since the day's start), 0–23. */
export function hourOf(t: number): number {
  return Math.min(23, Math.max(0, Math.floor(t / HOUR_MS)));
}
/** id = raw_ref + k·ID_RECORD_STEP. */
export const ID_RECORD_STEP = 2 ** 32;
/** Pieces of one level merged into one of the next. */
export const FANOUT = 16;
/**
 * Most records of a closed hour's part. A lookup reads a part only in the hours whose port set
 * (pset) holds its port, so a part can be large: 2,048 records (~16 KB) keep a whole-day read of a
 * busy address to a few hundred parts and save ~1.5 B a record of headers and dictionaries against 256.
 */
export const PART_ROWS = 2048;
/** An hour is closed (its pieces packed into parts) this long after its end, once no commit writes it. */
export const CLOSE_GRACE_MS = 5 * 60_000;
/** lvl of a closed hour's parts. */
export const LVL_PART = -1;

/** Raw ref of the message behind a record id. */
export function rawRefOf(id: number): number {
  return id % ID_RECORD_STEP;
}

export const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value ANY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS device (id INTEGER PRIMARY KEY, address TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS vocab (kind TEXT NOT NULL, name TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (kind, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS raw (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS rec (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  nat_ip ANY NOT NULL,
  hour INTEGER NOT NULL,
  lvl INTEGER NOT NULL,
  port_lo INTEGER NOT NULL,
  port_hi INTEGER NOT NULL,
  n INTEGER NOT NULL,
  t_max INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS rec_key ON rec (nat_ip, hour, port_lo, port_hi, lvl, n, t_max);
CREATE TABLE IF NOT EXISTS pset (nat_ip ANY NOT NULL, seg INTEGER NOT NULL, hour INTEGER NOT NULL, ports BLOB NOT NULL, PRIMARY KEY (nat_ip, seg, hour)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blk (
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
  login INTEGER,
  PRIMARY KEY (nat_ip, nat_port, t, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS login (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS login_seen (login INTEGER NOT NULL, src_ip ANY NOT NULL, first_hour INTEGER NOT NULL, last_hour INTEGER NOT NULL, PRIMARY KEY (login, src_ip)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS src_seen (
  hour INTEGER NOT NULL,
  src_ip ANY NOT NULL,
  nat_ip ANY NOT NULL,
  PRIMARY KEY (hour, src_ip, nat_ip)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS owner (nat_ip ANY NOT NULL, device INTEGER NOT NULL, PRIMARY KEY (nat_ip, device)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shape (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS kword (src_ip ANY NOT NULL, shape INTEGER NOT NULL, idx INTEGER NOT NULL, word BLOB NOT NULL, PRIMARY KEY (src_ip, shape, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS line (id INTEGER PRIMARY KEY, t INTEGER NOT NULL, device INTEGER NOT NULL, status INTEGER NOT NULL, reason INTEGER);
`;
