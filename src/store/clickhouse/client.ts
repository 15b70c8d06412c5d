// A ClickHouse server as the store sees it: where it is, who we are, what it can do (version and
// features detected, never assumed), and statements sent over HTTP (http.ts).
//
// Credentials: the user is `clickhouse_user`; the password comes from MEGALOG_CLICKHOUSE_PASSWORD or
// from `clickhouse_password_file`, which must be readable by its owner only (mode 0600 or 0400),
// like the TLS key of a listener. Like MEGALOG_AUDIT_KEY (users/audit-key.ts), config/ leaves this
// secret to the module that uses it. It is sent only in the Authorization header.
//
// Statements never splice a string from input: numbers are checked integers, addresses are written
// as hex of their 16 bytes, identifiers come from the validated configuration, and strings (device
// addresses, days) go through lit() below, which escapes every byte ClickHouse's lexer treats specially.
import { readFileSync, statSync } from 'node:fs';
import type { Config } from '../../config/load.js';
import type { ClickhouseErrorCode } from '../../core/errors.js';
import { requestSync, type ChResponse } from './http.js';

export type ChConfig = Pick<Config, 'clickhouse_url' | 'clickhouse_user' | 'clickhouse_password_file' | 'clickhouse_ca_file' | 'clickhouse_database' | 'clickhouse_cluster' | 'clickhouse_site'>;

/** Longest a statement may take before the store gives up on it (the commit retries with backoff). */
const TIMEOUT_MS = 60_000;
/** Most bytes one answer may hold in memory. */
export const MAX_ANSWER_BYTES = 256 * 1024 * 1024;

export class ChError extends Error {
  constructor(
    readonly code: ClickhouseErrorCode,
    message: string,
    /** The server never answered: the statement may or may not have run. */
    readonly unknownOutcome = false,
  ) {
    super(message);
  }
}

/** A string literal for ClickHouse SQL: quoted, every backslash and quote escaped, control bytes as \xHH. */
export function lit(s: string): string {
  let out = "'";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "'" || ch === '\\') out += '\\' + ch;
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + "'";
}

/** A checked integer for SQL (throws on anything else: a programmer error). */
export function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new TypeError(`not an integer: ${n}`);
  return String(n);
}

/** The password: MEGALOG_CLICKHOUSE_PASSWORD, else the file (owner-only), else none. */
export function readPassword(cfg: ChConfig, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.MEGALOG_CLICKHOUSE_PASSWORD;
  if (fromEnv) return fromEnv;
  if (!cfg.clickhouse_password_file) return '';
  let st;
  try {
    st = statSync(cfg.clickhouse_password_file);
  } catch {
    throw new ChError('MEGALOG_ERR_CLICKHOUSE_CONFIG', `clickhouse_password_file ${cfg.clickhouse_password_file}: cannot read it`);
  }
  if ((st.mode & 0o077) !== 0) throw new ChError('MEGALOG_ERR_CLICKHOUSE_CONFIG', `clickhouse_password_file ${cfg.clickhouse_password_file}: readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  return readFileSync(cfg.clickhouse_password_file, 'utf8').replace(/\r?\n$/, '');
}

/** What the server can do, detected at connect. */
export interface Features {
  version: string;
  /** major·1000 + minor. */
  versionNum: number;
  /** Column codecs (CODEC(ZSTD)): system.columns has compression_codec. */
  codecs: boolean;
  /** The fsync_after_insert setting: an acknowledged insert is on disk, not only in the page cache. */
  fsyncAfterInsert: boolean;
}

export class ChClient {
  readonly origin: string;
  private readonly auth: string;
  private readonly ca: string;
  private feats: Features | null = null;
  /** Statements sent (tests, bench). */
  statements = 0;

  constructor(readonly cfg: ChConfig, env: NodeJS.ProcessEnv = process.env) {
    const u = new URL(cfg.clickhouse_url);
    this.origin = `${u.protocol}//${u.host}`;
    const pw = readPassword(cfg, env);
    this.auth = cfg.clickhouse_user || pw ? 'Basic ' + Buffer.from(`${cfg.clickhouse_user}:${pw}`).toString('base64') : '';
    this.ca = cfg.clickhouse_ca_file ? readFileSync(cfg.clickhouse_ca_file, 'utf8') : '';
  }

  /** Send one statement; `body` is an INSERT's data. Throws ChError. */
  private send(sql: string, body: Buffer | null, settings: Record<string, string>, maxBytes: number): Buffer {
    const params: Record<string, string> = { ...settings, query: sql };
    let res: ChResponse = { status: 0, body: Buffer.alloc(0) };
    this.statements++;
    // A keep-alive socket the server closed fails at once (EPIPE/ECONNRESET): once more, on a new socket.
    for (let attempt = 0; attempt < 2; attempt++) {
      res = requestSync({ url: this.origin + '/', params, body, auth: this.auth, ca: this.ca, timeoutMs: TIMEOUT_MS, maxBytes });
      if (!res.error || !/^(EPIPE|ECONNRESET)$/.test(res.error.code) || body) break;
    }
    if (res.error?.code === 'TOO_BIG') throw new ChError('MEGALOG_ERR_CLICKHOUSE_TOO_BIG', `clickhouse ${this.origin}: ${res.error.message}`);
    if (res.error) throw new ChError('MEGALOG_ERR_CLICKHOUSE_DOWN', `clickhouse ${this.origin}: ${res.error.code} ${res.error.message}`, true);
    if (res.status !== 200) {
      const text = res.body.toString('utf8', 0, Math.min(res.body.length, 2000)).trim();
      // 5xx from a proxy, or a server going down mid-statement: the outcome is unknown.
      throw new ChError('MEGALOG_ERR_CLICKHOUSE_QUERY', `clickhouse ${this.origin}: HTTP ${res.status}: ${text}`, res.status >= 502);
    }
    return res.body;
  }

  /** A statement without an answer (DDL). */
  exec(sql: string): void {
    this.send(sql, null, {}, 1 << 20);
  }

  /** A query's answer as bytes (use FORMAT RowBinary or TSV in `sql`). */
  query(sql: string, maxBytes = MAX_ANSWER_BYTES): Buffer {
    return this.send(sql, null, { max_result_bytes: String(maxBytes), result_overflow_mode: 'throw' }, maxBytes + 65536);
  }

  /** Rows of a TSV answer (small answers: versions, counts). */
  tsv(sql: string): string[][] {
    const text = this.query(`${sql} FORMAT TabSeparated`, 16 << 20).toString('utf8');
    return text.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
  }

  /**
   * INSERT … FORMAT RowBinary with `data`, in one block (max_insert_block_size above the row count):
   * one part per partition, written whole or not at all.
   */
  insert(table: string, columns: readonly string[], data: Buffer, rows: number): void {
    const settings: Record<string, string> = { max_insert_block_size: String(Math.max(1_048_576, rows + 1)) };
    if (this.features().fsyncAfterInsert) settings.fsync_after_insert = '1';
    this.send(`INSERT INTO ${table} (${columns.join(', ')}) FORMAT RowBinary`, data, settings, 1 << 20);
  }

  features(): Features {
    if (!this.feats) {
      const version = this.tsv('SELECT version()')[0]?.[0] ?? '0.0';
      const [maj, min] = version.split('.').map(Number) as [number, number];
      const codecs = this.tsv("SELECT count() FROM system.columns WHERE database = 'system' AND table = 'columns' AND name = 'compression_codec'")[0]?.[0] === '1';
      const fsyncAfterInsert = this.tsv("SELECT count() FROM system.settings WHERE name = 'fsync_after_insert'")[0]?.[0] === '1';
      this.feats = { version, versionNum: (maj || 0) * 1000 + (min || 0), codecs, fsyncAfterInsert };
    }
    return this.feats;
  }
}
