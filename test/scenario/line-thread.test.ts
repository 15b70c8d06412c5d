// The line codec thread (store/line-codec/thread.ts), on the built code (its worker is built
// JavaScript): a day file that hands its lines to the thread writes the very bytes it writes encoding
// them itself, and a block the thread fails on fails its commit, which leaves nothing and is then
// written again. SIGKILL with blocks in the thread: test/scenario/exactly-once.test.ts.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DayLine } from '../../src/store/sqlite/dayfile.js';
import { mappings, mikrotikLine } from '../helpers/gen.js';
import type { NatRecord } from '../../src/parse/types.js';
import { tempDir } from '../helpers/daemon.js';

// The built modules (the thread's worker is the built thread-worker.js beside thread.js).
const dist = (m: string) => new URL(`../../dist/src/store/${m}`, import.meta.url).href;
const { DayFile } = (await import(dist('sqlite/dayfile.js'))) as typeof import('../../src/store/sqlite/dayfile.js');
const { LineThread } = (await import(dist('line-codec/thread.js'))) as typeof import('../../src/store/line-codec/thread.js');
type DayFile = InstanceType<typeof DayFile>;
type LineThread = InstanceType<typeof LineThread>;

const DAY = '2026-03-02';
const T0 = Date.parse(`${DAY}T08:00:00Z`);
const OPTS = { journalMode: 'WAL', synchronous: 'NORMAL', cacheSizeMiB: 16, maxPageCount: 0 };

const rec = (r: Partial<NatRecord>): NatRecord => ({ vendor: 'mikrotik', event: 'session_create', proto: 'tcp', src_ip: null, src_port: null, nat_ip: null, nat_port: null, nat_port_start: null, nat_port_end: null, dst_ip: null, dst_port: null, time: null, host: null, login: null, ...r });

/**
 * `n` lines from `from` (line numbers): MikroTik sessions from four devices, and every 50th line one
 * of the other kinds: an IPv6 subscriber (DS-Lite), a port block, a line of two records, a line
 * that did not parse.
 */
function lines(from: number, n: number): DayLine[] {
  const out: DayLine[] = [];
  let i = from;
  for (const m of mappings(n, { start: T0 + from * 10, stepMs: 10, seed: 7 + from })) {
    const end = ++i;
    const device = `10.0.0.${1 + (i % 4)}`;
    const k = i % 200;
    const line = (text: string, records: NatRecord[], status: DayLine['status'] = 'records'): DayLine => ({ end, payload: Buffer.from(text), device, time: m.time, status, vendor: status === 'records' ? 'mikrotik' : null, reason: null, records });
    if (k === 50) {
      const src = `2001:db8:${i % 7}::${(i % 97).toString(16)}`;
      out.push(line(`<134>${new Date(m.time).toISOString()} ${device} dslite: ${src}:${m.srcPort} -> ${m.natIp}:${m.natPort} to ${m.dstIp}:${m.dstPort}`, [rec({ src_ip: src, src_port: m.srcPort, nat_ip: m.natIp, nat_port: m.natPort, dst_ip: m.dstIp, dst_port: m.dstPort, time: m.time })]));
    } else if (k === 100) {
      const lo = (m.natPort >> 8) << 8;
      out.push(line(`<134>${new Date(m.time).toISOString()} ${device} block alloc ${m.srcIp} -> ${m.natIp}:${lo}-${lo + 255}`, [rec({ event: 'block_alloc', proto: null, src_ip: m.srcIp, nat_ip: m.natIp, nat_port_start: lo, nat_port_end: lo + 255, time: m.time })]));
    } else if (k === 150) {
      const r1 = rec({ src_ip: m.srcIp, src_port: m.srcPort, nat_ip: m.natIp, nat_port: m.natPort, dst_ip: m.dstIp, dst_port: m.dstPort, time: m.time });
      out.push(line(`${mikrotikLine(m, 'bng9')} ; ${mikrotikLine(m, 'bng9')}`, [r1, { ...r1, nat_port: m.natPort + 1 }]));
    } else if (k === 199) out.push(line(`<134>${new Date(m.time).toISOString()} ${device} something else ${i}`, [], 'unparsed'));
    else out.push(line(mikrotikLine(m, `bng${i % 4}`), [rec({ proto: m.proto.toLowerCase(), src_ip: m.srcIp, src_port: m.srcPort, nat_ip: m.natIp, nat_port: m.natPort, dst_ip: m.dstIp, dst_port: m.dstPort, time: m.time, login: m.user ?? null })]));
  }
  return out;
}

/** What a day file keeps of the original lines: the blocks, the shapes and the keyed words, and the records. */
function contents(f: DayFile): string[] {
  return ['SELECT id, n, data FROM raw ORDER BY id', 'SELECT id, data FROM shape ORDER BY id', 'SELECT * FROM kword ORDER BY src_ip, shape, idx', 'SELECT nat_ip, hour, lvl, n, data FROM rec ORDER BY id', 'SELECT * FROM meta ORDER BY key'].map((q) =>
    JSON.stringify(f.db.prepare(q).raw().all(), (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v)),
  );
}

describe('line codec thread', () => {
  let dir = '';
  let lt: LineThread | null = null;
  afterEach(async () => {
    await lt?.close();
    lt = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes the bytes the day file writes encoding its lines itself', () => {
    dir = tempDir('line-thread');
    lt = new LineThread();
    const inline = new DayFile(join(dir, 'a.db'), DAY, OPTS);
    const threaded = new DayFile(join(dir, 'b.db'), DAY, { ...OPTS, lineThread: lt });
    // Batches across block boundaries (1,024 lines a block), one of more blocks than a commit has in
    // the thread at once (8), and a reopened file in the middle.
    let at = 0;
    let b = threaded;
    const all: string[] = [];
    for (const n of [10, 1500, 3000, 700, 10_000, 2048]) {
      const batch = lines(at, n);
      all.push(...batch.map((l) => l.payload.toString()));
      at += n;
      inline.commit(batch, at);
      b.commit(batch, at);
      if (n === 3000) {
        b.close();
        b = new DayFile(join(dir, 'b.db'), DAY, { ...OPTS, lineThread: lt });
      }
    }
    expect(contents(b)).toEqual(contents(inline));
    // …and every original line reads back, byte for byte.
    expect([...b.allRawLines()].map((x) => x.toString())).toEqual(all);
    expect(Number(b.db.prepare('SELECT count(*) FROM shape').pluck().get())).toBeGreaterThan(4);
    inline.close();
    b.close();
  });

  it('a block the thread fails on fails its commit, which leaves nothing and is written again', () => {
    dir = tempDir('line-thread');
    lt = new LineThread();
    const f = new DayFile(join(dir, 'c.db'), DAY, { ...OPTS, lineThread: lt });
    const first = lines(0, 1200);
    f.commit(first, 1200);
    const before = contents(f);
    // The thread forgets this file's writer: the next blocks are answered with an error.
    lt.drop(join(dir, 'c.db'));
    const batch = lines(1200, 2500);
    expect(() => f.commit(batch, 3700)).toThrow(/no writer open/);
    expect(contents(f)).toEqual(before);
    expect(f.committedPos).toBe(1200);
    // The day file opens its writer again from what the file holds, and the batch goes in whole.
    expect(f.commit(batch, 3700).records).toBeGreaterThan(2400);
    expect([...f.allRawLines()].map((x) => x.toString())).toEqual([...first, ...batch].map((l) => l.payload.toString()));
    f.close();
  });

  it('once the thread has died, the day file encodes its lines itself', async () => {
    dir = tempDir('line-thread');
    lt = new LineThread();
    const inline = new DayFile(join(dir, 'a.db'), DAY, OPTS);
    const f = new DayFile(join(dir, 'd.db'), DAY, { ...OPTS, lineThread: lt });
    const first = lines(0, 1500);
    const second = lines(1500, 1500);
    inline.commit(first, 1500);
    f.commit(first, 1500);
    await lt.close();
    await new Promise((r) => setImmediate(r)); // its exit event
    expect(lt.alive).toBe(false);
    inline.commit(second, 3000);
    f.commit(second, 3000);
    expect(contents(f)).toEqual(contents(inline));
    inline.close();
    f.close();
  });
});
