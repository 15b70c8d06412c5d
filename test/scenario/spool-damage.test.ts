// A damaged spool at start-up: a corrupt record inside a segment and a torn tail. The damage is counted
// and reported, every other record is committed, and the daemon keeps running (no crash loop).
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dayCounters, sendTcp, startDaemon, stopDaemon, tempDir, waitFor } from '../helpers/daemon.js';
import { mappings, mikrotikLine } from '../helpers/gen.js';

describe('damaged spool', () => {
  it('counts a corrupt record and a torn tail, commits the rest, keeps serving', async () => {
    const dir = tempDir();
    const start = Date.now() - 600_000;
    const lines = [...mappings(200, { start, stepMs: 100, seed: 5 })].map((m) => mikrotikLine(m));
    // 1) spool 200 lines without committing them (huge batch), then crash
    let d = await startDaemon(dir, { MEGALOG_BATCH_SIZE: '100000', MEGALOG_BATCH_MAX_LINES: '100000', MEGALOG_BATCH_TIMEOUT_SEC: '3600' });
    await sendTcp(d.tcpPort, lines.join('\n') + '\n');
    const spool = join(dir, 'hot', 'spool');
    await waitFor('all spooled', () => JSON.parse(readFileSync(join(dir, 'hot', 'status.json'), 'utf8')).stats.received_tcp === 200);
    d.proc.kill('SIGKILL');
    await d.exited;
    // 2) damage: flip a byte inside the 100th record, append half a record
    const seg = join(spool, readdirSync(spool).filter((n) => n.endsWith('.seg')).sort()[0]!);
    const buf = readFileSync(seg);
    const at = Math.floor(buf.length / 2);
    buf[at] ^= 0x55;
    writeFileSync(seg, buf);
    appendFileSync(seg, Buffer.from([200, 0, 0, 0, 9, 9, 9, 9, 1, 2, 3]));
    // 3) restart: recovery cuts the tail, the committer skips the corrupt record
    d = await startDaemon(dir);
    try {
      const day = new Date(start).toISOString().slice(0, 10);
      await waitFor('the rest committed', () => dayCounters(join(dir, 'cold', `${day}.db`)).lines === 199);
      await waitFor('damage reported', () => {
        const s = JSON.parse(readFileSync(join(dir, 'hot', 'status.json'), 'utf8')).stats;
        return s.dropped_bytes_spool_torn === 11 && s.dropped_bytes_spool_corrupt > 0 && s;
      });
      expect(d.stderr()).toMatch(/torn tail of 11 bytes/);
      expect(d.stderr()).toMatch(/skipped \d+ corrupt bytes in 1 region/);
      await sendTcp(d.tcpPort, lines[0]!.replace(' nat forward', ' again forward') + '\n');
      await waitFor('still serving', () => dayCounters(join(dir, 'cold', `${day}.db`)).lines === 200);
      expect(d.proc.exitCode).toBeNull();
    } finally {
      await stopDaemon(d, 'SIGKILL');
    }
  });
});
