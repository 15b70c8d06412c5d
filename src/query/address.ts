// IP-only answers (a public address without a port): every inside address that held a mapping of it
// overlapping [lo, hi], one candidate each, with its record and mapping counts.
//
// With create-only logs (MikroTik) and a 24 h max age, nearly every record of the address since
// T − 24 h is an interval of its own still open at T: the answer folds tens of thousands of rows.
// Building an event, holder strings and an Interval for each (Timelines) cost ~0.5 s a query, most
// of it in the garbage collector. So the rows take two paths:
//
//   session keys with only opens   ipOpens: two packed numbers a row (key and time; holder) in
//   (no close logged on the key)   typed arrays, no row objects; per-key state in typed arrays
//                                  (foldOpens): the rules of intervals.ts restricted to opens — an
//                                  open by the holder refreshes it unless it comes more than the
//                                  max age after its last open (the interval then ends at last
//                                  open + max age), an open by another holder ends it ("reuse")
//                                  and starts the next — folded per inside address; an interval's
//                                  first record is read only for the address's representative
//                                  (openAt);
//   blocks, and keys with a close  ipOthers rows through Timelines, as every row went before.
//
// A key is on one path for all its rows (blocks and closes are read first), and both fold their
// intervals into the same per-address totals, so the answer does not depend on which path a key
// took. test/query-address.test.ts checks it against Timelines fed every row. Folding in SQL
// (GROUP BY key, then inside address) was measured slower: sorting 40 k rows of one address took
// ~30 ms before any output, where the scan takes ~10 ms.
import { ipFromDb, protoName } from '../store/codes.js';
import { isBlockRow } from '../store/codes.js';
import { OPEN_KEY_SPAN, type DayView, type NatRow } from '../store/store.js';
import { candidateOfRow, type Candidate } from './candidate.js';
import { SESSION_MAX_AGE_MS, Timelines, toEvent, type EndReason, type Interval } from './intervals.js';
import { formatInZone } from '../core/time.js';
import { protoMatches } from './walk.js';

export interface AddressQuery {
  /** Day files from the first day the rules need, oldest first. */
  readers: DayView[];
  natIp: number | Buffer;
  /** First time read (ms): every row of the address from there on. */
  from: number;
  want: number | null;
  lo: number;
  hi: number;
  tz: string;
  /** Read each candidate's original line now (else fillRaw does, later). */
  raw: boolean;
  /** Records to leave out (a destination filter, dest.ts): every row then goes through Timelines. */
  keep?: ((row: NatRow) => boolean) | null;
}

const REASONS: EndReason[] = ['close', 'release', 'reuse', 'max_age'];

/** One inside address's totals over its intervals overlapping the window. */
interface Totals {
  src: string;
  start: number;
  end: number;
  count: number;
  mappings: number;
  exact: boolean;
  lowPort: number;
  highPort: number;
  /** The inside port of every interval (null for blocks) while they agree; undefined once they differ. */
  srcPort: number | null | undefined;
  proto: number;
  protoMixed: boolean;
  /** Bit i: REASONS[i] seen. */
  reasons: number;
  /** The representative interval (first by start, end, first record: time, port, protocol, id): its first record gives device, day and original line. */
  rep: Rep;
}

/**
 * An interval's first record: the row itself (Timelines), or where to find it (fast path, row null:
 * the ord-th open of the key at t, by id; its id is read only if a tie needs it).
 */
interface Rep {
  kind: 'session' | 'block';
  start: number;
  end: number;
  t: number;
  port: number;
  proto: number;
  ord: number;
  reader: DayView;
  row: NatRow | null;
}

/** An address's totals before its first interval is added (addTo). */
function newTotals(src: string, rep: Rep, srcPort: number | null, proto: number): Totals {
  return { src, start: Infinity, end: -Infinity, count: 0, mappings: 0, exact: true, lowPort: Infinity, highPort: -Infinity, srcPort, proto, protoMixed: false, reasons: 0, rep };
}

/**
 * Adds to an address's totals one interval (mappings 1, its port range) or the totals of intervals
 * folded elsewhere; everything but the representative (Fold.offer). Plain fields, no object: the
 * fast path adds ~20,000 intervals an answer.
 */
function addTo(a: Totals, start: number, end: number, count: number, mappings: number, exact: boolean, lowPort: number, highPort: number, srcPort: number | null | undefined, proto: number, protoMixed: boolean, reasons: number): void {
  a.start = Math.min(a.start, start);
  a.end = Math.max(a.end, end);
  a.count += count;
  a.mappings += mappings;
  a.exact &&= exact;
  a.lowPort = Math.min(a.lowPort, lowPort);
  a.highPort = Math.max(a.highPort, highPort);
  if (a.srcPort !== srcPort) a.srcPort = undefined;
  if (a.proto !== proto || protoMixed) a.protoMixed = true;
  a.reasons |= reasons;
}

/** Folds intervals into per-address totals. */
class Fold {
  readonly by = new Map<string, Totals>();

  constructor(private readonly natIp: number | Buffer) {}

  /** The first record of a representative interval (read now for fast-path intervals). */
  row(r: Rep): NatRow {
    r.row ??= r.reader.openAt(this.natIp, r.t, r.port, r.proto, r.ord) ?? null;
    if (!r.row) throw new Error(`IP-only answer: open ${r.ord} of port ${r.port}/${r.proto} at ${r.t} vanished from ${r.reader.path}`);
    return r.row;
  }

  add(src: string, kind: 'session' | 'block', start: number, end: number, count: number, exact: boolean, reason: EndReason, t: number, natPort: number, portEnd: number | null, srcPort: number | null, code: number, ord: number, reader: DayView, row: NatRow | null): void {
    const proto = code % 1024;
    const sp = kind === 'block' ? null : srcPort;
    let a = this.by.get(src);
    if (!a) this.by.set(src, (a = newTotals(src, { kind, start, end, t, port: natPort, proto, ord, reader, row }, sp, proto)));
    else this.offer(a, kind, start, end, t, natPort, proto, ord, reader, row);
    const ported = natPort >= 0;
    addTo(a, start, end, count, 1, exact, ported ? natPort : Infinity, ported ? (kind === 'block' ? (portEnd ?? natPort) : natPort) : -Infinity, sp, proto, false, 1 << REASONS.indexOf(reason));
  }

  /** Makes the interval given a's representative if it comes before the one a has (a Rep is built only then, or on a tie). */
  offer(a: Totals, kind: 'session' | 'block', start: number, end: number, t: number, port: number, proto: number, ord: number, reader: DayView, row: NatRow | null): void {
    const r = a.rep;
    const d = start - r.start || end - r.end || t - r.t || port - r.port || proto - r.proto;
    if (d > 0) return;
    const c: Rep = { kind, start, end, t, port, proto, ord, reader, row };
    if (d < 0 || this.before(c, r)) a.rep = c;
  }

  /** Whether interval c comes before r in the representative order. */
  before(c: Rep, r: Rep): boolean {
    const d = c.start - r.start || c.end - r.end || c.t - r.t || c.port - r.port || c.proto - r.proto;
    if (d) return d < 0;
    // Same first time, port and protocol: a block and a session, or two holders of one key in one millisecond.
    return (this.row(c).id - this.row(r).id || c.reader.start - r.reader.start) < 0;
  }

  /** Adds the totals of intervals folded elsewhere (the fast path), as if each had been added here. */
  merge(b: Totals): void {
    const a = this.by.get(b.src);
    if (!a) {
      this.by.set(b.src, b);
      return;
    }
    addTo(a, b.start, b.end, b.count, b.mappings, b.exact, b.lowPort, b.highPort, b.srcPort, b.proto, b.protoMixed, b.reasons);
    if (this.before(b.rep, a.rep)) a.rep = b.rep;
  }

  addInterval(iv: Interval): void {
    const row = iv.first.row;
    this.add(iv.holder.split('|')[0]!, iv.kind, iv.start, iv.end, iv.count, iv.start_exact, iv.end_reason, iv.first.t, row.nat_port, row.port_end, row.src_port, row.code, 0, iv.first.reader, row);
  }
}

const SRC_PORT_SPAN = 131_072;

/**
 * One candidate per inside address (sorted by record count, then start, then address), and with
 * `withIntervals` every interval overlapping the window too (then every row goes through Timelines, as with a filter).
 */
export function addressCandidates(q: AddressQuery, withIntervals = false): { candidates: Candidate[]; intervals: Interval[] } {
  const fold = new Fold(q.natIp);
  const { lo, hi } = q;
  // A filter on rows needs the rows: the packed fast path (foldOpens) reads keys and holders only.
  const all = withIntervals || q.keep != null;
  const keep = q.keep ?? null;

  // Blocks and closes first: a session key with a close in any file read goes through Timelines
  // with all its rows.
  const others = all ? [] : q.readers.map((r) => r.ipOthers(q.natIp, q.from));
  const slow = new Set<number>();
  for (const rows of others) for (const row of rows) if (!isBlockRow(row.port_end, row.code)) slow.add((row.nat_port + 1) * 1024 + (row.code % 1024));

  if (!all) foldOpens(q, slow, fold);

  const tl = new Timelines();
  q.readers.forEach((r, i) => {
    let rows: Iterable<NatRow>;
    if (all) rows = r.ipRows(q.natIp, q.from);
    else if (!slow.size) rows = others[i]!;
    else rows = others[i]!.concat(r.ipKeyOpens(q.natIp, q.from, slow)).sort((a, b) => a.t - b.t || a.nat_port - b.nat_port || a.id - b.id);
    for (const row of rows) {
      if (!protoMatches(q.want, row.code) || (keep && !keep(row))) continue;
      const ev = toEvent(row, r);
      if (ev) tl.push(ev);
    }
  });
  const intervals = tl.finish().filter((iv) => iv.start <= hi && iv.end >= lo);
  for (const iv of intervals) fold.addInterval(iv);

  const out: Candidate[] = [];
  for (const a of fold.by.values()) {
    const rep = a.rep;
    const row = fold.row(rep);
    const reasons = REASONS.filter((_, i) => a.reasons & (1 << i));
    const f = candidateOfRow(row, rep.reader, { kind: rep.kind, holder: a.src, start: rep.start, end: rep.end, count: 0, start_exact: true, end_reason: reasons[0]! }, q.tz, q.raw);
    out.push(Object.assign(f, {
      src_port: a.srcPort === undefined ? null : f.src_port,
      nat_port_start: a.lowPort === Infinity ? null : a.lowPort,
      nat_port_end: a.highPort === -Infinity ? null : a.highPort,
      proto: a.protoMixed ? null : protoName(a.proto),
      start: formatInZone(a.start, q.tz),
      end: formatInZone(a.end, q.tz),
      start_ms: a.start,
      end_ms: a.end,
      count: a.count,
      mappings: a.mappings,
      kind: 'address' as const,
      start_exact: a.exact,
      end_reason: reasons.length === 1 ? reasons[0]! : ('mixed' as const),
    }));
  }
  out.sort((a, b) => b.count - a.count || a.start_ms - b.start_ms || (a.src_ip! < b.src_ip! ? -1 : a.src_ip! > b.src_ip! ? 1 : 0));
  return { candidates: out, intervals: withIntervals ? intervals : [] };
}

/**
 * foldOpens' per-key state, one slot a key: key + 1 (0: empty); its open interval's holder, first
 * row's reader, start, last open, records and ord; time of the key's last row and its rows at that
 * time. Kept between answers and grown when needed: ~5 MB of typed arrays allocated per answer made
 * V8 run a full collection every few IP-only answers (measured: a request in ten took twice as long).
 */
interface KeyTable {
  slotKey: Int32Array;
  holder: Float64Array;
  firstReader: Uint8Array;
  start: Int32Array;
  last: Int32Array;
  count: Int32Array;
  ord: Int32Array;
  seenT: Int32Array;
  seenN: Int32Array;
}
let table: KeyTable | null = null;
/** Largest table kept (2^18 slots, ~10 MB: answers of up to 131,072 opens); a larger one is the answer's own. */
const KEEP_SLOTS = 1 << 18;

/** The key table with at least `size` slots, all empty (only slotKey needs clearing: a slot's other state is written when its key arrives). */
function keyTable(size: number): KeyTable {
  if (table && table.slotKey.length >= size) {
    table.slotKey.fill(0, 0, size);
    return table;
  }
  const t: KeyTable = { slotKey: new Int32Array(size), holder: new Float64Array(size), firstReader: new Uint8Array(size), start: new Int32Array(size), last: new Int32Array(size), count: new Int32Array(size), ord: new Int32Array(size), seenT: new Int32Array(size), seenN: new Int32Array(size) };
  if (size <= KEEP_SLOTS) table = t;
  return t;
}

/**
 * The fast path: the create-only session keys' intervals, folded per inside address into Totals
 * merged into `fold`. Per-key state lives in typed arrays behind an open-addressing table: objects
 * and a Map for ~30 k keys cost more than the scan (most of it in the garbage collector).
 */
function foldOpens(q: AddressQuery, slow: Set<number>, fold: Fold): void {
  // IPv6 holders: one number per string over every file read (OpenScan.holders).
  const v6Ids = new Map<string, number>();
  const v6: { ip: string; port: number | null }[] = [];
  const intern = (h: string): number => {
    let id = v6Ids.get(h);
    if (id === undefined) {
      const bar = h.indexOf('|');
      v6Ids.set(h, (id = v6.length));
      v6.push({ ip: h.slice(0, bar), port: bar === h.length - 1 ? null : Number(h.slice(bar + 1)) });
    }
    return id;
  };
  const scans = q.readers.map((r) => r.ipOpens(q.natIp, q.from, intern));
  const rows = scans.reduce((n, s) => n + s.n, 0);
  let bits = 4;
  while (1 << bits < 2 * rows) bits++;
  const mask = (1 << bits) - 1;
  const { slotKey, holder, firstReader, start, last, count, ord, seenT, seenN } = keyTable(mask + 1);
  // Times relative to q.from fit an Int32Array up to ~24.8 days: a ±7-day window reads at most ~16.
  const base = q.from;
  const loRel = q.lo - base;
  const hiRel = q.hi - base;
  const M = SESSION_MAX_AGE_MS;
  const by = new Map<number | string, Totals>();

  const end = (s: number, at: number, reason: EndReason) => {
    if (start[s]! > hiRel || at < loRel) return;
    const h = holder[s]!;
    let ip: number | string;
    let port: number | null;
    if (h >= 0) {
      ip = Math.floor(h / SRC_PORT_SPAN);
      const p = h - ip * SRC_PORT_SPAN;
      port = p === 0 ? null : p - 1;
    } else ({ ip, port } = v6[-1 - h]!);
    const key = slotKey[s]! - 1;
    const natPort = Math.floor(key / 1024) - 1;
    const proto = key % 1024;
    const from = base + start[s]!;
    const to = base + at;
    const reader = q.readers[firstReader[s]!]!;
    let a = by.get(ip);
    if (!a) by.set(ip, (a = newTotals(ipFromDb(typeof ip === 'number' ? ip : Buffer.from(ip, 'hex')) ?? '', { kind: 'session', start: from, end: to, t: from, port: natPort, proto, ord: ord[s]!, reader, row: null }, port, proto)));
    else fold.offer(a, 'session', from, to, from, natPort, proto, ord[s]!, reader, null);
    addTo(a, from, to, count[s]!, 1, true, natPort >= 0 ? natPort : Infinity, natPort >= 0 ? natPort : -Infinity, port, proto, false, 1 << REASONS.indexOf(reason));
  };

  scans.forEach(({ n, keys, holders }, ri) => {
    const shift = q.readers[ri]!.start - base;
    for (let i = 0; i < n; i++) {
      const packed = keys[i]!;
      const tDay = Math.floor(packed / OPEN_KEY_SPAN);
      const key = packed - tDay * OPEN_KEY_SPAN;
      if (q.want != null && !protoMatches(q.want, key)) continue;
      if (slow.size && slow.has(key)) continue;
      const t = tDay + shift;
      const h = holders[i]!;
      let s = Math.imul(key + 1, 0x9e3779b1) >>> (32 - bits);
      while (slotKey[s] !== 0 && slotKey[s] !== key + 1) s = (s + 1) & mask;
      if (slotKey[s] === 0) {
        slotKey[s] = key + 1;
        holder[s] = h;
        firstReader[s] = ri;
        start[s] = last[s] = seenT[s] = t;
        count[s] = seenN[s] = 1;
        ord[s] = 0;
        continue;
      }
      if (t === seenT[s]) seenN[s]!++;
      else {
        seenT[s] = t;
        seenN[s] = 1;
      }
      // The rules of intervals.ts restricted to opens: an open more than the max age after the last
      // ends the interval there; an open by another holder ends it here ("reuse"); either starts the next.
      let next = false;
      if (t > last[s]! + M) {
        end(s, last[s]! + M, 'max_age');
        next = true;
      } else if (h !== holder[s]) {
        end(s, t, 'reuse');
        next = true;
      }
      if (next) {
        holder[s] = h;
        firstReader[s] = ri;
        start[s] = last[s] = t;
        count[s] = 1;
        ord[s] = seenN[s]! - 1;
      } else {
        count[s]!++;
        last[s] = t;
      }
    }
  });
  for (let s = 0; s <= mask; s++) if (slotKey[s] !== 0) end(s, last[s]! + M, 'max_age');
  for (const a of by.values()) fold.merge(a);
}
