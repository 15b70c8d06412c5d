// DayReader.rawOf inflates only the chunk of a chunked block, or the part of a whole 1,024-line
// block up to the line asked for: every line of a day comes back byte for byte, whatever its block
// format, position, size or compressibility.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipToDb } from '../../src/store/codes.js';
import { DayFile, isChunked, type DayLine } from '../../src/store/sqlite/dayfile.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { NatRow } from '../../src/store/store.js';
import { DayReader } from '../../src/store/sqlite/read.js';

const DAY = '2026-04-10';
const T0 = Date.parse(`${DAY}T01:00:00Z`);
let dir: string;
const sent: Buffer[] = [];
let formats: string[] = [];
let seed = 11;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed / 2147483648);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'megalog-raw-'));
  const store = new SqliteStore({ cold_storage_dir: dir, db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });
  // 2,500 lines (three blocks, the last one short) in two commits: syslog-like lines, runs of
  // random bytes (incompressible: the compressed share of a line is then far from average), empty
  // ones. The first commit starts with short lines, too few bytes for a dictionary: its two blocks
  // are whole (as files written before chunking), the second commit's block is chunked.
  let pos = 0;
  for (const count of [1500, 1000]) {
    const lines: DayLine[] = [];
    for (let i = 0; i < count; i++) {
      const k = sent.length;
      const kind = rnd();
      const payload =
        k < 300 ? Buffer.from(`l${k}`) : kind < 0.1 ? Buffer.from(Array.from({ length: Math.floor(rnd() * 3000) }, () => Math.floor(rnd() * 256))) : kind < 0.15 ? Buffer.alloc(0) : Buffer.from(`<134>Apr 10 01:00:00 bng1 firewall,info srcnat: line ${k} ${'x'.repeat(Math.floor(rnd() * 200))}`);
      sent.push(payload);
      lines.push({ end: ++pos, payload, device: '192.0.2.1', time: T0 + k, status: 'records', vendor: 'mikrotik', reason: null, records: [{ vendor: 'mikrotik', event: 'session_create', proto: 'tcp', src_ip: '100.64.0.1', src_port: 1, nat_ip: '203.0.113.9', nat_port: 10_000 + k, nat_port_start: null, nat_port_end: null, dst_ip: null, dst_port: null, time: T0 + k, host: 'b' }] });
    }
    store.commitDay(DAY, lines, pos);
  }
  store.close();
  const f = new DayFile(join(dir, `${DAY}.db`), DAY, { journalMode: '', synchronous: '', cacheSizeMiB: 16, maxPageCount: 0, readonly: true });
  formats = (f.db.prepare('SELECT data FROM raw ORDER BY id').pluck().all() as Buffer[]).map((d) => (isChunked(d) ? 'chunked' : 'whole'));
  expect([...f.allRawLines()].every((l, i) => l.equals(sent[i]!))).toBe(true);
  f.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('original lines', () => {
  it('reads every line of a block exactly, in any order, with a fresh reader or a warm one', () => {
    const rows = (r: DayReader) => [...r.file.allRows()].filter((x) => x.nat_ip === ipToDb('203.0.113.9')).sort((a, b) => a.nat_port - b.nat_port);
    const warm = DayReader.open(dir, DAY)!;
    try {
      expect(formats).toEqual(['whole', 'whole', 'chunked']);
      const all = rows(warm);
      expect(all).toHaveLength(sent.length);
      // forwards: each block's cached prefix ends, sooner or later, inside the next line asked
      for (const row of all) expect(warm.rawOf(row)?.equals(sent[row.nat_port - 10_000]!), `line ${row.nat_port - 10_000}`).toBe(true);
      const back = DayReader.open(dir, DAY)!;
      try {
        for (const row of [...all].reverse()) expect(back.rawOf(row)?.equals(sent[row.nat_port - 10_000]!), `line ${row.nat_port - 10_000}`).toBe(true);
      } finally {
        back.close();
      }
      for (const k of [0, 1, 1023, 1024, 1499, 1500, 2047, 2048, 2499]) {
        const cold = DayReader.open(dir, DAY)!;
        try {
          expect(cold.rawOf(all[k]!)?.equals(sent[k]!), `line ${k}`).toBe(true);
        } finally {
          cold.close();
        }
      }
    } finally {
      warm.close();
    }
  });
});
