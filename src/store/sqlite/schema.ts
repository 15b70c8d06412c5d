// Day file schema (one SQLite file per UTC day, `<cold>/YYYY-MM-DD.db`).
//
//   nat      one row per translation, clustered by (nat_ip, nat_port, t): "who had public ip:port at T"
//            is one B-tree descent. nat_ip/src_ip/dst_ip: INTEGER for IPv4, 16-byte BLOB for IPv6.
//            nat_port is the session port or a block's first port (port_end set for blocks), -1 when
//            the protocol has none (ICMP without id). t = ms since the day's 00:00 UTC.
//            code = vendor·65536 + event·1024 + proto (IANA number; 511 none, 510 other).
//            id = raw_ref·64 + index of the record within its message: unique, and it names the
//            original line.
//   nat_by_src  (src_ip, t): "what did this subscriber hold over a range".
//   raw      the original messages, exact bytes, in deflate blocks of up to RAW_BLOCK lines:
//            data = deflateRaw( (varint len, bytes)* ). raw_ref = block_id·RAW_BLOCK + index.
//   line     messages that gave no record: status 1 unparsed, 2 ignored (reason = vocab id).
//   device   sender addresses seen this day; vocab: vendor and reason names → small ids.
//   meta     spool_pos (end position of the last spool record committed here: replays skip up to
//            it, which makes commits exactly-once), counters, schema version.
export const SCHEMA_VERSION = 1;
export const RAW_BLOCK = 1024;
export const MAX_RECORDS_PER_LINE = 64;

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
  PRIMARY KEY (nat_ip, nat_port, t, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nat_by_src ON nat (src_ip, t);
CREATE TABLE IF NOT EXISTS line (id INTEGER PRIMARY KEY, t INTEGER NOT NULL, device INTEGER NOT NULL, status INTEGER NOT NULL, reason INTEGER);
`;
