// Exactly once across SIGKILL: numbered lines through the tailed file and over TCP while the daemon
// is killed at random moments (and deterministically inside a commit transaction, inside the merge
// of an hour's pieces, and with a block of lines in the line codec thread). Every line that reached the spool must be committed once, its original
// line and its record: no loss, no duplicate.
import { appendFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { committedRaw, startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';
import { DayFile } from '../../src/store/sqlite/dayfile.js';
import { mikrotikLine } from '../helpers/gen.js';

const line = (tag: string, i: number) =>
  mikrotikLine({ time: Date.now() - 60_000, srcIp: `100.64.${(i >> 8) & 255}.${i & 255}`, srcPort: 1024 + (i % 60000), natIp: '203.0.113.9', natPort: 1024 + (i % 60000), dstIp: '1.1.1.1', dstPort: 53, proto: 'UDP', tag });

function allRaw(dir: string): string[] {
  return [...committedRaw(join(dir, 'cold')).values()].flat();
}

describe('exactly once across crashes', () => {
  it('commits every spooled line once through 7 SIGKILLs, inside a commit, a merge and the line thread among them', async () => {
    const dir = tempDir();
    const tail = join(dir, 'hot_logs.raw');
    writeFileSync(tail, '');
    const env = { MEGALOG_TAIL_FILE: tail, MEGALOG_TAIL_POLL_MS: '20', MEGALOG_BATCH_SIZE: '50', MEGALOG_SPOOL_FSYNC: 'never', MEGALOG_SPOOL_SEGMENT_BYTES: '65536' };
    let tailN = 0;
    const sentTcp: number[][] = []; // per connection: the numbers sent, in order
    let tcpN = 0;
    let stopWriting = false;
    const writer = (async () => {
      while (!stopWriting) {
        const chunk: string[] = [];
        for (let k = 0; k < 40; k++) chunk.push(line(`tail-${tailN++}`, tailN));
        appendFileSync(tail, `${chunk.join('\n')}\n`);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    let d: Daemon | null = null;
    let sock: Socket | null = null;
    const openTcp = (port: number) => {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      const mine: number[] = [];
      sentTcp.push(mine);
      const pump = () => {
        if (s.destroyed || stopWriting) return;
        for (let k = 0; k < 20; k++) {
          const n = tcpN++;
          const l = line(`tcp-${n}`, n);
          if (!s.write(`${Buffer.byteLength(l)} ${l}`)) break;
          mine.push(n);
        }
        setTimeout(pump, 3);
      };
      s.on('connect', pump);
      return s;
    };
    try {
      const faults: Record<number, string> = { 2: 'commit:3', 4: 'pack:5', 6: 'lines:4' };
      for (let round = 0; round < 7; round++) {
        // round 2 dies deterministically inside its 3rd commit transaction, round 4 inside a merge of
        // pieces, round 6 with a block of lines handed to the line codec thread and not taken back
        d = await startDaemon(dir, faults[round] ? { ...env, MEGALOG_FAULT: faults[round] } : env);
        sock = openTcp(d.tcpPort);
        if (faults[round]) {
          expect(await Promise.race([d.exited, new Promise((r) => setTimeout(() => r('alive'), 15_000))])).not.toBe('alive');
        } else {
          await new Promise((r) => setTimeout(r, 300 + Math.random() * 900));
          d.proc.kill('SIGKILL');
          await d.exited;
        }
        sock.destroy();
      }
      stopWriting = true;
      await writer;
      d = await startDaemon(dir, env);
      const expectedTail = tailN;
      await waitFor(
        'all tail lines committed',
        () => allRaw(dir).filter((r) => r.includes(' tail-')).length >= expectedTail,
        60_000,
      );
      await stopDaemon(d); // graceful: commits what is pending
      d = null;

      const raws = allRaw(dir);
      const count = new Map<string, number>();
      for (const r of raws) {
        const tag = / (tail-\d+|tcp-\d+) forward/.exec(r)?.[1];
        expect(tag, `unexpected line ${r}`).toBeTruthy();
        count.set(tag!, (count.get(tag!) ?? 0) + 1);
      }
      const dups = [...count].filter(([, n]) => n > 1);
      expect(dups).toEqual([]);
      for (let i = 0; i < tailN; i++) expect(count.get(`tail-${i}`), `tail-${i}`).toBe(1);
      // TCP: what reached the spool from each connection is a prefix of what it sent — no hole.
      let tcpCommitted = 0;
      for (const sent of sentTcp) {
        const got = sent.map((n) => count.has(`tcp-${n}`));
        const firstMissing = got.indexOf(false);
        if (firstMissing >= 0) expect(got.slice(firstMissing).some(Boolean), `hole in connection starting at tcp-${sent[firstMissing]}`).toBe(false);
        tcpCommitted += got.filter(Boolean).length;
      }
      expect(tcpCommitted).toBeGreaterThan(100);
      expect(tailN).toBeGreaterThan(1000);
      // …and each line's record once in the packed records, as the counters say
      let records = 0;
      const ids = new Set<string>();
      const cold = join(dir, 'cold');
      for (const f of readdirSync(cold).filter((n) => /^\d{4}-\d{2}-\d{2}\.db$/.test(n))) {
        const day = new DayFile(join(cold, f), f.slice(0, 10), { journalMode: '', synchronous: '', cacheSizeMiB: 8, maxPageCount: 0, readonly: true });
        for (const row of day.allRows()) {
          ids.add(`${f}|${row.id}`);
          records++;
        }
        expect(day.counters().records).toBe([...day.allRows()].length);
        day.close();
      }
      expect(records).toBe(raws.length);
      expect(ids.size).toBe(records);
    } finally {
      stopWriting = true;
      sock?.destroy();
      if (d) await stopDaemon(d, 'SIGKILL');
    }
  }, 180_000);
});
