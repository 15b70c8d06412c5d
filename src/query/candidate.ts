// A candidate of a forensic answer (one interval, or one inside address of an IP-only answer), and
// its original line: read with the answer, or left for later (LookupInput.raw false) and read by
// fillRaw when the console shows or exports it.
import { ipFromDb, ipToDb, protoName } from '../store/codes.js';
import type { DayView, NatRow } from '../store/store.js';
import type { EndReason, Interval } from './intervals.js';
import { formatInZone } from '../core/time.js';
import { subscriberFor, type Subscriber } from './subscriber.js';
import type { SubscriberStep } from './subscriber-radius.js';
import { ipfixText } from '../parse/ipfix.js';

export interface Candidate {
  src_ip: string | null;
  src_port: number | null;
  nat_ip: string;
  nat_port_start: number | null;
  nat_port_end: number | null;
  proto: string | null;
  /** ISO 8601 with the configured zone's offset. */
  start: string;
  end: string;
  device: string;
  /** The original message as the device sent it (UTF-8, or Latin-1 when it is not valid UTF-8). */
  raw: string;
  /** Records behind this candidate. */
  count: number;
  /** rules: a deterministic NAT mapping (query/rules.ts), not a log record. */
  kind: 'session' | 'block' | 'address' | 'rules';
  start_ms: number;
  end_ms: number;
  /** false when the opening record was not in the data read (a close without its create). */
  start_exact: boolean;
  end_reason: EndReason | 'mixed' | 'rules';
  /** Day file holding `raw`. */
  day: string;
  /** IP-only answers: how many mappings (intervals) this inside address had in the window. */
  mappings?: number;
  /** The destination of the candidate's first record, where the line gave one. */
  dst_ip: string | null;
  dst_port: number | null;
  /** Who the subscriber is (query/subscriber.ts), null when nothing names one. */
  subscriber: Subscriber | null;
  /** The subscriber step of the answer chain: its own verdict and evidence (subscriber-radius.ts). */
  subscriber_step?: SubscriberStep | null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Text of an original message: UTF-8 when valid, else Latin-1 (one character per byte, nothing lost). */
export function rawText(b: Buffer | null): string {
  if (!b) return '';
  if (b[0] === 1) {
    const ipfix = ipfixText(b); // a binary IPFIX packet: described, then in hex
    if (ipfix) return ipfix;
  }
  try {
    return utf8.decode(b);
  } catch {
    return b.toString('latin1');
  }
}

/**
 * Where the record of a candidate whose original line was left unread is (in its day file `day`):
 * its id, time (ms since the epoch) and public port; with the candidate's public address that finds
 * it again (DayView.rawAt). Under a symbol and not enumerable: copies, comparisons and JSON leave it
 * out. The console keeps its last answers in memory: three numbers on the candidate cost the garbage
 * collector less than the WeakMap entry holding the whole row that this replaced.
 */
const RAW_KEY = Symbol('raw key');
/** A record's id, time (ms since the epoch) and public port (a block's first port, −1 for none). */
export type RawKey = readonly [id: number, t: number, port: number];
/** Numbers a RawKey takes in a Float64Array of keys. */
export const RAW_KEY_SIZE = 3;
type Pending = Candidate & { [RAW_KEY]?: RawKey };

/**
 * Read the original lines `cands` left unread, from the day files `get` opens. Candidates that have
 * theirs already are left alone; a day file gone since leaves raw ''.
 */
export function fillRawFrom(cands: readonly Candidate[], get: (day: string) => DayView | null): void {
  const todo = cands.filter(rawPending) as Pending[];
  // Day by day, in line order: neighbouring lines share a block.
  const ref = (c: Pending) => c[RAW_KEY]![0] % 2 ** 32;
  todo.sort((a, b) => a.day.localeCompare(b.day) || ref(a) - ref(b));
  for (const c of todo) {
    const [id, t, port] = c[RAW_KEY]!;
    const nat = ipToDb(c.nat_ip);
    c.raw = nat == null ? '' : rawText(get(c.day)?.rawAt(nat, port, t, id) ?? null);
    c[RAW_KEY] = undefined; // (not delete: the object keeps its shape)
  }
}

/** Whether a candidate's original line is still unread. */
export function rawPending(c: Candidate): boolean {
  return rawKeyOf(c) !== null;
}

/** Where the record of a candidate's unread original line is, or null (kept apart when the candidate is stored as JSON, which leaves the symbol out). */
export function rawKeyOf(c: Candidate): RawKey | null {
  return (c as Pending)[RAW_KEY] ?? null;
}

/** Write a candidate's RawKey (NaNs: none) into `keys` at slot i. */
export function putRawKey(keys: Float64Array, i: number, c: Candidate): void {
  const key = rawKeyOf(c);
  for (let k = 0; k < RAW_KEY_SIZE; k++) keys[RAW_KEY_SIZE * i + k] = key ? key[k]! : NaN;
}

/** The RawKey at slot i of `keys`, or null. */
export function getRawKey(keys: Float64Array, i: number): RawKey | null {
  const at = RAW_KEY_SIZE * i;
  return Number.isNaN(keys[at]!) ? null : [keys[at]!, keys[at + 1]!, keys[at + 2]!];
}

/** Mark a copy of a candidate as having its original line unread, its record at `key` (null: read already). */
export function withRawKey(c: Candidate, key: RawKey | null): void {
  if (key != null) Object.defineProperty(c, RAW_KEY, { value: key, writable: true });
}

/** The candidate of one interval. */
export function candidateOf(iv: Interval, tz: string, withRaw = true): Candidate {
  return candidateOfRow(iv.first.row, iv.first.reader, iv, tz, withRaw);
}

/** A candidate for `iv` whose first record is `row` of day file `r`. */
export function candidateOfRow(row: NatRow, r: DayView, iv: Pick<Interval, 'kind' | 'holder' | 'start' | 'end' | 'count' | 'start_exact' | 'end_reason'>, tz: string, withRaw: boolean): Candidate {
  const block = iv.kind === 'block';
  const port = row.nat_port < 0 ? null : row.nat_port;
  const c: Pending = {
    src_ip: insideOf(iv.holder),
    src_port: block ? null : row.src_port,
    nat_ip: publicOf(row.nat_ip),
    nat_port_start: port,
    nat_port_end: block ? (row.port_end ?? port) : port,
    proto: protoName(row.code % 1024),
    start: formatInZone(iv.start, tz),
    end: formatInZone(iv.end, tz),
    device: r.deviceAddress(row.device),
    raw: withRaw ? rawText(r.rawOf(row)) : '',
    count: iv.count,
    kind: iv.kind,
    start_ms: iv.start,
    end_ms: iv.end,
    start_exact: iv.start_exact,
    end_reason: iv.end_reason,
    day: r.day,
    dst_ip: row.dst_ip == null ? null : ipFromDb(row.dst_ip),
    dst_port: row.dst_port,
    subscriber: subscriberFor({ logLogin: r.loginName(row.login) }),
  };
  if (!withRaw) withRawKey(c, [row.id, r.start + row.t, row.nat_port]);
  return c;
}

// The candidates of an answer share a few addresses (a subscriber's, its public ones): the last
// strings made are handed out again, not made anew for each candidate the console keeps.
let lastInside = '';
let lastPublic: { ip: number; text: string } = { ip: -1, text: '' };

/** The inside address of a holder (`address|port`), or null. */
function insideOf(holder: string): string | null {
  const bar = holder.indexOf('|');
  const n = bar < 0 ? holder.length : bar;
  if (n !== lastInside.length || !holder.startsWith(lastInside)) lastInside = holder.slice(0, n);
  return lastInside || null;
}

function publicOf(ip: number | Buffer): string {
  if (typeof ip !== 'number') return ipFromDb(ip) ?? '';
  if (ip !== lastPublic.ip) lastPublic = { ip, text: ipFromDb(ip) ?? '' };
  return lastPublic.text;
}
