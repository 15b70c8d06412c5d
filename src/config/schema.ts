// The one configuration schema: every key, its default, its type and what it allows.
// Key names keep the original deployment guide's (`hot_storage_dir`, `batch_size`, …); new keys carry units.

export type KeyKind =
  | { type: 'string'; allowEmpty?: boolean }
  | { type: 'int'; min: number; max: number }
  | { type: 'bool' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'listen' } // comma-separated host:port list, may be empty
  | { type: 'address' } // one host:port
  | { type: 'strings' } // list of strings (YAML list, or comma-separated in the environment)
  | { type: 'devices' }; // map of device address → { name, vendor, timezone }

export interface KeySpec {
  kind: KeyKind;
  default: unknown;
  help: string;
}

export const SCHEMA = {
  hot_storage_dir: { kind: { type: 'string' }, default: './var/hot', help: 'spool and state files (SSD)' },
  cold_storage_dir: { kind: { type: 'string' }, default: './var/cold', help: 'one SQLite file per UTC day (HDD)' },
  users_db_path: { kind: { type: 'string' }, default: './var/users.db', help: 'users, sessions and audit log' },
  batch_size: { kind: { type: 'int', min: 1, max: 1_000_000 }, default: 500, help: 'lines that trigger a commit (under a fast stream, at most one commit every 0.5 s)' },
  batch_timeout_sec: { kind: { type: 'int', min: 1, max: 3600 }, default: 10, help: 'longest a received line waits before commit' },
  batch_max_lines: { kind: { type: 'int', min: 1, max: 10_000_000 }, default: 100_000, help: 'most lines one commit takes when behind' },
  db_journal_mode: { kind: { type: 'enum', values: ['WAL', 'DELETE', 'TRUNCATE'] }, default: 'WAL', help: 'SQLite journal mode of day files' },
  db_synchronous: { kind: { type: 'enum', values: ['OFF', 'NORMAL', 'FULL', 'EXTRA'] }, default: 'NORMAL', help: 'SQLite synchronous mode of day files' },
  db_cache_size_mib: { kind: { type: 'int', min: 2, max: 65536 }, default: 256, help: 'SQLite page cache of the day being written' },
  db_max_page_count: { kind: { type: 'int', min: 0, max: 2 ** 31 - 1 }, default: 0, help: 'cap on pages per day file (0 = no cap; tests use it to simulate a full disk)' },
  log_retention_days: { kind: { type: 'int', min: 1, max: 36500 }, default: 365, help: 'day files older than this are deleted' },
  seal_grace_sec: { kind: { type: 'int', min: 0, max: 30 * 86_400 }, default: 7200, help: 'a day file is sealed (hashed into the manifest, made read-only) this long after its UTC day ends' },
  seal_reopen_delay_sec: { kind: { type: 'int', min: 0, max: 7 * 86_400 }, default: 3600, help: 'a sealed day reopened by late lines is sealed again after this, doubled at each reopening of that day (at most 7 days)' },
  enable_audit_log: { kind: { type: 'bool' }, default: true, help: 'record every login, search, export and admin action' },
  noise_filters: { kind: { type: 'strings' }, default: [], help: 'substrings: a line containing one is counted as noise and not stored' },
  syslog_udp_listen: { kind: { type: 'listen' }, default: '127.0.0.1:5514', help: 'UDP syslog listeners' },
  syslog_tcp_listen: { kind: { type: 'listen' }, default: '127.0.0.1:5514', help: 'TCP syslog listeners (RFC 6587)' },
  syslog_tls_listen: { kind: { type: 'listen' }, default: '', help: 'TLS syslog listeners (RFC 5425)' },
  ipfix_listen: { kind: { type: 'listen' }, default: '', help: 'UDP listeners for IPFIX and NetFlow v9 NAT event logging (RFC 8158; conventionally port 4739)' },
  tls_cert_file: { kind: { type: 'string', allowEmpty: true }, default: '', help: 'PEM certificate for TLS listeners (reloaded on SIGHUP)' },
  tls_key_file: { kind: { type: 'string', allowEmpty: true }, default: '', help: 'PEM key for TLS listeners (reloaded on SIGHUP)' },
  tls_ca_file: { kind: { type: 'string', allowEmpty: true }, default: '', help: 'PEM CA bundle: when set, senders must present a certificate it signed' },
  udp_recv_buffer_bytes: { kind: { type: 'int', min: 0, max: 2 ** 31 - 1 }, default: 33_554_432, help: 'SO_RCVBUF asked for UDP sockets (kernel caps it at net.core.rmem_max)' },
  tcp_max_frame_bytes: { kind: { type: 'int', min: 480, max: 16_777_216 }, default: 65_536, help: 'longest syslog frame kept whole; longer ones are truncated and counted' },
  tcp_max_connections: { kind: { type: 'int', min: 1, max: 100_000 }, default: 1000, help: 'concurrent TCP/TLS connections per listener' },
  tcp_max_connections_per_source: { kind: { type: 'int', min: 1, max: 100_000 }, default: 16, help: 'concurrent TCP/TLS connections per listener from one sender address (IPv6: one /64), configured devices included' },
  tcp_reserved_for_devices_percent: { kind: { type: 'int', min: 0, max: 100 }, default: 20, help: 'share of tcp_max_connections that only addresses listed in devices may use (none reserved while devices is empty)' },
  tcp_idle_timeout_sec: { kind: { type: 'int', min: 0, max: 86_400 }, default: 600, help: 'close a TCP/TLS sender silent this long (0 = never)' },
  tail_file: { kind: { type: 'string', allowEmpty: true }, default: '', help: 'raw log file to follow (e.g. rsyslog\'s hot_logs.raw)' },
  tail_poll_ms: { kind: { type: 'int', min: 10, max: 60_000 }, default: 250, help: 'how often the tailed file is checked' },
  spool_fsync: { kind: { type: 'enum', values: ['always', 'interval', 'never'] }, default: 'interval', help: 'when spool appends are fsynced' },
  spool_fsync_interval_ms: { kind: { type: 'int', min: 1, max: 60_000 }, default: 1000, help: 'fsync period with spool_fsync: interval' },
  spool_segment_bytes: { kind: { type: 'int', min: 4096, max: 2 ** 31 - 1 }, default: 67_108_864, help: 'spool segment size' },
  spool_max_bytes: { kind: { type: 'int', min: 65_536, max: Number.MAX_SAFE_INTEGER }, default: 20 * 2 ** 30, help: 'uncommitted spool beyond which TCP pauses and UDP drops' },
  handoff_max_bytes: { kind: { type: 'int', min: 0, max: 2 ** 31 - 1 }, default: 64 * 2 ** 20, help: 'received lines held in memory for the committer; beyond it, it reads them back from the spool (0 = always from the spool)' },
  spool_degraded_bytes: { kind: { type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER }, default: 256 * 2 ** 20, help: 'uncommitted spool beyond which /health says degraded' },
  cold_min_free_bytes: { kind: { type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER }, default: 1 * 2 ** 30, help: 'free space on the cold disk below which /health says degraded' },
  radius_acct_listen: { kind: { type: 'listen' }, default: '', help: 'RADIUS accounting listeners (RFC 2866, UDP; conventionally :1813); off when empty' },
  radius_clients_file: { kind: { type: 'string', allowEmpty: true }, default: '', help: 'NAS clients of the RADIUS listener, one "address[/prefix] secret [name]" a line; must not be readable by group or others (or give the same lines in MEGALOG_RADIUS_CLIENTS)' },
  radius_session_lookback_days: { kind: { type: 'int', min: 1, max: 90 }, default: 7, help: 'how many days before T an answer looks for the RADIUS session that held an inside address (sessions without interim updates that started earlier are not found)' },
  web_listen: { kind: { type: 'address' }, default: '127.0.0.1:5000', help: 'web console address, host:port (behind nginx)' },
  timezone: { kind: { type: 'string' }, default: 'America/Sao_Paulo', help: 'IANA zone for times shown and typed in the console, and for zone-less log headers' },
  devices: { kind: { type: 'devices' }, default: {}, help: 'per-device settings keyed by sender address: name, vendor pin, timezone' },
  nokia_flow_fields: { kind: { type: 'strings' }, default: [], help: 'Nokia SR OS flow-log field order (the format is not public): proto, src_ip, src_port, nat_ip, nat_port, dst_ip, dst_port, skip' },
  storage: { kind: { type: 'enum', values: ['sqlite', 'clickhouse'] }, default: 'sqlite', help: 'storage engine (the stores in src/store/index.ts): SQLite day files, or a ClickHouse server or cluster (docs/clickhouse.md)' },
  clickhouse_url: { kind: { type: 'string', allowEmpty: true }, default: '', help: 'ClickHouse HTTP interface with storage: clickhouse, http://host:8123 or https://host:8443 (no credentials in it)' },
  clickhouse_user: { kind: { type: 'string', allowEmpty: true }, default: 'default', help: 'ClickHouse user; the password comes from MEGALOG_CLICKHOUSE_PASSWORD or clickhouse_password_file' },
  clickhouse_password_file: { kind: { type: 'string', allowEmpty: true }, default: '', help: 'file holding the ClickHouse password, readable by its owner only (mode 600)' },
  clickhouse_ca_file: { kind: { type: 'string', allowEmpty: true }, default: '', help: 'PEM CA bundle that signed the ClickHouse server certificate (https URL; else the system CAs)' },
  clickhouse_database: { kind: { type: 'string' }, default: 'megalog', help: 'ClickHouse database holding the rec table (created when missing)' },
  clickhouse_cluster: { kind: { type: 'string', allowEmpty: true }, default: '', help: 'ClickHouse cluster (remote_servers) to read through a Distributed table; writes go to the server of clickhouse_url' },
  clickhouse_site: { kind: { type: 'int', min: 0, max: 1023 }, default: 0, help: 'number of this processor among those writing into one ClickHouse table (each its own)' },
  language: { kind: { type: 'enum', values: ['pt-BR', 'en'] }, default: 'pt-BR', help: 'console language' },
  session_idle_timeout_min: { kind: { type: 'int', min: 1, max: 1440 }, default: 30, help: 'console session idle timeout' },
} as const satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof SCHEMA;

export interface DeviceConfig {
  name: string;
  vendor: string | null;
  timezone: string | null;
}

/** The value type a key of kind K holds once loaded. */
type ValueOf<K extends KeyKind> = K extends { type: 'string' } | { type: 'address' }
  ? string
  : K extends { type: 'int' }
    ? number
    : K extends { type: 'bool' }
      ? boolean
      : K extends { type: 'enum'; values: readonly (infer V)[] }
        ? V
        : K extends { type: 'listen' } | { type: 'strings' }
          ? readonly string[]
          : K extends { type: 'devices' }
            ? Readonly<Record<string, DeviceConfig>>
            : never;

/** The loaded configuration: one field per SCHEMA key, typed from its kind. */
export type Config = { [K in ConfigKey]: ValueOf<(typeof SCHEMA)[K]['kind']> } & {
  /** Where the file was read from, or null for defaults only. */
  readonly source: string | null;
};
