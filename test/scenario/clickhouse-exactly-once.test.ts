// Exactly once into ClickHouse: numbered lines through the tailed file while the processor is
// SIGKILLed during inserts and clickhouse-server itself is killed and restarted mid-stream. Every
// line must be in ClickHouse once (counted there): the spool position is committed with each batch
// in ClickHouse itself, and checked there after any failed insert (src/store/clickhouse/ch-store.ts).
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';
import { mikrotikLine } from '../helpers/gen.js';
import { ClickhouseServer, hasClickhouse, NO_CLICKHOUSE } from '../helpers/clickhouse.js';

const line = (tag: string, i: number) =>
  mikrotikLine({ time: Date.now() - 60_000, srcIp: `100.64.${(i >> 8) & 255}.${i & 255}`, srcPort: 1024 + (i % 60000), natIp: '203.0.113.9', natPort: 1024 + (i % 60000), dstIp: '1.1.1.1', dstPort: 53, proto: 'UDP', tag });

let ch: ClickhouseServer;
beforeAll(async () => {
  if (!hasClickhouse) return;
  ch = new ClickhouseServer();
  await ch.start();
}, 60_000);
afterAll(async () => {
  await ch?.destroy();
});

const count = async (): Promise<number> => {
  try {
    return Number((await ch.query("SELECT count() FROM megalog.rec WHERE kind = 0 AND position(raw, ' tail-') > 0")).trim());
  } catch {
    return -1;
  }
};

describe.skipIf(!hasClickhouse)('exactly once into ClickHouse' + NO_CLICKHOUSE, () => {
  it('stores every spooled line once through processor SIGKILLs during inserts (one just after an insert landed) and clickhouse-server restarts', async () => {
    const dir = tempDir();
    const tail = join(dir, 'hot_logs.raw');
    writeFileSync(tail, '');
    const env = {
      MEGALOG_STORAGE: 'clickhouse',
      MEGALOG_CLICKHOUSE_URL: ch.url,
      MEGALOG_TAIL_FILE: tail,
      MEGALOG_TAIL_POLL_MS: '20',
      MEGALOG_BATCH_SIZE: '100',
      MEGALOG_SPOOL_FSYNC: 'never',
      MEGALOG_SPOOL_SEGMENT_BYTES: '65536',
    };
    let tailN = 0;
    let stopWriting = false;
    const writer = (async () => {
      while (!stopWriting) {
        const chunk: string[] = [];
        for (let k = 0; k < 20; k++) chunk.push(line(`tail-${tailN++}`, tailN));
        appendFileSync(tail, `${chunk.join('\n')}\n`);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    let d: Daemon | null = null;
    try {
      for (let round = 0; round < 6; round++) {
        if (round === 1) {
          // dies right after its 5th insert landed, before it took the answer: the replay must find it in ClickHouse
          d = await startDaemon(dir, { ...env, MEGALOG_FAULT: 'insert:5' });
          expect(await Promise.race([d.exited, new Promise((r) => setTimeout(() => r('alive'), 20_000))])).not.toBe('alive');
          continue;
        }
        d = await startDaemon(dir, env);
        await waitFor('inserts going on', async () => (await count()) > round * 100, 20_000);
        if (round === 2 || round === 4) {
          // clickhouse-server dies mid-stream (SIGKILL, then SIGTERM): the processor keeps spooling and retries
          if (round === 2) await ch.kill();
          else await ch.stop();
          await new Promise((r) => setTimeout(r, 1500));
          await ch.start();
          const before = await count();
          await waitFor('inserts again after the restart', async () => (await count()) > before, 30_000);
        }
        await new Promise((r) => setTimeout(r, 200 + Math.random() * 800));
        d.proc.kill('SIGKILL');
        await d.exited;
      }
      stopWriting = true;
      await writer;
      d = await startDaemon(dir, env);
      await waitFor('every tail line in ClickHouse', async () => (await count()) >= tailN, 60_000);
      await stopDaemon(d);
      d = null;
      const [total, distinct] = (await ch.query("SELECT count(), uniqExact(raw) FROM megalog.rec WHERE kind = 0 FORMAT TSV")).trim().split('\t').map(Number);
      expect(tailN).toBeGreaterThan(1000);
      expect(distinct).toBe(tailN);
      expect(total).toBe(tailN); // no duplicate
      const tags = (await ch.query("SELECT extract(raw, ' (tail-[0-9]+) ') AS tag FROM megalog.rec WHERE kind = 0 FORMAT TSV")).trim().split('\n');
      const seen = new Set(tags);
      for (let i = 0; i < tailN; i++) expect(seen.has(`tail-${i}`), `tail-${i}`).toBe(true);
    } finally {
      stopWriting = true;
      if (d) await stopDaemon(d, 'SIGKILL');
    }
  }, 240_000);
});
