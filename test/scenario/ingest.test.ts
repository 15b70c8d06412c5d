// Scenario tests of the ingest pipeline: the real daemon, real sockets, real day files.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DayReader } from '../../src/store/sqlite/read.js';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, committedRaw, dayCounters, sendTcp, sendUdp, startDaemon, stopDaemon, tempDir, testEnv, waitFor, type Daemon } from '../helpers/daemon.js';
import { mikrotikLine } from '../helpers/gen.js';

const DAY = 86_400_000;
let d: Daemon | null = null;
afterEach(async () => {
  if (d) await stopDaemon(d, 'SIGKILL');
  d = null;
});

function status(dir: string): Record<string, number> {
  try {
    return JSON.parse(readFileSync(join(dir, 'hot', 'status.json'), 'utf8')).stats;
  } catch {
    return {};
  }
}

function line(i: number, time: number, tag = `n${i}`): string {
  return mikrotikLine({ time, srcIp: `100.64.0.${i % 250}`, srcPort: 10000 + i, natIp: '203.0.113.7', natPort: 20000 + i, dstIp: '8.8.8.8', dstPort: 443, proto: 'TCP', tag });
}

describe('ingest pipeline', () => {
  it('commits lines from UDP, TCP (both framings) and the tailed file into the day file, each exactly once', async () => {
    const dir = tempDir();
    const tail = join(dir, 'hot_logs.raw');
    writeFileSync(tail, '');
    d = await startDaemon(dir, { MEGALOG_TAIL_FILE: tail, MEGALOG_TAIL_POLL_MS: '50' });
    const now = Date.now() - 5000;
    await sendUdp(d.udpPort, [line(1, now, 'udp1'), line(2, now, 'udp2') + '\n', `${line(3, now, 'udp3')}\0`]);
    const oc = [line(4, now, 'tcp4'), line(5, now, 'tcp5')].map((l) => `${Buffer.byteLength(l)} ${l}`).join('');
    await sendTcp(d.tcpPort, `${oc}${line(6, now, 'tcp6')}\n${line(7, now, 'tcp7')}\n`);
    appendFileSync(tail, `${line(8, now, 'tail8')}\n${line(9, now, 'tail9')}\n${line(10, now, 'partial')}`); // last one has no LF yet
    const day = new Date(now).toISOString().slice(0, 10);
    const path = join(dir, 'cold', `${day}.db`);
    await waitFor('9 records', () => dayCounters(path).records === 9);
    appendFileSync(tail, '\n');
    await waitFor('10 records', () => dayCounters(path).records === 10);
    const c = dayCounters(path);
    expect(c).toMatchObject({ records: 10, nat_rows: 10, unparsed: 0, lines: 10 });
    const raws = committedRaw(join(dir, 'cold')).get(day)!;
    for (const tag of ['udp1', 'udp2', 'udp3', 'tcp4', 'tcp5', 'tcp6', 'tcp7', 'tail8', 'tail9', 'partial']) {
      expect(raws.filter((r) => r.includes(` ${tag} forward`))).toHaveLength(1);
    }
    expect(raws.every((r) => !r.endsWith('\n') && !r.endsWith('\0'))).toBe(true);
    // the forensic index answers public ip + port + time
    const r = new DayReader(path, day);
    const row = r.portRowsIn(203 * 2 ** 24 + 113 * 256 + 7, 20006, r.start, r.start + 86_400_000)[0]!;
    r.close();
    expect({ src_ip: row.src_ip, src_port: row.src_port }).toEqual({ src_ip: 100 * 2 ** 24 + 64 * 2 ** 16 + 6, src_port: 10006 });
    // `megalog stats --json` contract
    await stopDaemon(d);
    const stats = JSON.parse(execFileSync(process.execPath, [BIN, 'stats', '--json'], { env: testEnv(dir) }).toString());
    expect(stats).toMatchObject({ records_total: 10, unparsed_total: 0, days: [{ day, records: 10, unparsed: 0 }] });
    expect(stats.days[0].bytes).toBeGreaterThan(0);
  });

  it('files records on both sides of midnight UTC in their own day files; yesterday\'s line received today goes under yesterday', async () => {
    const dir = tempDir();
    d = await startDaemon(dir);
    const midnight = Math.floor(Date.now() / DAY) * DAY;
    await sendUdp(d.udpPort, [line(1, midnight - 1000, 'before'), line(2, midnight + 1000 > Date.now() ? midnight : midnight + 1000, 'after'), 'garbage that nobody parses']);
    const yesterday = new Date(midnight - DAY).toISOString().slice(0, 10);
    const today = new Date(midnight).toISOString().slice(0, 10);
    await waitFor('both days', () => {
      const r = committedRaw(join(dir, 'cold'));
      return r.get(yesterday)?.length === 1 && r.get(today)?.length === 2;
    });
    const r = committedRaw(join(dir, 'cold'));
    expect(r.get(yesterday)![0]).toContain(' before forward');
    expect(r.get(today)!.some((l) => l.includes(' after forward'))).toBe(true);
    expect(dayCounters(join(dir, 'cold', `${yesterday}.db`)).records).toBe(1);
    expect(dayCounters(join(dir, 'cold', `${today}.db`))).toMatchObject({ records: 1, unparsed: 1 });
  });

  it('survives malformed input: random bytes, invalid UTF-8, 1 MB frames, lying octet counts, slow senders — counting each', async () => {
    const dir = tempDir();
    d = await startDaemon(dir, { MEGALOG_TCP_MAX_FRAME_BYTES: '8192' });
    const junk = Array.from({ length: 200 }, (_, i) => Buffer.concat([Buffer.from([0x41 + (i % 26)]), randomBytes(i * 4)]));
    await sendUdp(d.udpPort, [...junk, Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x3c, 0x31, 0x33, 0x3e]), Buffer.from('\0\r\n')]);
    const big = 'A'.repeat(1024 * 1024);
    await sendTcp(d.tcpPort, `${big.length} <13>${big}`); // 1 MB octet-counted frame
    await sendTcp(d.tcpPort, `<13>${big}\n`); // 1 MB LF frame
    await sendTcp(d.tcpPort, '999999999 <13>short but claims to be huge');
    await sendTcp(d.tcpPort, Buffer.concat(junk.slice(0, 50)));
    const slow = sendTcp(d.tcpPort, `${line(1, Date.now(), 'slow')}\n`, { chunk: 7, delayMs: 5 });
    await sendUdp(d.udpPort, [line(2, Date.now(), 'fine')]);
    await slow;
    const day = new Date().toISOString().slice(0, 10);
    await waitFor('the good lines committed', () => {
      const raws = committedRaw(join(dir, 'cold')).get(day) ?? [];
      return raws.some((r) => r.includes(' slow forward')) && raws.some((r) => r.includes(' fine forward'));
    });
    await waitFor('counters published', () => status(dir).frames_truncated >= 2 && status(dir).lines_unparsed > 150);
    const s = status(dir);
    expect(s.frames_truncated).toBeGreaterThanOrEqual(2);
    expect(s.dropped_bytes_oversize_tail).toBeGreaterThan(2 * (1024 * 1024 - 8192));
    expect(s.invalid_utf8).toBeGreaterThan(0);
    expect(s.lines_unparsed).toBeGreaterThan(150);
    expect(s.dropped_empty).toBe(1);
    // still serving
    await sendUdp(d.udpPort, [line(3, Date.now(), 'after')]);
    await waitFor('still serving', () => (committedRaw(join(dir, 'cold')).get(day) ?? []).some((r) => r.includes(' after forward')));
    expect(d.proc.exitCode).toBeNull();
  });

  it('refuses to start with a bad configuration, naming the key', async () => {
    const dir = tempDir();
    let msg = '';
    try {
      execFileSync(process.execPath, [BIN, 'processor'], { env: testEnv(dir, { MEGALOG_BATCH_SIZE: 'lots' }), stdio: 'pipe' });
    } catch (err) {
      msg = String((err as { stderr: Buffer }).stderr);
      expect((err as { status: number }).status).toBe(78);
    }
    expect(msg).toMatch(/batch_size: must be a whole number/);
  });
});
