// Commit generated records the way a router's log reaches the committer: in time order, ~40 lines a
// commit, with a share held back and committed hours later (late into hours already sealed). Used by
// the query oracle tests, which compare answers from these files with answers from every row.
import type { NatRecord } from '../../src/parse/types.js';
import { dayOf } from '../../src/store/codes.js';
import type { DayLine } from '../../src/store/sqlite/dayfile.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

export interface LateOptions {
  /** The tests' seeded generator: drawn once a record, and once more for each held-back one. */
  rnd: () => number;
  /** Share of records held back. */
  lateShare: number;
  /** A held-back record is committed between `lateMinMs` and `lateMinMs + lateSpreadMs` after its time. */
  lateMinMs: number;
  lateSpreadMs: number;
  /** The original line of a record (`pos`: its spool position). */
  payload: (r: NatRecord, pos: number) => string;
}

export function commitWithLateLines(store: SqliteStore, recs: NatRecord[], o: LateOptions): void {
  const held: { due: number; rec: NatRecord }[] = [];
  let pos = 0;
  let batch: NatRecord[] = [];
  const flush = () => {
    const byDay = new Map<string, DayLine[]>();
    for (const r of batch) {
      const d = dayOf(r.time!);
      let l = byDay.get(d);
      if (!l) byDay.set(d, (l = []));
      pos++;
      l.push({ end: pos, payload: Buffer.from(o.payload(r, pos)), device: '192.0.2.1', time: r.time!, status: 'records', vendor: r.vendor, reason: null, records: [r] });
    }
    for (const [d, lines] of [...byDay].sort()) store.commitDay(d, lines, pos);
    batch = [];
  };
  for (const r of recs) {
    if (o.rnd() < o.lateShare) held.push({ due: r.time! + o.lateMinMs + o.rnd() * o.lateSpreadMs, rec: r });
    else batch.push(r);
    for (let i = held.length - 1; i >= 0; i--) if (held[i]!.due <= r.time!) batch.push(...held.splice(i, 1).map((h) => h.rec));
    if (batch.length >= 40) flush();
  }
  batch.push(...held.map((h) => h.rec));
  flush();
}
