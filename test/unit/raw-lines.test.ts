// Original lines (store/line-codec.ts through DayFile and DayReader): every line of a day comes back
// byte for byte, whether it is kept as a residue against its record (a MikroTik line that renders from
// it) or whole (random bytes, an empty line, a line its record does not render, a line without one),
// in any order, from a fresh reader or a warm one, by row or by (address, port, time, id).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipToDb } from '../../src/store/codes.js';
import { DayFile, type DayLine } from '../../src/store/sqlite/dayfile.js';
import { mikrotikLine } from '../helpers/gen.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { NatRow } from '../../src/store/store.js';
import { DayReader } from '../../src/store/sqlite/read.js';

const DAY = '2026-04-10';
const T0 = Date.parse(`${DAY}T01:00:00Z`);
let dir: string;
const sent: Buffer[] = [];
let rawBytes = 0;
let seed = 11;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed / 2147483648);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'megalog-raw-'));
  const store = new SqliteStore({ cold_storage_dir: dir, db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });
  // 2,500 lines (three blocks, the last one short) in two commits: MikroTik lines that render from
  // their record, runs of random bytes, empty lines, lines the record does not render; the record's
  // port numbers the line (10,000 + k).
  let pos = 0;
  for (const count of [1500, 1000]) {
    const lines: DayLine[] = [];
    for (let i = 0; i < count; i++) {
      const k = sent.length;
      const kind = rnd();
      const t = T0 + k * 1000;
      const src = `100.64.${k % 7}.${k % 200}`;
      const payload =
        kind < 0.1
          ? Buffer.from(Array.from({ length: Math.floor(rnd() * 3000) }, () => Math.floor(rnd() * 256)))
          : kind < 0.15
            ? Buffer.alloc(0)
            : kind < 0.25
              ? Buffer.from(`<134>Apr 10 01:00:00 bng1 firewall,info srcnat: line ${k} ${'x'.repeat(Math.floor(rnd() * 200))}`)
              : Buffer.from(mikrotikLine({ time: t, srcIp: src, srcPort: 1024 + k, natIp: '203.0.113.9', natPort: 10_000 + k, dstIp: '198.51.100.7', dstPort: 443, proto: 'TCP', user: `c${k % 7}` }));
      sent.push(payload);
      lines.push({ end: ++pos, payload, device: '192.0.2.1', time: t, status: 'records', vendor: 'mikrotik', reason: null, records: [{ vendor: 'mikrotik', event: 'session_create', proto: 'tcp', src_ip: src, src_port: 1024 + k, nat_ip: '203.0.113.9', nat_port: 10_000 + k, nat_port_start: null, nat_port_end: null, dst_ip: '198.51.100.7', dst_port: 443, time: t, host: 'b' }] });
    }
    // and a line without a record
    lines.push({ end: ++pos, payload: Buffer.from(`unparsed ${pos}`), device: '192.0.2.1', time: T0, status: 'unparsed', vendor: null, reason: null, records: [] });
    sent.push(lines.at(-1)!.payload);
    store.commitDay(DAY, lines, pos);
  }
  store.close();
  const f = new DayFile(join(dir, `${DAY}.db`), DAY, { journalMode: '', synchronous: '', cacheSizeMiB: 16, maxPageCount: 0, readonly: true });
  rawBytes = Number(f.db.prepare('SELECT sum(length(data)) FROM raw').pluck().get());
  expect([...f.allRawLines()].every((l, i) => l.equals(sent[i]!))).toBe(true);
  f.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('original lines', () => {
  it('reads every line of a block exactly, in any order, with a fresh reader or a warm one', () => {
    const rows = (r: DayReader) => [...r.file.allRows()].filter((x) => x.nat_ip === ipToDb('203.0.113.9')).sort((a, b) => a.nat_port - b.nat_port);
    const warm = DayReader.open(dir, DAY)!;
    try {
      const all = rows(warm);
      const lineOf = (row: NatRow) => sent[row.nat_port - 10_000]!;
      expect(all).toHaveLength(sent.length - 2);
      for (const row of all) expect(warm.rawOf(row)?.equals(lineOf(row)), `line ${row.nat_port - 10_000}`).toBe(true);
      const back = DayReader.open(dir, DAY)!;
      try {
        for (const row of [...all].reverse()) expect(back.rawAt(row.nat_ip, row.nat_port, back.start + row.t, row.id)?.equals(lineOf(row)), `line ${row.nat_port - 10_000}`).toBe(true);
      } finally {
        back.close();
      }
      for (const k of [0, 1, 1023, 1024, 1499, 1500, 2047, 2048, 2498]) {
        const cold = DayReader.open(dir, DAY)!;
        try {
          expect(cold.rawOf(all[k]!)?.equals(lineOf(all[k]!)), `line ${k}`).toBe(true);
        } finally {
          cold.close();
        }
      }
    } finally {
      warm.close();
    }
  });

  it('keeps a line that renders from its record in a few bytes', () => {
    const whole = sent.filter((l) => !l.toString('latin1').includes(' forward: in:')).reduce((n, l) => n + l.length, 0);
    const rendered = sent.filter((l) => l.toString('latin1').includes(' forward: in:')).length;
    // the lines kept whole cost about their deflated size; the ~1,900 rendered ones a few bytes each
    expect((rawBytes - whole * 0.8) / rendered).toBeLessThan(10);
  });
});
