// The storage seam. The committer writes through `Store`; the query engine reads one day at a time
// through `DayView`; the sealer hashes and protects `DayFiles`. Implementations live one folder each
// (sqlite/ today) and are chosen by `storage:` in the registry, store/index.ts.
//
// The read side speaks in rows of the record model (store/codes.ts: integer addresses, protocol and
// event codes) so that the engine's interval logic is one piece of code whatever the store.
import type { NatRecord, RecordColumns } from '../parse/types.js';
import type { SessionEvent, SessionStatus } from '../parse/radius.js';

/** One spooled message destined for this day. */
export interface DayLine {
  /** Spool end position of the message (for exactly-once). */
  end: number;
  payload: Buffer;
  device: string;
  /** ms since epoch used to file unparsed/ignored lines. */
  time: number;
  status: 'records' | 'unparsed' | 'ignored' | 'session';
  vendor: string | null;
  reason: string | null;
  /** Records of this day from this message. */
  records: NatRecord[];
  /**
   * The same records read in place (the committer's handoff): records [from, to) of `src`. A store
   * that reads these need not ask for `records`, which are then made only if asked.
   */
  cols?: { src: RecordColumns; from: number; to: number };
  /** status 'session': the RADIUS accounting event the packet (`payload`) carries. */
  session?: SessionEvent;
}

export interface NatRow {
  nat_ip: number | Buffer;
  nat_port: number;
  t: number;
  id: number;
  port_end: number | null;
  src_ip: number | Buffer | null;
  src_port: number | null;
  dst_ip: number | Buffer | null;
  dst_port: number | null;
  code: number;
  device: number;
  /**
   * The subscriber login the record's line named, as the store's small id (DayView.loginName gives
   * the text); null or absent: none. Optional so that stores without logins need not set it.
   */
  login?: number | null;
}

/**
 * The session opens of one public address as DayReader.ipOpens returns them: per row, in the file's
 * order, a packed key and time and its holder, in typed arrays (see DayReader.ipOpens).
 */
export interface OpenScan {
  /** Rows read: the first n entries of the arrays (which the reader's next ipOpens overwrites). */
  n: number;
  /** t·OPEN_KEY_SPAN + (nat_port + 1)·1024 + protocol (t since the day's start). */
  keys: Float64Array;
  /**
   * IPv4 inside address: src_ip·2^17 + (src_port + 1, 0 without port). IPv6: −1 − the number the
   * caller's intern gave 'hex(src_ip)|src_port' (one table for every file of an answer, so a holder
   * is the same number in each).
   */
  holders: Float64Array;
}

/**
 * Span of a session key, (nat_port + 1)·1024 + protocol, in OpenScan.keys: 65,537·1024. Times within
 * a day (< 2^27 ms) times this stay below 2^53, so the packed value is an exact double.
 */
export const OPEN_KEY_SPAN = 65_537 * 1024;

/** What one day's share of a batch came to, once committed. */
export interface DayCommitResult {
  records: number;
  lines: number;
  unparsed: number;
  ignored: number;
  skipped: number;
  /** RADIUS session events written, and those the file held already (retransmissions). */
  sessions: number;
  duplicateSessions: number;
}

/** The write side: what the committer needs. */
export interface Store {
  /** Highest spool position that a committed transaction recorded: the spool resumes from there. */
  maxCommittedPos(): number;
  /**
   * Commit a day's share of a batch and the spool position `batchEnd` it reaches, in one transaction:
   * a replay after a crash skips exactly what was committed (lines at or below the recorded position).
   */
  commitDay(day: string, lines: DayLine[], batchEnd: number): DayCommitResult;
  /** Records `day` holds (the dashboard's "today"). */
  recordsOf(day: string): number;
  /** Make every commit so far durable (fsync); the spool below that point may then be deleted. */
  syncAll(): void;
  /**
   * Delete whole days older than `retentionDays` (never rows; a held day stays). Returns the days
   * removed, or with `dryRun` the days it would remove.
   */
  applyRetention(retentionDays: number, now?: number, dryRun?: boolean): string[];
  /** Whether a commit error means the store's disk is full (back off and report, do not fail). */
  isFull(err: unknown): boolean;
  /** The day files to seal as evidence, when the store keeps days as files. */
  readonly dayFiles: DayFiles | null;
  /** Days sealed by a hash of their rows, when the store keeps no files (ClickHouse). */
  readonly dayDigests?: DayDigests | null;
  close(): void;
}

/** Days kept as files, for the sealer (evidence/seal.ts). */
export interface DayFiles {
  pathOf(day: string): string;
  listDayNames(): string[];
  /** Whether the store has the day open for writing. */
  isOpen(day: string): boolean;
  /** Close the day for good before it is sealed: final checkpoint and optimize; its counters. */
  finishDay(day: string): { records: number; lines: number };
}

/** A day's rows in a fixed order, hashed: the evidence of a store without day files (evidence/row-seal.ts). */
export interface DayDigest {
  sha256: string;
  /** Bytes hashed. */
  bytes: number;
  records: number;
  lines: number;
}

/** Days of a store sealed by the hash of their rows. */
export interface DayDigests {
  listDayNames(): string[];
  digest(day: string): DayDigest;
}

/** One session event as a reader returns it. */
export interface SessionRow {
  /** ms since the epoch. */
  t: number;
  status: SessionStatus;
  /** The sender's address: the NAS, or a RADIUS server replicating its accounting. */
  device: string;
  /** The NAS itself (NAS-IP-Address, else NAS-IPv6-Address, else NAS-Identifier, else the sender): with session_id, a session. */
  nas_key: string;
  session_id: string;
  login: string | null;
  mac: string | null;
  nas: string | null;
  framed_ip: string | null;
  prefix6: string | null;
  session_time: number | null;
  packet: Buffer;
}

/** A day's RADIUS session events (store/sqlite/sessions.ts). */
export interface SessionView {
  /** Whether the day holds any session event. */
  any(): boolean;
  /**
   * Events of inside address `ip` (IPv4 number, IPv6 16 bytes: matched against the session's
   * prefix) at or before `atMs`, newest first ('before'), or after it, oldest first ('after').
   */
  eventsOf(ip: number | Buffer, atMs: number, dir: 'before' | 'after', limit: number): SessionRow[];
  /** The start or the stop of session `sessionId` of NAS `nasKey` (SessionRow.nas_key), or null. */
  edgeOf(nasKey: string, sessionId: string, status: 'start' | 'stop'): SessionRow | null;
  /** The first accounting-on/off (every session of that NAS ended) of NAS `nasKey` (SessionRow.nas_key) after `afterMs`, or null. */
  nasResetAfter(nasKey: string, afterMs: number): SessionRow | null;
}

/** The read side: one day of the store, in a read transaction between begin() and end(). */
export interface DayView {
  readonly day: string;
  /** Where the day is kept (the day file's path for SQLite), shown in an answer's days used. */
  readonly path: string;
  /** ms since the epoch at which the day starts (UTC). */
  readonly start: number;
  /**
   * Start a read transaction: every statement until end() sees one state of the file, the one the
   * caches were (re)loaded from. An answer then reads one snapshot even while the committer writes,
   * and the pieces an hour's close replaces cannot vanish between listing and reading them.
   */
  begin(): void;
  /** End the read transaction begin() started. */
  end(): void;
  /**
   * For a reader kept open between requests: false when the file was removed or replaced (retention,
   * restore). Whether the committer wrote since the caches were filled is asked by begin(), inside
   * the request's snapshot. (Original-line blocks never change once written; their cache stays.)
   */
  current(): boolean;
  /** Rows of natIp:port with time in [fromMs, toMs), in time order. */
  portRowsIn(natIp: number | Buffer, port: number, fromMs: number, toMs: number): NatRow[];
  /**
   * Optional: the rows of hour `hour` of natIp for each of `ports` that has any (each list in time
   * order), in one pass over the hour: what a subscriber's walks of hundreds of ports read instead of
   * one portRowsIn a port and hour.
   */
  portsHourRows?(natIp: number | Buffer, ports: ReadonlySet<number>, hour: number): Map<number, NatRow[]>;
  /** Optional: every block row of natIp in the day, in (first port, time, id) order (shared by a subscriber's walks). */
  dayBlocks?(natIp: number | Buffer): NatRow[];
  /** The hours of the day (bit h: hour h) that may hold records of natIp:port, blocks aside: a walk reads no other. */
  portHours(natIp: number | Buffer, port: number): number;
  /** Time (ms since the epoch) of natIp's last row in this file, −Infinity when it has none. */
  lastRowTime(natIp: number | Buffer): number;
  /** Block rows of natIp covering `port` (blocks of at most `maxPorts` ports) with time in [fromMs, toMs). */
  blockRowsIn(natIp: number | Buffer, port: number, maxPorts: number, fromMs: number, toMs: number): NatRow[];
  /** Every row of natIp from fromMs on, in time order. */
  ipRows(natIp: number | Buffer, fromMs: number): IterableIterator<NatRow>;
  /**
   * Session opens of natIp from fromMs on, packed (see OpenScan), each session key's in time order. `intern` numbers
   * IPv6 holders (from 0, the same string always the same number).
   */
  ipOpens(natIp: number | Buffer, fromMs: number, intern: (holder: string) => number): OpenScan;
  /** The (ord+1)-th session open (by id) of natIp:natPort/proto at tMs (ms since the epoch). */
  openAt(natIp: number | Buffer, tMs: number, natPort: number, proto: number, ord: number): NatRow | undefined;
  /** The rows of natIp from fromMs on that ipOpens leaves out (blocks, closes), in time order. */
  ipOthers(natIp: number | Buffer, fromMs: number): NatRow[];
  /** The session opens of natIp from fromMs on of the keys ((nat_port + 1)·1024 + protocol) given, in time order. */
  ipKeyOpens(natIp: number | Buffer, fromMs: number, keys: Iterable<number>): NatRow[];
  /** Distinct public (ip, port) pairs inside address srcIp used with time in [fromMs, toMs]. */
  srcKeys(srcIp: number | Buffer, fromMs: number, toMs: number): { nat_ip: number | Buffer; nat_port: number }[];
  /** Addresses of the devices that logged natIp in this file. */
  owners(natIp: number | Buffer): string[];
  /** The day's RADIUS session events. */
  readonly sessions: SessionView;
  /** Whether the device at `address` sent anything (a record or a kept line) in [fromMs, toMs] (a gap inside one minute does not count). */
  deviceActive(address: string, fromMs: number, toMs: number): boolean;
  deviceAddress(id: number): string;
  /** The text of a row's login (NatRow.login), null for none. */
  loginName(id: number | null | undefined): string | null;
  /** The inside addresses that `login` held (by its records' lines) in the hours [fromMs, toMs] touches. */
  loginSources(login: string, fromMs: number, toMs: number): (number | Buffer)[];
  /** The exact bytes the device sent for a record (its original line), null when the line is gone or damaged. */
  rawOf(row: NatRow): Buffer | null;
  /** The original line of the record `id` of natIp:port (a port block's first port) at tMs (ms since the epoch). */
  rawAt(natIp: number | Buffer, port: number, tMs: number, id: number): Buffer | null;
  close(): void;
}
