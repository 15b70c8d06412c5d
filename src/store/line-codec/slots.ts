// Slots of the line codec: a record field written as vendors write it (addresses, ports, protocol,
// times in BSD / ISO / clock / epoch forms in a device's zone), rendered into bytes.
import { ipFromDb, protoName } from '../codes.js';
import { writeDec, writeFixed } from './bytes.js';
import type { LineRecord } from './types.js';

export const enum F {
  SrcIp, NatIp, DstIp, SrcPort, NatPort, PortEnd, DstPort, ProtoLower, ProtoUpper, ProtoNum,
  TBsd, TBsd0, TBsdY, TIso, TDate, TClock, TEpochS, TEpochMs, TEpochUs, TEpochNs,
}
export const FIRST_TIME = F.TBsd;
export const LAST_FIELD = F.TEpochNs;
/** Longest slot text (an IPv6 address, 39; epoch ns, 19). */
export const SLOT_MAX = 48;

const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Clock texts of one second, side by side: bsd 0 (15), bsd0 15 (15), bsdY 30 (20), iso 50 (19), date 69 (10), hms 79 (8). */
const CLOCK_AT = [0, 15, 30, 50, 69, 79];
const CLOCK_LEN = [15, 15, 20, 19, 10, 8];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

const clocks = new Map<number, Buffer | null>();
let lastSec = NaN;
let lastClock: Buffer | null = null;

/** Clock texts of `sec` (seconds since the epoch, zone offset added), or null outside years 1000–9999. */
function clockOf(sec: number): Buffer | null {
  if (sec === lastSec) return lastClock;
  let c = clocks.get(sec);
  if (c === undefined) {
    if (clocks.size >= 4096) clocks.clear();
    const d = new Date(sec * 1000);
    const y = d.getUTCFullYear();
    if (!(y >= 1000 && y <= 9999)) c = null;
    else {
      const day = d.getUTCDate();
      const mon = MON[d.getUTCMonth()]!;
      const dd = pad2(day);
      const date = `${y}-${pad2(d.getUTCMonth() + 1)}-${dd}`;
      const hms = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
      c = Buffer.from(`${mon} ${day < 10 ? ' ' : ''}${day} ${hms}${mon} ${dd} ${hms}${mon} ${dd} ${y} ${hms}${date}T${hms}${date}${hms}`, 'latin1');
    }
    clocks.set(sec, c);
  }
  lastSec = sec;
  lastClock = c;
  return c;
}

const protoLower: (Buffer | null | undefined)[] = [];
const protoUpper: (Buffer | null | undefined)[] = [];

function protoText(p: number, upper: boolean): Buffer | null {
  const t = upper ? protoUpper : protoLower;
  let b = t[p];
  if (b === undefined) {
    const name = protoName(p);
    b = name == null ? null : Buffer.from(upper ? name.toUpperCase() : name, 'latin1');
    t[p] = b;
  }
  return b;
}

function writeIp(v: number | Uint8Array | bigint | null | undefined, out: Uint8Array, pos: number): number {
  if (v == null) return -1;
  if (typeof v === 'bigint') v = Number(v);
  if (typeof v === 'number') {
    if (!(v >= 0 && v <= 0xffffffff) || !Number.isInteger(v)) return -1;
    pos = writeDec(v >>> 24, out, pos);
    out[pos++] = 46;
    pos = writeDec((v >>> 16) & 255, out, pos);
    out[pos++] = 46;
    pos = writeDec((v >>> 8) & 255, out, pos);
    out[pos++] = 46;
    return writeDec(v & 255, out, pos);
  }
  const s = ipFromDb(v);
  if (s == null) return -1;
  for (let i = 0; i < s.length; i++) out[pos++] = s.charCodeAt(i);
  return pos;
}

function writePort(n: number | null | undefined, out: Uint8Array, pos: number): number {
  if (n == null || !(n >= 0 && n <= Number.MAX_SAFE_INTEGER) || !Number.isInteger(n)) return -1;
  return writeDec(n, out, pos);
}

/**
 * Write slot `f` (zone `off` minutes) of `rec` at `pos` of `out` (room for SLOT_MAX bytes); the new
 * position, or −1 when the record has no such field. Epoch µs / ns: the ms digits, then `extra`
 * zero-padded unless negative.
 */
export function writeSlot(f: F, off: number, rec: LineRecord, timeBase: number, out: Uint8Array, pos: number, extra: number): number {
  switch (f) {
    case F.SrcIp: return writeIp(rec.src_ip, out, pos);
    case F.NatIp: return writeIp(rec.nat_ip, out, pos);
    case F.DstIp: return writeIp(rec.dst_ip, out, pos);
    case F.SrcPort: return writePort(rec.src_port, out, pos);
    case F.NatPort: return writePort(rec.nat_port, out, pos);
    case F.PortEnd: return writePort(rec.port_end, out, pos);
    case F.DstPort: return writePort(rec.dst_port, out, pos);
    case F.ProtoLower:
    case F.ProtoUpper: {
      const b = protoText(rec.code % 1024, f === F.ProtoUpper);
      if (b === null) return -1;
      for (let i = 0; i < b.length; i++) out[pos++] = b[i]!;
      return pos;
    }
    case F.ProtoNum: {
      const p = rec.code % 1024;
      return p >= 0 && p < 256 ? writeDec(p, out, pos) : -1;
    }
  }
  const ms = timeBase + rec.t;
  if (!(ms >= 0 && ms <= 253_402_300_799_000) || !Number.isInteger(ms)) return -1;
  switch (f) {
    case F.TEpochS: return writeDec(Math.floor(ms / 1000), out, pos);
    case F.TEpochMs: return writeDec(ms, out, pos);
    case F.TEpochUs:
    case F.TEpochNs: {
      pos = writeDec(ms, out, pos);
      return extra < 0 ? pos : writeFixed(extra, f === F.TEpochUs ? 3 : 6, out, pos);
    }
  }
  const c = clockOf(Math.floor((ms + off * 60_000) / 1000));
  if (c === null) return -1;
  const k = f - F.TBsd;
  const s = CLOCK_AT[k]!;
  const n = CLOCK_LEN[k]!;
  for (let i = 0; i < n; i++) out[pos++] = c[s + i]!;
  return pos;
}

/** Digits after the ms of an epoch µs / ns slot (0: none). */
export function extraWidth(f: number): number {
  return f === F.TEpochUs ? 3 : f === F.TEpochNs ? 6 : 0;
}
