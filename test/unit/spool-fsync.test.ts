// The spool's periodic fsync runs in the thread pool (spool/writer.ts syncAsync): the receiver's thread
// goes on reading sockets meanwhile, a caller learns when the bytes are on disk, and a rotated
// segment is fsynced and then closed, never left open.
import { mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpoolReader } from '../../src/spool/reader.js';
import { SpoolWriter } from '../../src/spool/writer.js';
import { readTailState, TailSource } from '../../src/sources/tail.js';
import type { Sink } from '../../src/sources/sink.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'megalog-fsync-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Spool segments this process holds open. */
function openSegments(spool: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(spool + '/')) out.push(target);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

const line = (i: number) => Buffer.from(`<134>May 10 12:00:00 bng line ${i} ${'x'.repeat(200)}`);

describe('spool fsync', () => {
  it('fsyncs in the thread pool: syncAsync returns at once and calls back once the bytes are on disk', async () => {
    const spool = join(dir, 'spool');
    const w = new SpoolWriter({ dir: spool, segmentBytes: 1 << 20, fsync: 'interval', floor: 0 });
    for (let i = 0; i < 100; i++) w.append(1, 'tcp', '192.0.2.1', line(i));
    w.flush();
    let called = false;
    const done = new Promise<Error | null>((resolve) => w.syncAsync((err) => ((called = true), resolve(err))));
    expect(called).toBe(false); // a blocking fsync would have run before this line
    expect(await done).toBeNull();
    // nothing written since: the next call answers at once
    let again: Error | null | undefined;
    w.syncAsync((err) => (again = err));
    expect(again).toBeNull();
    w.close();
  });

  it('closes each rotated segment after its fsync, keeps every record, and sync() covers a pass in flight', async () => {
    const spool = join(dir, 'spool');
    const w = new SpoolWriter({ dir: spool, segmentBytes: 8192, fsync: 'interval', floor: 0 });
    let n = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 10; i++) w.append(1, 'tcp', '192.0.2.1', line(n++));
      w.flush(); // a new segment every third flush
      if (round === 10) w.sync(); // blocking, beside whatever pass is in flight
    }
    expect(readdirSync(spool).length).toBeGreaterThan(4);
    await new Promise<Error | null>((resolve) => w.syncAsync(resolve));
    // one pass after the last rotation: only the current segment is open
    expect(openSegments(spool)).toHaveLength(1);
    w.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(openSegments(spool)).toHaveLength(0);
    const r = new SpoolReader(spool);
    const got = r.read(0, Infinity, 1_000_000);
    expect(got.records.map((x) => x.payload.toString())).toEqual(Array.from({ length: n }, (_, i) => line(i).toString()));
  });

  it('never mode closes a rotated segment at once', () => {
    const spool = join(dir, 'spool');
    const w = new SpoolWriter({ dir: spool, segmentBytes: 8192, fsync: 'never', floor: 0 });
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 10; i++) w.append(1, 'tcp', '192.0.2.1', line(i));
      w.flush();
    }
    expect(openSegments(spool)).toHaveLength(1);
    w.close();
    expect(openSegments(spool)).toHaveLength(0);
  });

  it('never moves the tail\'s saved position back when fsyncs complete out of order', () => {
    // A position recorded at stop (persist) is newer than one marked before an fsync whose callback
    // comes later: that callback must not write the older one over it.
    const state = join(dir, 'tail.state');
    const t = new TailSource(join(dir, 'log.raw'), state, 1000, 65536, {} as Sink, null);
    t.persistAt({ pos: { ino: 7, offset: 900 }, moves: 9 });
    t.persistAt({ pos: { ino: 7, offset: 400 }, moves: 4 });
    expect(readTailState(state)).toEqual({ ino: 7, offset: 900 });
    // truncated in place (copytruncate): the same inode, a newer position with a smaller offset
    t.persistAt({ pos: { ino: 7, offset: 120 }, moves: 11 });
    expect(readTailState(state)).toEqual({ ino: 7, offset: 120 });
    t.persistAt({ pos: { ino: 8, offset: 10 }, moves: 12 }); // the file was rotated: a new inode starts over
    expect(readTailState(state)).toEqual({ ino: 8, offset: 10 });
  });

  it('saves the position after a truncation in place, smaller than the one saved before', async () => {
    const file = join(dir, 'log.raw');
    const state = join(dir, 'tail.state');
    writeFileSync(file, 'aaa\nbbb\nccc\n');
    const got: string[] = [];
    const sink = { paused: false, accept: (_t: string, _o: string, b: Buffer) => got.push(b.toString()) > 0 } as unknown as Sink;
    const t = new TailSource(file, state, 10, 65536, sink, null);
    await t.start();
    try {
      t.persistAt(t.mark()!);
      expect(readTailState(state)).toEqual({ ino: statSync(file).ino, offset: 12 });
      writeFileSync(file, 'dd\n'); // copytruncate: the same inode, emptied, then written
      for (let i = 0; i < 100 && got.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual(['aaa', 'bbb', 'ccc', 'dd']);
      t.persistAt(t.mark()!);
      expect(readTailState(state)).toEqual({ ino: statSync(file).ino, offset: 3 });
    } finally {
      await t.stop();
    }
  });
});
