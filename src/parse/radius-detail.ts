// FreeRADIUS `detail` files (rlm_detail): the accounting history a RADIUS server already wrote, imported
// with `megalog import --format radius-detail`. One record per block:
//
//   Thu Mar  5 13:00:00 2026                      ← header: the server's local time (no zone)
//   \tAcct-Status-Type = Start                    ← attribute lines, indented: Name = value
//   \tUser-Name = "cliente42"                       (strings quoted, with \" \\ \n \ooo escapes)
//   \tEvent-Timestamp = "Mar  5 2026 13:00:00 UTC"  (a date, or seconds in older versions)
//   \tTimestamp = 1772715600                      ← added by rlm_detail: when the server wrote it
//                                                 ← a blank line ends the block
//
// A block is spooled whole, as one import record (an imported line never holds a LF, so a record
// that does and reads like a block is one: isDetailBlock), and turned into the attributes of an
// Accounting-Request here, so one validation (parse/radius.ts) decides what a session event is.
// Blocks are bounded (MAX_BLOCK_LINES, MAX_BLOCK_BYTES): a file without blank lines cannot grow one.
import { ATTRIBUTE as A, eventOfAttrs, type Malformed, type SessionEvent } from './radius.js';

export const MAX_BLOCK_LINES = 256;
export const MAX_BLOCK_BYTES = 16 * 1024;

const STATUS: Record<string, number> = { start: 1, stop: 2, 'interim-update': 3, alive: 3, 'accounting-on': 7, 'accounting-off': 8 };
const STRING_ATTRS: Record<string, number> = {
  'user-name': A.USER_NAME,
  'calling-station-id': A.CALLING_STATION,
  'nas-identifier': A.NAS_IDENTIFIER,
  'acct-session-id': A.SESSION_ID,
};
const IPV4_ATTRS: Record<string, number> = { 'framed-ip-address': A.FRAMED_IP, 'nas-ip-address': A.NAS_IP };
const INT_ATTRS: Record<string, number> = { 'acct-delay-time': A.DELAY_TIME, 'acct-session-time': A.SESSION_TIME };
const PREFIX_ATTRS: Record<string, number> = { 'framed-ipv6-prefix': A.FRAMED_IPV6_PREFIX, 'delegated-ipv6-prefix': A.DELEGATED_IPV6_PREFIX };

/** Cuts a detail file's lines into blocks. */
export class DetailSplitter {
  private lines: Buffer[] = [];
  private bytes = 0;
  /** Line number (1-based) of the last line of the block push() or end() last returned. */
  lastLine = 0;
  private n = 0;

  /** Take the next line of the file; returns a block when this line ends one. */
  push(line: Buffer): Buffer | null {
    this.n++;
    const blank = line.length === 0 || /^\s*$/.test(line.toString('latin1'));
    if (blank) return this.take();
    // A new header while a block is open: the blank line was missing.
    const header = line[0] !== 0x09 && line[0] !== 0x20;
    let done: Buffer | null = null;
    if (header && this.lines.length) {
      this.n--;
      done = this.take();
      this.n++;
    }
    if (this.lines.length < MAX_BLOCK_LINES && this.bytes + line.length + 1 <= MAX_BLOCK_BYTES) {
      this.lines.push(Buffer.from(line));
      this.bytes += line.length + 1;
    }
    return done;
  }

  /** The block still open at the end of the file, if any. */
  end(): Buffer | null {
    return this.take();
  }

  private take(): Buffer | null {
    if (!this.lines.length) return null;
    const b = Buffer.from(this.lines.map((l) => l.toString('latin1')).join('\n'), 'latin1');
    this.lines = [];
    this.bytes = 0;
    this.lastLine = this.n;
    return b;
  }
}

/** Whether an imported record is a detail block: a header line, then an indented `Name = value` line. */
export function isDetailBlock(payload: Buffer): boolean {
  const lf = payload.indexOf(0x0a);
  if (lf < 0) return false;
  return /^[\t ]+[A-Za-z][A-Za-z0-9-]* = /.test(payload.toString('latin1', lf + 1, lf + 80));
}

/** A block's attributes, names in lower case, values unquoted (the last of a repeated name wins). */
function attributesOf(block: string): { header: string; attrs: Map<string, string> } {
  const lines = block.split('\n');
  const attrs = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const m = /^\s+([A-Za-z0-9][A-Za-z0-9-]*)\s*=\s*(.*?)\s*$/.exec(l);
    if (m) attrs.set(m[1]!.toLowerCase(), unquote(m[2]!));
  }
  return { header: lines[0]!.trim(), attrs };
}

function unquote(v: string): string {
  if (v.length < 2 || !v.startsWith('"') || !v.endsWith('"')) return v;
  return v.slice(1, -1).replace(/\\([0-7]{3}|.)/g, (_, e: string) => (e.length === 3 ? String.fromCharCode(parseInt(e, 8) & 0xff) : e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e));
}

/** Seconds since the epoch from a number or a date as rlm_detail prints it ("Mar  5 2026 13:00:00 UTC"). */
function secondsOf(v: string | undefined): number | null {
  if (v == null) return null;
  if (/^\d{1,10}$/.test(v)) return Number(v);
  const m = /^([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{4})\s+(\d{2}):(\d{2}):(\d{2})(?:\s+(UTC|GMT|[+-]\d{2}(?::?\d{2})?))?$/.exec(v);
  if (!m) return null;
  const zone = !m[7] || m[7] === 'UTC' || m[7] === 'GMT' ? 'Z' : m[7].length === 3 ? `${m[7]}:00` : m[7].includes(':') ? m[7] : `${m[7].slice(0, 3)}:${m[7].slice(3)}`;
  const t = Date.parse(`${m[2]} ${m[1]} ${m[3]} ${m[4]}:${m[5]}:${m[6]} ${zone === 'Z' ? 'Z' : zone}`);
  return Number.isFinite(t) ? Math.floor(t / 1000) : null;
}

/**
 * When the server wrote the block (Timestamp, else the header read as UTC), ms, and the NAS that sent
 * it (Client-IP-Address, Packet-Src-IP-Address, NAS-IP-Address): the receive time and origin it is
 * spooled with.
 */
export function detailInfo(block: Buffer): { time: number | null; nas: string | null } {
  const { header, attrs } = attributesOf(block.toString('utf8'));
  const ts = secondsOf(attrs.get('timestamp'));
  const h = Date.parse(`${header.replace(/^[A-Z][a-z]{2}\s+/, '')} Z`);
  const time = ts != null ? ts * 1000 : Number.isFinite(h) ? h : null;
  const nas = attrs.get('client-ip-address') ?? attrs.get('packet-src-ip-address') ?? attrs.get('nas-ip-address') ?? null;
  return { time, nas: nas && /^[0-9a-fA-F:.]{2,45}$/.test(nas) ? nas : null };
}

/**
 * The session event of a detail block, as an Accounting-Request with the same attributes would give,
 * received when the server wrote the block (its Timestamp or header; else `recvMs`).
 */
export function detailEventOf(block: Buffer, recvMs: number): SessionEvent | Malformed {
  const { attrs } = attributesOf(block.toString('utf8'));
  recvMs = detailInfo(block).time ?? recvMs;
  const out: { type: number; value: Buffer }[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
  };
  for (const [name, v] of attrs) {
    if (name === 'acct-status-type') {
      const code = STATUS[v.toLowerCase()] ?? (/^\d{1,3}$/.test(v) ? Number(v) : 0);
      out.push({ type: A.STATUS_TYPE, value: u32(code) });
    } else if (STRING_ATTRS[name]) out.push({ type: STRING_ATTRS[name]!, value: Buffer.from(v, 'utf8').subarray(0, 253) });
    else if (IPV4_ATTRS[name]) {
      const p = v.split('.');
      if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) return { malformed: name };
      out.push({ type: IPV4_ATTRS[name]!, value: Buffer.from(p.map(Number)) });
    } else if (INT_ATTRS[name]) {
      if (!/^\d{1,10}$/.test(v) || Number(v) > 0xffffffff) return { malformed: name };
      out.push({ type: INT_ATTRS[name]!, value: u32(Number(v)) });
    } else if (name === 'event-timestamp') {
      const s = secondsOf(v);
      if (s == null) return { malformed: name };
      out.push({ type: A.EVENT_TIMESTAMP, value: u32(s) });
    } else if (PREFIX_ATTRS[name]) {
      const bytes = prefixBytes(v);
      if (!bytes) return { malformed: name };
      out.push({ type: PREFIX_ATTRS[name]!, value: bytes });
    }
  }
  return eventOfAttrs(out, recvMs);
}

/** `2001:db8::/56` → RFC 3162's reserved, length, prefix bytes. */
function prefixBytes(v: string): Buffer | null {
  const m = /^([0-9a-fA-F:]{2,39})\/(\d{1,3})$/.exec(v);
  if (!m) return null;
  const len = Number(m[2]);
  if (len > 128) return null;
  const [head, tail, extra] = m[1]!.split('::');
  if (extra !== undefined) return null;
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  if (all.length !== 8 || all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  const addr = Buffer.alloc(16);
  all.forEach((g, i) => addr.writeUInt16BE(parseInt(g, 16), i * 2));
  return Buffer.concat([Buffer.from([0, len]), addr.subarray(0, Math.ceil(len / 8))]);
}
