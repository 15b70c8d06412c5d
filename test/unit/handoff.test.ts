// The handoff buffer (spool/handoff.ts) gives back exactly what the parser gave: every vendor fixture
// line, parsed as the pipeline does, packed and read back in place.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { MessageParser, type ParsedMessage } from '../../src/parse/message.js';
import { Handoff, HandoffBuilder } from '../../src/spool/handoff.js';
import type { NatRecord } from '../../src/parse/types.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { DayReader } from '../../src/store/sqlite/read.js';
import type { DayLine } from '../../src/store/store.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'vendors');
const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.jsonl'))
  .sort()
  .flatMap((f) =>
    readFileSync(join(DIR, f), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { line: string; received: string }),
  );

/** What a packed message must read back as. */
function expected(p: ParsedMessage): unknown {
  const r = p.res;
  if (p.noise) return { status: 'noise', device: p.device, invalidUtf8: p.invalidUtf8 };
  const hasRecords = r.kind === 'records' && r.records.length > 0;
  return {
    status: hasRecords ? 'records' : r.kind === 'ignored' ? 'ignored' : 'unparsed',
    device: p.device,
    invalidUtf8: p.invalidUtf8,
    vendor: hasRecords || r.kind === 'ignored' ? r.vendor : null,
    reason: r.kind === 'ignored' ? r.reason : null,
    time: r.time,
    records: hasRecords ? r.records : [],
  };
}

function actual(h: Handoff, i: number): unknown {
  const status = h.status(i);
  if (status === 'noise') return { status, device: h.device(i), invalidUtf8: h.invalidUtf8(i) };
  return { status, device: h.device(i), invalidUtf8: h.invalidUtf8(i), vendor: h.vendorOf(i), reason: h.reasonOf(i), time: h.timeOf(i), records: h.records(i) };
}

describe('handoff buffer', () => {
  it('reads back every fixture line as parsed: status, vendor, reason, time, records, bytes and positions', () => {
    const cfg = loadConfig({ file: null, env: { MEGALOG_NOISE_FILTERS: 'NOISE-MARKER', MEGALOG_DEVICES: JSON.stringify({ '192.0.2.7': { name: 'bng-sul', timezone: 'UTC' } }) } });
    const parser = new MessageParser(cfg);
    const builder = new HandoffBuilder();
    const payloads = [
      ...fixtures.map((f) => ({ bytes: Buffer.from(f.line), recvMs: Date.parse(f.received), transport: 'udp' as const, origin: '192.0.2.7' })),
      ...fixtures.map((f) => ({ bytes: Buffer.from(f.line), recvMs: Date.parse(f.received), transport: 'tail' as const, origin: '1:2' })),
      { bytes: Buffer.from('<134>Jan  1 00:00:00 bng-sul NOISE-MARKER hello'), recvMs: 1e12, transport: 'tcp' as const, origin: '10.0.0.1' },
      { bytes: Buffer.from([0x3c, 0x31, 0x3e, 0xff, 0xfe, 0x41]), recvMs: 1e12, transport: 'udp' as const, origin: '10.0.0.2' },
      { bytes: Buffer.alloc(0), recvMs: 1e12, transport: 'import' as const, origin: 'job:x:1' },
    ];
    const parsed: ParsedMessage[] = [];
    let pos = 1000;
    for (const p of payloads) {
      const m = parser.parse(p.bytes, p.recvMs, p.transport, p.origin);
      parsed.push(m);
      pos += 30 + p.bytes.length;
      builder.add(pos, p.recvMs, p.bytes, m);
    }
    expect(fixtures.length).toBeGreaterThan(50);
    const h = new Handoff(builder.finish(1000, pos, 0.5));
    expect(h.n).toBe(payloads.length);
    expect([h.start, h.end, h.parseSecs]).toEqual([1000, pos, 0.5]);
    let end = 1000;
    for (let i = 0; i < payloads.length; i++) {
      end += 30 + payloads[i]!.bytes.length;
      expect(h.ends[i]).toBe(end);
      expect(h.recvMs[i]).toBe(payloads[i]!.recvMs);
      expect(h.payload(i).equals(payloads[i]!.bytes)).toBe(true);
      expect(actual(h, i), payloads[i]!.bytes.toString()).toEqual(expected(parsed[i]!));
    }
    // The checks above see both outcomes of every branch.
    const statuses = new Set(payloads.map((_, i) => h.status(i)));
    expect([...statuses].sort()).toEqual(['ignored', 'noise', 'records', 'unparsed']);
    expect(payloads.some((_, i) => h.invalidUtf8(i))).toBe(true);
    // The builder is empty again after finish, and reusable.
    expect(new Handoff(builder.finish(pos, pos, 0)).n).toBe(0);
  });
});

describe('a day file from the handoff\'s columns', () => {
  it('holds what the same records give as objects: rows, blocks, subscribers, logins and original lines', () => {
    const cfg = loadConfig({ file: null, env: {} });
    const parser = new MessageParser(cfg);
    const builder = new HandoffBuilder();
    const day = '2026-05-10';
    const t0 = Date.parse(`${day}T10:00:00Z`);
    const msgs: ParsedMessage[] = [];
    const bytes: Buffer[] = [];
    // Every fixture line that gives records, filed on one day (its records' times moved to it).
    for (const f of fixtures) {
      const m = parser.parse(Buffer.from(f.line), Date.parse(f.received), 'udp', '192.0.2.7');
      if (m.res.kind !== 'records' || !m.res.records.length) continue;
      m.res.records = m.res.records.map((r, k) => ({ ...r, time: t0 + msgs.length * 1000 + k }));
      msgs.push(m);
      bytes.push(Buffer.from(f.line));
    }
    // Addresses the column reader must leave to the text parser, and fields it must read as null.
    const rec = (over: Partial<NatRecord>): NatRecord => ({ vendor: 'mikrotik', event: 'session_create', proto: 'tcp', src_ip: '100.64.0.9', src_port: 4000, nat_ip: '203.0.113.5', nat_port: 2000, nat_port_start: null, nat_port_end: null, dst_ip: '198.51.100.1', dst_port: 443, time: t0 + 5000, host: 'h', login: null, ...over });
    const odd = [
      rec({ src_ip: '2001:db8::7', dst_ip: '2001:db8::1', login: 'ds-lite-1' }),
      rec({ src_ip: '100.064.0.9', nat_ip: '203.0.113.05' }),
      rec({ src_ip: '100.64.0.256', dst_ip: null, dst_port: null, src_port: null, proto: null }),
      rec({ src_ip: null, time: null }),
      rec({ event: 'block_alloc', nat_port: null, nat_port_start: 1024, nat_port_end: 1087, login: 'cliente42' }),
      rec({ event: 'block_release', nat_port: null, nat_port_start: 1024, nat_port_end: null }),
      rec({ nat_ip: '203.0.113.5 ', login: 'cliente42' }),
    ];
    for (const r of odd) {
      msgs.push({ noise: false, invalidUtf8: false, device: '192.0.2.8', res: { kind: 'records', vendor: 'mikrotik', records: [r], time: t0 + 6000, host: null } });
      bytes.push(Buffer.from(`odd ${JSON.stringify(r)}`));
    }
    msgs.push({ noise: false, invalidUtf8: false, device: '192.0.2.8', res: { kind: 'records', vendor: 'mikrotik', records: odd.slice(0, 3), time: t0 + 7000, host: null } });
    bytes.push(Buffer.from('odd three'));
    let pos = 0;
    msgs.forEach((m, i) => builder.add((pos += 100), t0 + 60_000, bytes[i]!, m));
    const h = new Handoff(builder.finish(0, pos, 0));
    const lines = (cols: boolean): DayLine[] =>
      msgs.map((_, i) => {
        const [from, to] = h.recordSpan(i);
        const base = { end: h.ends[i]!, payload: h.payload(i), device: h.device(i), time: t0, status: 'records' as const, vendor: h.vendorOf(i), reason: null };
        // The columns' line has no objects: a store that read them would file nothing.
        return cols ? { ...base, records: [], cols: { src: h, from, to } } : { ...base, records: h.records(i) };
      });
    const dir = mkdtempSync(join(tmpdir(), 'megalog-cols-'));
    try {
      const dump = (cols: boolean) => {
        const store = new SqliteStore({ cold_storage_dir: join(dir, String(cols)), db_journal_mode: 'WAL', db_synchronous: 'NORMAL', db_cache_size_mib: 16, db_max_page_count: 0 });
        try {
          const half = Math.floor(msgs.length / 2);
          const all = lines(cols);
          store.commitDay(day, all.slice(0, half), all[half - 1]!.end);
          store.commitDay(day, all.slice(half), pos);
        } finally {
          store.close();
        }
        const r = new DayReader(join(dir, String(cols), `${day}.db`), day);
        try {
          const rows = [...r.file.allRows()].sort((a, b) => a.id - b.id);
          const tables = Object.fromEntries(['blk', 'src_seen', 'login', 'login_seen', 'owner', 'day_stat'].map((t) => [t, r.file.db.prepare(`SELECT * FROM ${t}`).all()]));
          const raw = rows.map((row) => r.rawOf(row)?.toString('hex'));
          return { rows, tables, raw, records: r.file.meta('records') };
        } finally {
          r.close();
        }
      };
      const fromCols = dump(true);
      expect(fromCols.rows.length).toBeGreaterThan(msgs.length);
      expect(fromCols.tables.blk.length).toBeGreaterThan(0);
      expect((fromCols.tables.login as { name: string }[]).map((l) => l.name)).toEqual(expect.arrayContaining(['ds-lite-1', 'cliente42']));
      expect(fromCols).toEqual(dump(false));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
