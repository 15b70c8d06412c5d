import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpoolReader } from '../../src/spool/reader.js';
import { SpoolWriter } from '../../src/spool/writer.js';
import { tempDir } from '../helpers/daemon.js';

const opts = (dir: string, floor = 0) => ({ dir, segmentBytes: 4096, fsync: 'never' as const, floor });

function writeN(dir: string, n: number, from = 0): SpoolWriter {
  const w = new SpoolWriter(opts(dir));
  for (let i = from; i < from + n; i++) {
    w.append(1_700_000_000_000 + i, 'udp', '10.0.0.1', Buffer.from(`<13>line ${i}`));
    if (i % 7 === 0) w.flush();
  }
  w.flush();
  return w;
}

describe('spool', () => {
  it('reads back every record in order across segments, with its receive metadata', () => {
    const dir = tempDir();
    const w = writeN(dir, 500);
    expect(readdirSync(dir).length).toBeGreaterThan(3); // rotated at 4 KiB
    const b = new SpoolReader(dir).read(0, w.end, 10_000);
    expect(b.records.map((r) => r.payload.toString())).toEqual(Array.from({ length: 500 }, (_, i) => `<13>line ${i}`));
    expect(b.records[3]).toMatchObject({ recvMs: 1_700_000_000_003, transport: 'udp', origin: '10.0.0.1' });
    expect(b.next).toBe(w.end);
    expect(b.corruptBytes).toBe(0);
    w.close();
  });

  it('cuts a torn tail at recovery, counts it, and resumes appending after the last whole record', () => {
    const dir = tempDir();
    const w = writeN(dir, 10);
    w.close();
    const seg = readdirSync(dir).sort().at(-1)!;
    appendFileSync(join(dir, seg), Buffer.from([40, 0, 0, 0, 1, 2, 3])); // half a record
    const w2 = new SpoolWriter(opts(dir));
    expect(w2.recovery.tornBytes).toBe(7);
    w2.append(1, 'tcp', '10.0.0.2', Buffer.from('after'));
    w2.flush();
    const b = new SpoolReader(dir).read(0, w2.end, 100);
    expect(b.records.map((r) => r.payload.toString()).slice(-2)).toEqual(['<13>line 9', 'after']);
    expect(b.corruptBytes).toBe(0);
    w2.close();
  });

  it('skips a corrupted record inside a segment, counts the damage, and keeps the records after it', () => {
    const dir = tempDir();
    const w = writeN(dir, 20);
    w.close();
    const seg = join(dir, readdirSync(dir).sort()[0]!);
    const buf = readFileSync(seg);
    buf[60] ^= 0xff; // inside the 3rd record
    writeFileSync(seg, buf);
    const b = new SpoolReader(dir).read(0, w.end, 100);
    expect(b.records.length).toBe(19);
    expect(b.corruptRegions).toBe(1);
    expect(b.corruptBytes).toBeGreaterThan(0);
    expect(b.records.at(-1)!.payload.toString()).toBe('<13>line 19');
  });

  it('never reuses a committed position: resumes at the floor when the spool lost bytes', () => {
    const dir = tempDir();
    const w = new SpoolWriter(opts(dir, 123_456));
    expect(w.end).toBe(123_456);
    w.append(1, 'udp', 'x', Buffer.from('a'));
    w.flush();
    expect(w.end).toBeGreaterThan(123_456);
    w.close();
    expect(statSync(join(dir, '00000000000000123456.seg')).size).toBeGreaterThan(0);
  });
});
