// Handoff: what the receiver just spooled, parsed, passed to the committer in memory, so that the
// committer reads the spool back only on recovery or when it fell behind.
//
// Design note
// - The spool stays the durability point. The receiver sends a handoff only after its bytes are
//   written; a handoff names the spool positions it covers, and the committer commits positions as
//   before, so exactly-once is unchanged (a SIGKILL loses the handoffs in flight, and the replay from
//   the committed position reads them from the spool).
// - One message per flush, one transferable ArrayBuffer each: no object per spooled message crosses
//   the thread boundary, and the buffer moves rather than being copied.
// - Memory is bounded: the receiver counts the bytes it sent (handoff_sent_bytes) and the committer
//   the bytes it is done with (handoff_released_bytes); past `handoff_max_bytes` in between, the
//   receiver sends nothing (counted in handoff_overflow_bytes) and the committer reads those
//   positions from the spool (spool_reread_bytes), which absorbs the backlog.
// - Gaps are read from the spool: everything below a handoff's start, or below a `mark`, that the
//   committer has not got in memory (recovery at start, overflow) is in the spool.
// - Parsing is one code path (parse/message.ts) packed by one builder: the committer packs what it
//   reads back exactly as the receiver packs what it received, so both give the same DayLines.
// - Lines the receiver had no time to parse go over unparsed (`spooled`: the spool records as
//   written) and the committer parses them (sources/handoff.ts says when).
//
// Layout (little-endian; n messages, m records, k distinct strings; each section 8-byte aligned):
//
//   header   u32 magic 'MLH1' | u32 n | u32 m | u32 k | u32 str_bytes | u32 payload_bytes
//            f64 start (spool position before the first message) | f64 end (after the last)
//            f64 parse_secs (time the sender spent parsing)
//   message  f64 end[n] | f64 recv_ms[n] | f64 time[n] (header/ignore time; NaN = null)
//            u32 payload_off[n] | u32 payload_len[n] | u32 device[n] | u32 vendor[n] | u32 reason[n]
//            u32 first_record[n + 1] | u8 status[n] (records, ignored, unparsed, noise, session) | u8 flags[n] (1: invalid UTF-8)
//   record   f64 time, src_port, nat_port, nat_port_start, nat_port_end, dst_port [m each; NaN = null]
//            u32 vendor, proto, src_ip, nat_ip, dst_ip, host, login [m each] | u8 event[m] (index in EVENT_KINDS)
//   strings  u32 str_end[k] | utf8 bytes[str_bytes]      (a u32 string field: 0 = null, i = i-th string;
//            a string may be there twice)
//   payload  the messages' bytes, as received
import { EVENT_KINDS, type EventKind, type NatRecord, type RecordColumns } from '../parse/types.js';
import type { ParsedMessage } from '../parse/message.js';

const MAGIC = 0x31484c4d; // 'MLH1'
const HEADER_BYTES = 48;

export const STATUS = ['records', 'ignored', 'unparsed', 'noise', 'session'] as const;
export type HandoffStatus = (typeof STATUS)[number];
const S_RECORDS = 0;
const S_IGNORED = 1;
const S_UNPARSED = 2;
const S_NOISE = 3;
/** A RADIUS accounting packet (transport radius): its payload is decoded by the committer (parse/radius.ts). */
const S_SESSION = 4;
const F_INVALID_UTF8 = 1;
/** Fields whose strings are looked up in the table (HandoffBuilder.intern). */
const F_DEVICE = 0;
const F_VENDOR = 1;
const F_REASON = 2;
const F_PROTO = 3;
const F_NAT_IP = 4;
const F_HOST = 5;
const F_LOGIN = 6;

const REC_NUM = ['time', 'src_port', 'nat_port', 'nat_port_start', 'nat_port_end', 'dst_port'] as const;
const REC_STR = ['vendor', 'proto', 'src_ip', 'nat_ip', 'dst_ip', 'host', 'login'] as const;
const EVENT_CODE = new Map<EventKind, number>(EVENT_KINDS.map((e, i) => [e, i]));

interface Layout {
  end: number;
  recv: number;
  time: number;
  payOff: number;
  payLen: number;
  device: number;
  vendor: number;
  reason: number;
  firstRec: number;
  status: number;
  flags: number;
  recNum: number[];
  recStr: number[];
  event: number;
  strEnd: number;
  str: number;
  payload: number;
  total: number;
}

function layout(n: number, m: number, k: number, strBytes: number, payloadBytes: number): Layout {
  let at = HEADER_BYTES;
  const sec = (bytes: number) => {
    const o = at;
    at = (at + bytes + 7) & ~7;
    return o;
  };
  return {
    end: sec(8 * n),
    recv: sec(8 * n),
    time: sec(8 * n),
    payOff: sec(4 * n),
    payLen: sec(4 * n),
    device: sec(4 * n),
    vendor: sec(4 * n),
    reason: sec(4 * n),
    firstRec: sec(4 * (n + 1)),
    status: sec(n),
    flags: sec(n),
    recNum: REC_NUM.map(() => sec(8 * m)),
    recStr: REC_STR.map(() => sec(4 * m)),
    event: sec(m),
    strEnd: sec(4 * k),
    str: sec(strBytes),
    payload: sec(payloadBytes),
    total: at,
  };
}

const num = (v: number | null): number => (v == null ? NaN : v);

/** Packs parsed messages into one handoff buffer. Reused: its columns grow and are never freed. */
export class HandoffBuilder {
  private n = 0;
  private m = 0;
  private cap = 0;
  private rcap = 0;
  private end = new Float64Array(0);
  private recv = new Float64Array(0);
  private time = new Float64Array(0);
  private payOff = new Uint32Array(0);
  private payLen = new Uint32Array(0);
  private device = new Uint32Array(0);
  private vendor = new Uint32Array(0);
  private reason = new Uint32Array(0);
  private firstRec = new Uint32Array(1);
  private status = new Uint8Array(0);
  private flags = new Uint8Array(0);
  private recNum: Float64Array[] = REC_NUM.map(() => new Float64Array(0));
  private recStr: Uint32Array[] = REC_STR.map(() => new Uint32Array(0));
  private event = new Uint8Array(0);
  private strings = new Map<string, number>();
  private readonly last: (string | null)[] = [null, null, null, null, null, null, null];
  private readonly lastIdx = new Uint32Array(7);
  private strEnd: number[] = [];
  private str: Buffer = Buffer.alloc(0);
  private strUsed = 0;
  private payload: Buffer = Buffer.alloc(0);
  private payUsed = 0;

  get messages(): number {
    return this.n;
  }

  add(end: number, recvMs: number, payload: Buffer, p: ParsedMessage): void {
    if (this.n === this.cap) this.growMessages();
    const i = this.n++;
    this.end[i] = end;
    this.recv[i] = recvMs;
    if (this.payUsed + payload.length > this.payload.length) this.payload = grown(this.payload, this.payUsed + payload.length);
    this.payload.set(payload, this.payUsed);
    this.payOff[i] = this.payUsed;
    this.payLen[i] = payload.length;
    this.payUsed += payload.length;
    this.device[i] = this.intern(p.device, F_DEVICE);
    this.flags[i] = p.invalidUtf8 ? F_INVALID_UTF8 : 0;
    const res = p.res;
    this.time[i] = num(res.time);
    this.vendor[i] = res.kind === 'unparsed' ? 0 : this.intern(res.vendor, F_VENDOR);
    this.reason[i] = res.kind === 'ignored' ? this.intern(res.reason, F_REASON) : 0;
    if (p.noise) this.status[i] = S_NOISE;
    else if (p.session) this.status[i] = S_SESSION;
    else if (res.kind === 'ignored') this.status[i] = S_IGNORED;
    else if (res.kind === 'records' && res.records.length) {
      this.status[i] = S_RECORDS;
      for (const r of res.records) this.addRecord(r);
    } else {
      // Records without a record are kept as unparsed, as the committer always did.
      this.status[i] = S_UNPARSED;
      this.vendor[i] = 0;
    }
    this.firstRec[i + 1] = this.m;
  }

  /** The buffer of everything added since the last finish; the builder is empty again. */
  finish(start: number, end: number, parseSecs: number): ArrayBuffer {
    const { n, m } = this;
    const k = this.strEnd.length;
    const L = layout(n, m, k, this.strUsed, this.payUsed);
    const ab = new ArrayBuffer(L.total);
    const h = new DataView(ab);
    h.setUint32(0, MAGIC, true);
    h.setUint32(4, n, true);
    h.setUint32(8, m, true);
    h.setUint32(12, k, true);
    h.setUint32(16, this.strUsed, true);
    h.setUint32(20, this.payUsed, true);
    h.setFloat64(24, start, true);
    h.setFloat64(32, end, true);
    h.setFloat64(40, parseSecs, true);
    new Float64Array(ab, L.end, n).set(this.end.subarray(0, n));
    new Float64Array(ab, L.recv, n).set(this.recv.subarray(0, n));
    new Float64Array(ab, L.time, n).set(this.time.subarray(0, n));
    new Uint32Array(ab, L.payOff, n).set(this.payOff.subarray(0, n));
    new Uint32Array(ab, L.payLen, n).set(this.payLen.subarray(0, n));
    new Uint32Array(ab, L.device, n).set(this.device.subarray(0, n));
    new Uint32Array(ab, L.vendor, n).set(this.vendor.subarray(0, n));
    new Uint32Array(ab, L.reason, n).set(this.reason.subarray(0, n));
    new Uint32Array(ab, L.firstRec, n + 1).set(this.firstRec.subarray(0, n + 1));
    new Uint8Array(ab, L.status, n).set(this.status.subarray(0, n));
    new Uint8Array(ab, L.flags, n).set(this.flags.subarray(0, n));
    for (let f = 0; f < REC_NUM.length; f++) new Float64Array(ab, L.recNum[f], m).set(this.recNum[f]!.subarray(0, m));
    for (let f = 0; f < REC_STR.length; f++) new Uint32Array(ab, L.recStr[f], m).set(this.recStr[f]!.subarray(0, m));
    new Uint8Array(ab, L.event, m).set(this.event.subarray(0, m));
    new Uint32Array(ab, L.strEnd, k).set(this.strEnd);
    new Uint8Array(ab, L.str, this.strUsed).set(this.str.subarray(0, this.strUsed));
    new Uint8Array(ab, L.payload, this.payUsed).set(this.payload.subarray(0, this.payUsed));
    this.n = 0;
    this.m = 0;
    this.strings.clear();
    this.last.fill(null);
    this.strEnd = [];
    this.strUsed = 0;
    this.payUsed = 0;
    return ab;
  }

  private addRecord(r: NatRecord): void {
    if (this.m === this.rcap) this.growRecords();
    const j = this.m++;
    const nums = this.recNum;
    nums[0]![j] = num(r.time);
    nums[1]![j] = num(r.src_port);
    nums[2]![j] = num(r.nat_port);
    nums[3]![j] = num(r.nat_port_start);
    nums[4]![j] = num(r.nat_port_end);
    nums[5]![j] = num(r.dst_port);
    const strs = this.recStr;
    strs[0]![j] = this.intern(r.vendor, F_VENDOR);
    strs[1]![j] = this.intern(r.proto, F_PROTO);
    strs[2]![j] = this.append(r.src_ip); // nearly one per line: a table lookup would cost more than it saves
    strs[3]![j] = this.intern(r.nat_ip, F_NAT_IP);
    strs[4]![j] = this.append(r.dst_ip);
    strs[5]![j] = this.intern(r.host, F_HOST);
    strs[6]![j] = this.appendRun(r.login ?? null, F_LOGIN);
    this.event[j] = EVENT_CODE.get(r.event) ?? 0;
  }

  /**
   * A string's number in this buffer's table (0 for null), the same number for the same string.
   * `field` keeps the field's last string: consecutive lines mostly repeat it, and comparing is
   * cheaper than hashing.
   */
  private intern(s: string | null, field: number): number {
    if (s == null) return 0;
    if (this.last[field] === s) return this.lastIdx[field]!;
    let i = this.strings.get(s);
    if (i === undefined) this.strings.set(s, (i = this.append(s)));
    this.last[field] = s;
    this.lastIdx[field] = i;
    return i;
  }

  /**
   * A string's number when it repeats the field's last one (a subscriber's lines come in runs), else
   * appended: logins are nearly as many as lines, and a table of them cost more than it saved (its Map
   * grew to the handoff's size each time: 91 B and a quarter of the builder's time a message in a
   * 10,000-line handoff of a CGNAT's mix).
   */
  private appendRun(s: string | null, field: number): number {
    if (s == null) return 0;
    if (this.last[field] === s) return this.lastIdx[field]!;
    const i = this.append(s);
    this.last[field] = s;
    this.lastIdx[field] = i;
    return i;
  }

  /** Append a string to the table, without looking for it there first (0 for null). */
  private append(s: string | null): number {
    if (s == null) return 0;
    const need = this.strUsed + s.length * 3;
    if (need > this.str.length) this.str = grown(this.str, need);
    this.strUsed += this.str.write(s, this.strUsed, 'utf8');
    this.strEnd.push(this.strUsed);
    return this.strEnd.length;
  }

  private growMessages(): void {
    const c = Math.max(256, this.cap * 2);
    this.end = grow(this.end, c);
    this.recv = grow(this.recv, c);
    this.time = grow(this.time, c);
    this.payOff = grow(this.payOff, c);
    this.payLen = grow(this.payLen, c);
    this.device = grow(this.device, c);
    this.vendor = grow(this.vendor, c);
    this.reason = grow(this.reason, c);
    this.firstRec = grow(this.firstRec, c + 1);
    this.status = grow(this.status, c);
    this.flags = grow(this.flags, c);
    this.cap = c;
  }

  private growRecords(): void {
    const c = Math.max(256, this.rcap * 2);
    this.recNum = this.recNum.map((a) => grow(a, c));
    this.recStr = this.recStr.map((a) => grow(a, c));
    this.event = grow(this.event, c);
    this.rcap = c;
  }
}

function grow<T extends Float64Array | Uint32Array | Uint8Array>(a: T, c: number): T {
  const b = new (a.constructor as new (n: number) => T)(c);
  b.set(a);
  return b;
}

function grown(b: Buffer, need: number): Buffer {
  const out = Buffer.allocUnsafe(Math.max(need, b.length * 2, 64 * 1024));
  b.copy(out);
  return out;
}

/**
 * One handoff buffer, read in place. `next` is the consumer's cursor: the first message it has not
 * taken yet. Its records are RecordColumns: a store reads them field by field (recordSpan).
 */
export class Handoff implements RecordColumns {
  readonly n: number;
  /** Spool position before the first message, and after the last. */
  readonly start: number;
  readonly end: number;
  readonly parseSecs: number;
  /** Size of the buffer (what the memory bound counts). */
  readonly bytes: number;
  readonly ends: Float64Array;
  readonly recvMs: Float64Array;
  next = 0;
  private readonly msgTime: Float64Array;
  private readonly payOff: Uint32Array;
  private readonly payLen: Uint32Array;
  private readonly deviceCol: Uint32Array;
  private readonly vendorCol: Uint32Array;
  private readonly reasonCol: Uint32Array;
  private readonly firstRec: Uint32Array;
  private readonly statusCol: Uint8Array;
  private readonly flags: Uint8Array;
  private readonly recNum: Float64Array[];
  private readonly recStr: Uint32Array[];
  private readonly eventCol: Uint8Array;
  private readonly strEnd: Uint32Array;
  private readonly strBuf: Buffer;
  private readonly strCache: (string | null)[];
  /**
   * natIp's reading of each interned string: its IPv4 integer, NaN not read yet, −1 not a dotted quad
   * (then read again: rare). Typed: a sparse array of boxed numbers cost ~100 bytes a record.
   */
  private natCache: Float64Array | null = null;
  private readonly payBase: number;

  /** `counted`: the bytes the memory bound counted for it (the buffer's size, unless it was made from another). */
  constructor(private readonly ab: ArrayBuffer, counted = ab.byteLength) {
    const h = new DataView(ab);
    if (ab.byteLength < HEADER_BYTES || h.getUint32(0, true) !== MAGIC) throw new Error('not a handoff buffer');
    const n = (this.n = h.getUint32(4, true));
    const m = h.getUint32(8, true);
    const k = h.getUint32(12, true);
    const L = layout(n, m, k, h.getUint32(16, true), h.getUint32(20, true));
    this.start = h.getFloat64(24, true);
    this.end = h.getFloat64(32, true);
    this.parseSecs = h.getFloat64(40, true);
    this.bytes = counted;
    this.ends = new Float64Array(ab, L.end, n);
    this.recvMs = new Float64Array(ab, L.recv, n);
    this.msgTime = new Float64Array(ab, L.time, n);
    this.payOff = new Uint32Array(ab, L.payOff, n);
    this.payLen = new Uint32Array(ab, L.payLen, n);
    this.deviceCol = new Uint32Array(ab, L.device, n);
    this.vendorCol = new Uint32Array(ab, L.vendor, n);
    this.reasonCol = new Uint32Array(ab, L.reason, n);
    this.firstRec = new Uint32Array(ab, L.firstRec, n + 1);
    this.statusCol = new Uint8Array(ab, L.status, n);
    this.flags = new Uint8Array(ab, L.flags, n);
    this.recNum = L.recNum.map((o) => new Float64Array(ab, o, m));
    this.recStr = L.recStr.map((o) => new Uint32Array(ab, o, m));
    this.eventCol = new Uint8Array(ab, L.event, m);
    this.strEnd = new Uint32Array(ab, L.strEnd, k);
    this.strBuf = Buffer.from(ab, L.str, h.getUint32(16, true));
    this.strCache = new Array<string | null>(k + 1).fill(null);
    this.payBase = L.payload;
  }

  status(i: number): HandoffStatus {
    return STATUS[this.statusCol[i]!]!;
  }

  invalidUtf8(i: number): boolean {
    return (this.flags[i]! & F_INVALID_UTF8) !== 0;
  }

  /** The message's bytes: a view of this buffer, no copy. */
  payload(i: number): Buffer {
    return Buffer.from(this.ab, this.payBase + this.payOff[i]!, this.payLen[i]!);
  }

  device(i: number): string {
    return this.str(this.deviceCol[i]!)!;
  }

  vendorOf(i: number): string | null {
    return this.str(this.vendorCol[i]!);
  }

  reasonOf(i: number): string | null {
    return this.str(this.reasonCol[i]!);
  }

  /** The header (or ignore verdict's) time, null when the line carries none. */
  timeOf(i: number): number | null {
    const t = this.msgTime[i]!;
    return Number.isNaN(t) ? null : t;
  }

  /** The records of message i, as the parser gave them. */
  records(i: number): NatRecord[] {
    const from = this.firstRec[i]!;
    const to = this.firstRec[i + 1]!;
    const out: NatRecord[] = new Array(to - from);
    const [time, srcPort, natPort, natStart, natEnd, dstPort] = this.recNum as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    const [vendor, proto, srcIp, natIp, dstIp, host, login] = this.recStr as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
    for (let j = from; j < to; j++) {
      out[j - from] = {
        vendor: this.str(vendor[j]!)!,
        event: EVENT_KINDS[this.eventCol[j]!]!,
        proto: this.str(proto[j]!),
        src_ip: this.str(srcIp[j]!),
        src_port: orNull(srcPort[j]!),
        nat_ip: this.str(natIp[j]!),
        nat_port: orNull(natPort[j]!),
        nat_port_start: orNull(natStart[j]!),
        nat_port_end: orNull(natEnd[j]!),
        dst_ip: this.str(dstIp[j]!),
        dst_port: orNull(dstPort[j]!),
        time: orNull(time[j]!),
        host: this.str(host[j]!),
        login: this.str(login[j]!),
      };
    }
    return out;
  }

  /** Message i's records: [from, to) of the record columns. */
  recordSpan(i: number): [number, number] {
    return [this.firstRec[i]!, this.firstRec[i + 1]!];
  }

  time(j: number): number {
    return this.recNum[0]![j]!;
  }

  srcPort(j: number): number {
    return this.recNum[1]![j]!;
  }

  natPort(j: number): number {
    return this.recNum[2]![j]!;
  }

  natPortStart(j: number): number {
    return this.recNum[3]![j]!;
  }

  natPortEnd(j: number): number {
    return this.recNum[4]![j]!;
  }

  dstPort(j: number): number {
    return this.recNum[5]![j]!;
  }

  srcIp(j: number): number | string | null {
    return this.addr(this.recStr[2]![j]!);
  }

  natIp(j: number): number | string | null {
    // Interned: a handful of public addresses a buffer, each read once.
    const k = this.recStr[3]![j]!;
    const cache = (this.natCache ??= new Float64Array(this.strEnd.length + 1).fill(NaN));
    const v = cache[k]!;
    if (v >= 0) return v;
    if (v !== v) {
      const a = this.addr(k);
      cache[k] = typeof a === 'number' ? a : -1;
      return a;
    }
    return this.addr(k);
  }

  dstIp(j: number): number | string | null {
    return this.addr(this.recStr[4]![j]!);
  }

  event(j: number): number {
    return this.eventCol[j]!;
  }

  proto(j: number): string | null {
    return this.str(this.recStr[1]![j]!);
  }

  login(j: number): string | null {
    return this.str(this.recStr[6]![j]!);
  }

  /**
   * String k as an address (RecordColumns): a dotted quad (1–3 digits an octet, no leading zero, each
   * ≤ 255, as store/codes.ts ipToDbFast takes it) read from its bytes without a string; else its text.
   */
  private addr(k: number): number | string | null {
    if (k === 0) return null;
    const b = this.strBuf;
    const to = this.strEnd[k - 1]!;
    let n = 0;
    let part = 0;
    let digits = 0;
    let dots = 0;
    for (let i = k === 1 ? 0 : this.strEnd[k - 2]!; i < to; i++) {
      const c = b[i]!;
      if (c === 46) {
        if (digits === 0 || ++dots > 3) return this.str(k);
        n = n * 256 + part;
        part = 0;
        digits = 0;
      } else if (c >= 48 && c <= 57 && digits < 3 && !(digits > 0 && part === 0)) {
        part = part * 10 + (c - 48);
        if (part > 255) return this.str(k);
        digits++;
      } else return this.str(k);
    }
    if (dots !== 3 || digits === 0) return this.str(k);
    return n * 256 + part;
  }

  private str(i: number): string | null {
    if (i === 0) return null;
    const hit = this.strCache[i];
    if (hit != null) return hit;
    const s = this.strBuf.toString('utf8', i === 1 ? 0 : this.strEnd[i - 2]!, this.strEnd[i - 1]!);
    this.strCache[i] = s;
    return s;
  }
}

function orNull(v: number): number | null {
  return Number.isNaN(v) ? null : v;
}
