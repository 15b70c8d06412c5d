// The handoff buffer (spool/handoff.ts) gives back exactly what the parser gave: every vendor fixture
// line, parsed as the pipeline does, packed and read back in place.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { MessageParser, type ParsedMessage } from '../../src/parse/message.js';
import { Handoff, HandoffBuilder } from '../../src/spool/handoff.js';

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
