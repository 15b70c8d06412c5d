// IP-only answers (a public address without a port): every inside address that held a mapping of it
// overlapping [lo, hi], one candidate each, with its record and mapping counts.
//
// With create-only logs (MikroTik) and a 24 h max age, nearly every record of the address since
// T − 24 h is an interval of its own still open at T: the answer folds tens of thousands of rows.
// Building an event, holder strings and an Interval for each (Timelines) cost ~0.5 s a query, most
// of it in the garbage collector. So the rows take two paths:
//
//   session keys with only opens   ipOpens rows, plain arrays, one small state per key: the rules
//   (no close logged on the key)   of intervals.ts restricted to opens — an open by the holder
//                                  refreshes it unless it comes more than the max age after its
//                                  last open (the interval then ends at last open + max age), an
//                                  open by another holder ends it ("reuse") and starts the next;
//   blocks, and keys with a close  ipOthers rows through Timelines, as every row went before.
//
// A key is on one path for all its rows (blocks and closes are read first), and both fold their
// intervals into the same per-address totals, so the answer does not depend on which path a key
// took. test/query-address.test.ts checks it against Timelines fed every row.
import { ipFromDb, protoName } from '../store/codes.js';
import { isBlockRow } from '../store/sqlite/ports.js';
import type { DayReader, NatRow } from '../store/sqlite/read.js';
import { candidateOfRow, type Candidate } from './candidate.js';
import { SESSION_MAX_AGE_MS, Timelines, toEvent, type EndReason, type Interval } from './intervals.js';
import { formatInZone } from './time.js';
import { protoMatches } from './walk.js';

export interface AddressQuery {
  /** Day files from the first day the rules need, oldest first. */
  readers: DayReader[];
  natIp: number | Buffer;
  /** First time read (ms): every row of the address from there on. */
  from: number;
  want: number | null;
  lo: number;
  hi: number;
  tz: string;
  /** Read each candidate's original line now (else fillRaw does, later). */
  raw: boolean;
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
  rep: { kind: 'session' | 'block'; start: number; end: number; t: number; port: number; proto: number; id: number; reader: DayReader; row: NatRow | null };
}

/** Folds intervals into per-address totals. */
class Fold {
  readonly by = new Map<string, Totals>();

  add(src: string, kind: 'session' | 'block', start: number, end: number, count: number, exact: boolean, reason: EndReason, t: number, natPort: number, portEnd: number | null, srcPort: number | null, code: number, id: number, reader: DayReader, row: NatRow | null): void {
    const proto = code % 1024;
    const sp = kind === 'block' ? null : srcPort;
    let a = this.by.get(src);
    if (!a) {
      a = { src, start, end, count: 0, mappings: 0, exact: true, lowPort: Infinity, highPort: -Infinity, srcPort: sp, proto, protoMixed: false, reasons: 0, rep: { kind, start, end, t, port: natPort, proto, id, reader, row } };
      this.by.set(src, a);
    } else {
      a.start = Math.min(a.start, start);
      a.end = Math.max(a.end, end);
      if (a.srcPort !== sp) a.srcPort = undefined;
      if (a.proto !== proto) a.protoMixed = true;
      const r = a.rep;
      if ((start - r.start || end - r.end || t - r.t || natPort - r.port || proto - r.proto || id - r.id || reader.start - r.reader.start) < 0) a.rep = { kind, start, end, t, port: natPort, proto, id, reader, row };
    }
    a.count += count;
    a.mappings++;
    a.exact &&= exact;
    if (natPort >= 0) {
      a.lowPort = Math.min(a.lowPort, natPort);
      a.highPort = Math.max(a.highPort, kind === 'block' ? (portEnd ?? natPort) : natPort);
    }
    a.reasons |= 1 << REASONS.indexOf(reason);
  }

  addInterval(iv: Interval): void {
    const row = iv.first.row;
    this.add(iv.holder.split('|')[0]!, iv.kind, iv.start, iv.end, iv.count, iv.start_exact, iv.end_reason, iv.first.t, row.nat_port, row.port_end, row.src_port, row.code, row.id, iv.first.reader, row);
  }
}

/** A session key's open interval on the fast path (no row kept: the row arrays die young). Times relative to AddressQuery.from. */
interface Open {
  src: number | Buffer;
  natPort: number;
  srcPort: number | null;
  code: number;
  id: number;
  reader: DayReader;
  start: number;
  last: number;
  count: number;
}

/**
 * One candidate per inside address (sorted by record count, then start, then address), and with
 * `all` every interval overlapping the window too (then every row goes through Timelines).
 */
export function addressCandidates(q: AddressQuery, all = false): { candidates: Candidate[]; intervals: Interval[] } {
  const fold = new Fold();
  const { lo, hi } = q;
  const texts = new Map<number | string, string>();
  const text = (ip: number | Buffer): string => {
    const k = typeof ip === 'number' ? ip : ip.toString('hex');
    let s = texts.get(k);
    if (s === undefined) texts.set(k, (s = ipFromDb(ip) ?? ''));
    return s;
  };

  // Blocks and closes first: a session key with a close in any file read goes through Timelines
  // with all its rows.
  const others = all ? [] : q.readers.map((r) => r.ipOthers(q.natIp, q.from));
  const slow = new Set<number>();
  for (const rows of others) for (const row of rows) if (!isBlockRow(row.port_end, row.code)) slow.add((row.nat_port + 1) * 1024 + (row.code % 1024));

  if (!all) {
    // Times relative to q.from: small integers, so the per-key state holds no boxed doubles.
    const base = q.from;
    const loRel = lo - base;
    const hiRel = hi - base;
    const M = SESSION_MAX_AGE_MS;
    const open = new Map<number, Open>();
    const end = (o: Open, at: number, reason: EndReason) => {
      if (o.start <= hiRel && at >= loRel) fold.add(text(o.src), 'session', base + o.start, base + at, o.count, true, reason, base + o.start, o.natPort, null, o.srcPort, o.code, o.id, o.reader, null);
    };
    for (const r of q.readers) {
      const shift = r.start - base;
      for (const row of r.ipOpens(q.natIp, q.from)) {
        const code = row[4];
        if (q.want != null && !protoMatches(q.want, code)) continue;
        const key = (row[1] + 1) * 1024 + (code % 1024);
        if (slow.size && slow.has(key)) continue;
        const t = row[0] + shift;
        const src = row[2];
        const sp = row[3];
        let o = open.get(key);
        if (o && t > o.last + M) {
          end(o, o.last + M, 'max_age');
          o.count = 0;
        } else if (o && o.count && (o.srcPort !== sp || (typeof src === 'number' ? o.src !== src : typeof o.src === 'number' || !o.src.equals(src)))) {
          end(o, t, 'reuse');
          o.count = 0;
        }
        if (o && o.count) {
          o.count++;
          o.last = t;
        } else if (o) {
          // the key's next interval: the state object is reused
          o.src = src;
          o.srcPort = sp;
          o.natPort = row[1];
          o.code = code;
          o.id = row[5];
          o.reader = r;
          o.start = o.last = t;
          o.count = 1;
        } else open.set(key, { src, srcPort: sp, natPort: row[1], code, id: row[5], reader: r, start: t, last: t, count: 1 });
      }
    }
    for (const o of open.values()) end(o, o.last + M, 'max_age');
  }

  const tl = new Timelines();
  q.readers.forEach((r, i) => {
    let rows: Iterable<NatRow>;
    if (all) rows = r.ipRows(q.natIp, q.from);
    else if (!slow.size) rows = others[i]!;
    else rows = others[i]!.concat(r.ipKeyOpens(q.natIp, q.from, slow)).sort((a, b) => a.t - b.t || a.nat_port - b.nat_port || a.id - b.id);
    for (const row of rows) {
      if (!protoMatches(q.want, row.code)) continue;
      const ev = toEvent(row, r);
      if (ev) tl.push(ev);
    }
  });
  const intervals = tl.finish().filter((iv) => iv.start <= hi && iv.end >= lo);
  for (const iv of intervals) fold.addInterval(iv);

  const out: Candidate[] = [];
  for (const a of fold.by.values()) {
    const rep = a.rep;
    const row = rep.row ?? rep.reader.rowAt(q.natIp, rep.t, rep.port, rep.id);
    if (!row) throw new Error(`IP-only answer: row ${rep.id} at ${rep.t} vanished from ${rep.reader.path}`);
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
  return { candidates: out, intervals: all ? intervals : [] };
}
