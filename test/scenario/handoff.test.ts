// The receiver hands what it spooled to the committer in memory, parsed (spool/handoff.ts): live
// traffic is committed without reading the spool back; a SIGKILL with batches between the threads
// loses nothing and doubles nothing (the restart reads them from the spool); past handoff_max_bytes
// the spool takes the backlog; and a line read back gives the same records as one handed over.
import { appendFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DayFile } from '../../src/store/sqlite/dayfile.js';
import { afterEach, describe, expect, it } from 'vitest';
import { committedRaw, metricValue, metricsOf, sendTcp, sendUdp, startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';
import { mappings, mikrotikLine } from '../helpers/gen.js';

let d: Daemon | null = null;
afterEach(async () => {
  if (d) await stopDaemon(d, 'SIGKILL');
  d = null;
});

const lines = (n: number, seed: number, tag: string) =>
  [...mappings(n, { start: Date.now() - 600_000, stepMs: 5, seed })].map((m, i) => mikrotikLine({ ...m, tag: `${tag}-${i}` }));

const metric = async (name: string, labels = '') => metricValue(await metricsOf(d!.webPort!), name, labels);

/** How many times each tag was committed, over every day file. */
function tagCounts(dir: string): Map<string, number> {
  const count = new Map<string, number>();
  for (const raws of committedRaw(join(dir, 'cold')).values()) {
    for (const r of raws) {
      const tag = / ([a-z]+-\d+) forward/.exec(r)?.[1];
      if (tag) count.set(tag, (count.get(tag) ?? 0) + 1);
    }
  }
  return count;
}

/** Every record of every day file, as text, sorted (what a search can find). */
function natRows(dir: string): string[] {
  const out: string[] = [];
  const cold = join(dir, 'cold');
  for (const n of readdirSync(cold).filter((f) => /^\d{4}-\d{2}-\d{2}\.db$/.test(f))) {
    const f = new DayFile(join(cold, n), n.slice(0, 10), { journalMode: '', synchronous: '', cacheSizeMiB: 8, maxPageCount: 0, readonly: true });
    try {
      for (const r of f.allRows()) out.push(JSON.stringify([r.nat_ip, r.nat_port, r.t, r.src_ip, r.src_port, r.dst_ip, r.dst_port, r.code, r.port_end]));
    } finally {
      f.close();
    }
  }
  return out.sort();
}

describe('handoff between the receiver and the committer', () => {
  it('commits live UDP, TCP and tailed lines without reading the spool back', async () => {
    const dir = tempDir('megalog-handoff-');
    const tail = join(dir, 'hot_logs.raw');
    writeFileSync(tail, '');
    d = await startDaemon(dir, { MEGALOG_TAIL_FILE: tail, MEGALOG_TAIL_POLL_MS: '20' }, 'run');
    const udp = lines(3000, 1, 'udp');
    const tcp = lines(3000, 2, 'tcp');
    const tailed = lines(3000, 3, 'tail');
    await sendUdp(d.udpPort, udp);
    await sendTcp(d.tcpPort, tcp.map((l) => `${Buffer.byteLength(l)} ${l}`).join(''));
    appendFileSync(tail, `${tailed.join('\n')}\n`);
    const total = udp.length + tcp.length + tailed.length;
    await waitFor('every line committed', async () => (await metric('megalog_lines_committed_total')) >= (await metric('megalog_messages_received_total', 'transport="udp"')) + tcp.length + tailed.length, 30_000);
    const committed = await metric('megalog_lines_committed_total');
    expect(committed).toBeGreaterThan(total * 0.9); // UDP on loopback may lose a few to the kernel
    expect(await metric('megalog_records_committed_total')).toBe(committed);
    expect(await metric('megalog_spool_reread_bytes_total')).toBe(0);
    expect(await metric('megalog_handoff_overflow_bytes_total')).toBe(0);
    expect(await metric('megalog_handoff_queued_bytes')).toBe(0);
    // Each stage's CPU time is published by thread (the receiver spooled and parsed, the committer
    // committed, the line codec thread encoded the original lines; the addon's UDP reader may round to
    // 0 for a few thousand datagrams). Published once a second: the line thread starts with the first
    // commit, so its figure may come a publication later.
    for (const t of ['main', 'receiver', 'committer']) expect(await metric('megalog_thread_cpu_seconds_total', `thread="${t}"`), t).toBeGreaterThan(0);
    await waitFor('the line codec thread CPU published', async () => (await metric('megalog_thread_cpu_seconds_total', 'thread="lines"')) > 0, 5000);
    // Parsed in the receiver unless it is behind. The bursts above may go over unparsed on a loaded
    // machine (lines waiting over 200 ms), so a trickle follows: 100 lines 10 ms apart never wait,
    // and they are parsed there.
    const trickle = lines(100, 4, 'trickle');
    const before = await metric('megalog_handoff_unparsed_bytes_total');
    const receivedBefore = await metric('megalog_received_bytes_total');
    for (const l of trickle) {
      await sendUdp(d.udpPort, [l]);
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor('the trickle committed', async () => (await metric('megalog_messages_received_total', 'transport="udp"')) + tcp.length + tailed.length <= (await metric('megalog_lines_committed_total')) && (await metric('megalog_received_bytes_total')) > receivedBefore, 30_000);
    expect(await metric('megalog_handoff_unparsed_bytes_total') - before).toBeLessThan((await metric('megalog_received_bytes_total')) - receivedBefore);
    await stopDaemon(d);
    d = null;
    const count = tagCounts(dir);
    expect([...count.values()].every((n) => n === 1)).toBe(true);
    for (const t of [...tcp.keys()].map((i) => `tcp-${i}`)) expect(count.get(t), t).toBe(1);
    for (const t of [...tailed.keys()].map((i) => `tail-${i}`)) expect(count.get(t), t).toBe(1);
  }, 60_000);

  it('commits every line once when killed with a batch between the threads, reading the backlog from the spool', async () => {
    const dir = tempDir('megalog-handoff-kill-');
    const tail = join(dir, 'hot_logs.raw');
    writeFileSync(tail, '');
    const env = { MEGALOG_TAIL_FILE: tail, MEGALOG_TAIL_POLL_MS: '20', MEGALOG_SPOOL_FSYNC: 'never' };
    const all = lines(6000, 4, 'tail');
    // A committer that waits for 100,000 lines or 60 s holds every handoff it is sent: SIGKILL it.
    d = await startDaemon(dir, { ...env, MEGALOG_BATCH_SIZE: '100000', MEGALOG_BATCH_TIMEOUT_SEC: '60' }, 'run');
    appendFileSync(tail, `${all.slice(0, 2000).join('\n')}\n`);
    await waitFor('received', async () => (await metric('megalog_messages_received_total', 'transport="tail"')) === 2000);
    await waitFor('handed over', async () => (await metric('megalog_handoff_queued_bytes')) === 0);
    expect(await metric('megalog_lines_committed_total')).toBe(0);
    d.proc.kill('SIGKILL');
    await d.exited;
    // Die deterministically right after the 3rd handoff is posted, with it in the channel.
    d = await startDaemon(dir, { ...env, MEGALOG_FAULT: 'handoff:3' }, 'processor');
    let appended = 2000;
    while (appended < all.length && d.proc.exitCode === null && d.proc.signalCode === null) {
      appendFileSync(tail, `${all.slice(appended, appended + 100).join('\n')}\n`);
      appended += 100;
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(await Promise.race([d.exited, new Promise((r) => setTimeout(() => r('alive'), 10_000))])).not.toBe('alive');
    expect(appended).toBeLessThan(all.length); // it died on the way
    d = await startDaemon(dir, env, 'run');
    // Everything appended is committed: what was spooled from the spool, the rest from the file.
    await waitFor('every appended line committed', () => tagCounts(dir).size >= appended, 60_000);
    expect(await metric('megalog_spool_reread_bytes_total')).toBeGreaterThan(0);
    await stopDaemon(d);
    d = null;
    const count = tagCounts(dir);
    const dups = [...count].filter(([, n]) => n > 1);
    expect(dups).toEqual([]);
    const missing = all.slice(0, appended).map((_, i) => `tail-${i}`).filter((t) => !count.has(t));
    expect(missing).toEqual([]);
  }, 120_000);

  it('reads from the spool what overflows handoff_max_bytes, and files the same records either way', async () => {
    const input = lines(5000, 5, 'tcp');
    const payload = input.map((l) => `${Buffer.byteLength(l)} ${l}`).join('');
    const rows: string[][] = [];
    for (const max of ['67108864', '0']) {
      const dir = tempDir('megalog-handoff-overflow-');
      d = await startDaemon(dir, { MEGALOG_HANDOFF_MAX_BYTES: max }, 'run');
      await sendTcp(d.tcpPort, payload);
      await waitFor('committed', async () => (await metric('megalog_lines_committed_total')) === input.length, 30_000);
      const reread = await metric('megalog_spool_reread_bytes_total');
      const overflow = await metric('megalog_handoff_overflow_bytes_total');
      if (max === '0') {
        expect(overflow).toBeGreaterThan(0);
        expect(reread).toBe(overflow); // everything the receiver kept back, and nothing else
      } else {
        expect(overflow).toBe(0);
        expect(reread).toBe(0);
      }
      expect(await metric('megalog_records_committed_total')).toBe(input.length);
      await stopDaemon(d);
      d = null;
      expect([...tagCounts(dir).values()].filter((n) => n !== 1)).toEqual([]);
      rows.push(natRows(dir));
    }
    expect(rows[0]!.length).toBe(input.length);
    expect(rows[1]).toEqual(rows[0]);
  }, 90_000);
});
