// Cold disk full: receiving goes on into the spool, /health says degraded, and once space returns
// everything spooled is committed. Uses a real small filesystem (tmpfs) when we may mount one, else
// SQLite's max_page_count with a restart to "return" the space.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dayCounters, metricsOf, metricValue, sendTcp, sendUdp, startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';
import { mappings, mikrotikLine } from '../helpers/gen.js';

function tryMount(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'megalog-test', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let d: Daemon | null = null;
let mounted: string | null = null;
afterEach(async () => {
  if (d) await stopDaemon(d, 'SIGKILL');
  d = null;
  if (mounted) execFileSync('umount', ['-l', mounted], { stdio: 'ignore' });
  mounted = null;
});

async function health(port: number): Promise<{ status: string; checks: Record<string, boolean> }> {
  const r = await fetch(`http://127.0.0.1:${port}/health`);
  return r.json() as Promise<{ status: string; checks: Record<string, boolean> }>;
}

describe('cold disk full', () => {
  it('keeps receiving into the spool, reports degraded, and commits everything when space returns', async () => {
    const dir = tempDir();
    const cold = join(dir, 'cold');
    mkdirSync(cold);
    const real = tryMount(cold, '256k'); // 30,000 lines take ~0.7 MB in day files
    if (real) mounted = cold;
    const env: Record<string, string> = { MEGALOG_COLD_STORAGE_DIR: cold, MEGALOG_BATCH_SIZE: '2000', MEGALOG_COLD_MIN_FREE_BYTES: '0' };
    if (!real) env.MEGALOG_DB_MAX_PAGE_COUNT = '48';
    d = await startDaemon(dir, env, 'run');
    const start = Date.now() - 3600_000;
    const lines = [...mappings(40_000, { start, stepMs: 10, seed: 3 })].map((m) => mikrotikLine(m));
    const day = new Date(start).toISOString().slice(0, 10);
    await sendTcp(d.tcpPort, lines.slice(0, 30_000).join('\n') + '\n');
    let h: Awaited<ReturnType<typeof health>> | null = null;
    for (let i = 0; i < 200; i++) {
      h = await health(d.webPort!);
      if (h.status === 'degraded') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(h!.status).toBe('degraded');
    expect(h!.checks.logs_db).toBe(false);
    // still receiving: more lines are spooled while the store is full
    await sendTcp(d.tcpPort, lines.slice(30_000).join('\n') + '\n');
    const metrics = async () => (await fetch(`http://127.0.0.1:${d!.webPort}/metrics`)).text();
    for (let i = 0; i < 100; i++) {
      if ((await metrics()).includes('megalog_messages_received_total{transport="tcp"} 40000')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const m = await metrics();
    expect(m).toContain('megalog_messages_received_total{transport="tcp"} 40000');
    expect(m).toMatch(/megalog_cold_storage_full 1/);
    expect(m).toMatch(/megalog_spool_backlog_bytes [1-9]/);

    // space returns
    if (real) {
      execFileSync('mount', ['-o', 'remount,size=256m', cold]);
    } else {
      await stopDaemon(d);
      delete env.MEGALOG_DB_MAX_PAGE_COUNT;
      d = await startDaemon(dir, env, 'run');
    }
    await waitFor('everything committed', () => dayCounters(join(cold, `${day}.db`)).records === 40_000, 60_000);
    for (let i = 0; i < 100; i++) {
      if ((await health(d.webPort!)).status === 'healthy') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await health(d.webPort!)).status).toBe('healthy');
    expect(dayCounters(join(cold, `${day}.db`)).nat_rows).toBe(40_000);
  }, 120_000);

  it('past spool_max_bytes of backlog, refuses UDP datagrams and counts each (the native reader\'s batches too)', async () => {
    const dir = tempDir();
    // The store refuses every write (a day file may not grow past 8 pages: its tables alone take more),
    // so the backlog only grows; 64 KiB of it pauses intake.
    d = await startDaemon(dir, { MEGALOG_DB_MAX_PAGE_COUNT: '8', MEGALOG_SPOOL_MAX_BYTES: '65536', MEGALOG_BATCH_SIZE: '100' }, 'run');
    const lines = [...mappings(3000, { start: Date.now() - 3600_000, stepMs: 10, seed: 4 })].map((m) => mikrotikLine(m));
    void sendTcp(d.tcpPort, lines.join('\n') + '\n').catch(() => {}); // TCP pauses: the sender may never finish
    const metric = async (name: string, labels = '') => metricValue(await metricsOf(d!.webPort!), name, labels);
    await waitFor('the backlog past spool_max_bytes', async () => (await metric('megalog_spool_backlog_bytes')) > 65536, 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // the receiver's next check pauses intake
    await sendUdp(d.udpPort, lines.slice(0, 500));
    await waitFor('500 datagrams refused', async () => (await metric('megalog_messages_dropped_total', 'reason="spool_full"')) === 500, 10_000);
    expect(await metric('megalog_messages_received_total', 'transport="udp"')).toBe(0);
  }, 60_000);
});
