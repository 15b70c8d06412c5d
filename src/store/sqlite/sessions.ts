// RADIUS session events in a day file: the table `radius_event`, written in the committer's day
// transaction (so the spool position covers them like records: a replay stores nothing twice), read
// by the subscriber step of an answer (query/subscriber-radius.ts). Sealing, retention, backups and
// verify take them with the file.
//
//   radius_event  one row per Accounting-Request event, in the UTC day of its own time:
//     id            row id
//     framed_ip     Framed-IP-Address as the store keeps addresses (IPv4 integer), NULL when none
//     prefix6_net   Framed-IPv6-Prefix (else Delegated-IPv6-Prefix): its network, 16 bytes; NULL when none
//     prefix6_len   that prefix's length
//     t             ms since the day's 00:00 UTC (Event-Timestamp, else receive time − Acct-Delay-Time)
//     status        Acct-Status-Type: 1 start, 2 stop, 3 interim-update, 7 accounting-on, 8 accounting-off
//     device        the sender's address (device table): the NAS, or a RADIUS server replicating
//     nas_key       the NAS itself: NAS-IP-Address, else NAS-IPv6-Address, else NAS-Identifier, else
//                   the sender. An Acct-Session-Id is unique per NAS, so the same event replicated by a
//                   RADIUS server and imported from its detail file is one event.
//     session_id    Acct-Session-Id ('' for accounting-on/off)
//     seq           what tells one event of a session from another: Acct-Session-Time, else −1 for a
//                   start, else t. UNIQUE (nas_key, session_id, status, seq): a retransmission (new
//                   Identifier and Acct-Delay-Time, same event) is kept once.
//     session_time  Acct-Session-Time
//     packet        the Accounting-Request as received, or the detail-file block it was imported from:
//                   the evidence, and where login (User-Name), MAC (Calling-Station-Id) and NAS
//                   (NAS-Identifier / NAS-IP-Address) are read from when a row is shown (not kept
//                   twice: ~55 B an event)
//   Indexes: (framed_ip, t) and (prefix6_net, t): "which session held inside address A at T" is one
//   backward and one forward index step per day file.
import type Database from 'better-sqlite3';
import { CODE_ACCOUNTING_REQUEST, sessionEventOf, STATUS_CODE, type SessionStatus } from '../../parse/radius.js';
import { detailEventOf } from '../../parse/radius-detail.js';
import { ipFromDb, ipToDb } from '../codes.js';
import type { DayLine, SessionRow, SessionView } from '../store.js';

export const SESSIONS_DDL = `
CREATE TABLE IF NOT EXISTS radius_event (
  id INTEGER PRIMARY KEY,
  framed_ip ANY,
  prefix6_net BLOB,
  prefix6_len INTEGER,
  t INTEGER NOT NULL,
  status INTEGER NOT NULL,
  device INTEGER NOT NULL,
  nas_key TEXT NOT NULL,
  session_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  session_time INTEGER,
  packet BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS radius_by_ip ON radius_event (framed_ip, t) WHERE framed_ip IS NOT NULL;
CREATE INDEX IF NOT EXISTS radius_by_prefix ON radius_event (prefix6_net, t) WHERE prefix6_net IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS radius_once ON radius_event (nas_key, session_id, status, seq);
`;

/** Prefix lengths tried, longest first, when an IPv6 inside address is looked up (a B4 in a delegated or framed prefix). */
export const PREFIX6_LENGTHS = [128, 64, 60, 56, 48] as const;

const STATUS_NAME = new Map<number, SessionStatus>(Object.entries(STATUS_CODE).map(([k, v]) => [v, k as SessionStatus]));

/** Writes a day's session events inside the committer's transaction. */
export class SessionWriter {
  private readonly ins: Database.Statement;

  constructor(db: Database.Database) {
    this.ins = db.prepare('INSERT OR IGNORE INTO radius_event (framed_ip, prefix6_net, prefix6_len, t, status, device, nas_key, session_id, seq, session_time, packet) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  }

  /** Insert the events of `lines` (status 'session'); returns how many were new and how many the file held already. */
  write(lines: DayLine[], dayStartMs: number, deviceId: (address: string) => number): { added: number; duplicates: number } {
    let added = 0;
    let duplicates = 0;
    for (const l of lines) {
      const ev = l.session!;
      const t = ev.time - dayStartMs;
      const pfx = prefixNet(ev.framed_ipv6_prefix);
      const seq = ev.session_time ?? (ev.status === 'start' ? -1 : t);
      const r = this.ins.run(ipToDb(ev.framed_ip), pfx?.net ?? null, pfx?.len ?? null, t, STATUS_CODE[ev.status], deviceId(l.device), ev.nas_ip ?? ev.nas ?? l.device, ev.session_id, seq, ev.session_time, l.payload);
      if (r.changes) added++;
      else duplicates++;
    }
    return { added, duplicates };
  }
}

/** `addr/len` → its network's 16 bytes and length; null for none or nonsense. */
export function prefixNet(p: string | null): { net: Buffer; len: number } | null {
  if (!p) return null;
  const slash = p.indexOf('/');
  const addr = ipToDb(p.slice(0, slash));
  const len = Number(p.slice(slash + 1));
  if (!(addr instanceof Buffer) || !Number.isInteger(len) || len < 0 || len > 128) return null;
  return { net: maskTo(addr, len), len };
}

/** The first `len` bits of a 16-byte address, the rest zero. */
export function maskTo(addr: Buffer, len: number): Buffer {
  const out = Buffer.alloc(16);
  addr.copy(out, 0, 0, Math.ceil(len / 8));
  if (len % 8) out[Math.floor(len / 8)]! &= 0xff << (8 - (len % 8));
  return out;
}

export const SESSION_SQL = {
  /** Whether the file holds any session event (no RADIUS at all: no need to look further back). */
  any: 'SELECT 1 FROM radius_event LIMIT 1',
  before4: 'SELECT * FROM radius_event WHERE framed_ip = ? AND t <= ? ORDER BY t DESC LIMIT ?',
  after4: 'SELECT * FROM radius_event WHERE framed_ip = ? AND t > ? ORDER BY t LIMIT ?',
  before6: 'SELECT * FROM radius_event WHERE prefix6_net = ? AND prefix6_len = ? AND t <= ? ORDER BY t DESC LIMIT ?',
  after6: 'SELECT * FROM radius_event WHERE prefix6_net = ? AND prefix6_len = ? AND t > ? ORDER BY t LIMIT ?',
  /** A session's start or stop (the radius_once index). */
  edge: 'SELECT * FROM radius_event WHERE nas_key = ? AND session_id = ? AND status = ? LIMIT 1',
  /** The NAS's accounting-on/off (its sessions all ended) after a time. */
  nasReset: 'SELECT * FROM radius_event WHERE nas_key = ? AND session_id = \'\' AND status IN (7, 8) AND t > ? ORDER BY t LIMIT 1',
} as const;

/** Reads one day file's session events (the DayView's `sessions`). */
export class SessionReader implements SessionView {
  private readonly st: { [K in keyof typeof SESSION_SQL]: Database.Statement } | null;

  constructor(db: Database.Database, private readonly dayStartMs: number, private readonly deviceAddress: (id: number) => string) {
    // A file without the table (never written since it was created) has no events.
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'radius_event'").get();
    this.st = has ? (Object.fromEntries(Object.entries(SESSION_SQL).map(([k, sql]) => [k, db.prepare(sql)])) as SessionReader['st']) : null;
  }

  any(): boolean {
    return !!this.st?.any.get();
  }

  /**
   * Events of inside address `ip` (IPv4 number or IPv6 16 bytes) at or before `atMs` (newest first,
   * `dir` 'before') or after it (oldest first, 'after'), at most `limit`. An IPv6 address matches
   * the prefixes of PREFIX6_LENGTHS that hold it.
   */
  eventsOf(ip: number | Buffer, atMs: number, dir: 'before' | 'after', limit: number): SessionRow[] {
    if (!this.st) return [];
    const t = atMs - this.dayStartMs;
    let rows: Record<string, unknown>[];
    if (typeof ip === 'number') rows = (dir === 'before' ? this.st.before4 : this.st.after4).all(ip, t, limit) as Record<string, unknown>[];
    else {
      rows = [];
      for (const len of PREFIX6_LENGTHS) rows.push(...((dir === 'before' ? this.st.before6 : this.st.after6).all(maskTo(ip, len), len, t, limit) as Record<string, unknown>[]));
      rows.sort((a, b) => (dir === 'before' ? Number(b.t) - Number(a.t) : Number(a.t) - Number(b.t)));
      rows = rows.slice(0, limit);
    }
    return rows.map((r) => this.row(r));
  }

  /** The start or the stop of session `sessionId` of NAS `nasKey` in this file, or null. */
  edgeOf(nasKey: string, sessionId: string, status: 'start' | 'stop'): SessionRow | null {
    if (!this.st) return null;
    const r = this.st.edge.get(nasKey, sessionId, STATUS_CODE[status]) as Record<string, unknown> | undefined;
    return r ? this.row(r) : null;
  }

  /** The first accounting-on/off of NAS `nasKey` after `afterMs` in this file, or null. */
  nasResetAfter(nasKey: string, afterMs: number): SessionRow | null {
    if (!this.st) return null;
    const r = this.st.nasReset.get(nasKey, afterMs - this.dayStartMs) as Record<string, unknown> | undefined;
    return r ? this.row(r) : null;
  }

  private row(r: Record<string, unknown>): SessionRow {
    const packet = r.packet as Buffer;
    const got = packet[0] === CODE_ACCOUNTING_REQUEST ? sessionEventOf(packet, 0) : detailEventOf(packet, 0);
    const ev = 'malformed' in got ? null : got;
    const pfx = r.prefix6_net instanceof Uint8Array ? `${ipText(Buffer.from(r.prefix6_net))}/${r.prefix6_len}` : null;
    return {
      t: this.dayStartMs + Number(r.t),
      status: STATUS_NAME.get(Number(r.status)) ?? 'interim',
      device: this.deviceAddress(Number(r.device)),
      nas_key: String(r.nas_key),
      session_id: String(r.session_id),
      login: ev?.login ?? null,
      mac: ev?.mac ?? null,
      nas: ev?.nas ?? null,
      framed_ip: typeof r.framed_ip === 'number' ? ipText(r.framed_ip) : null,
      prefix6: pfx,
      session_time: r.session_time == null ? null : Number(r.session_time),
      packet,
    };
  }
}

function ipText(v: number | Buffer): string {
  return ipFromDb(v) ?? '';
}
