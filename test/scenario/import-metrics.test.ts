// `megalog import` (plain and gzip), the /metrics and /health contracts, and the kernel's UDP drop counter.
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { readProcUdpDrops } from '../../src/sources/udp.js';
import { BIN, dayCounters, sendUdp, startDaemon, stopDaemon, tempDir, testEnv, waitFor, type Daemon } from '../helpers/daemon.js';
import { mappings, mikrotikLine } from '../helpers/gen.js';

let d: Daemon | null = null;
afterEach(async () => {
  if (d) await stopDaemon(d, 'SIGKILL');
  d = null;
});

describe('megalog import', () => {
  it('loads plain and gzip files through the commit path, anchoring year-less lines on the file time', () => {
    const dir = tempDir();
    const start = Date.UTC(2025, 11, 31, 23, 59, 0); // 31 Dec 2025, a year before "now"
    const lines = [...mappings(3000, { start, stepMs: 30, seed: 9 })].map((m) => mikrotikLine(m));
    const plain = join(dir, 'a.log');
    const gz = join(dir, 'b.log.gz');
    writeFileSync(plain, lines.slice(0, 1500).join('\n') + '\nnot a nat line\n');
    writeFileSync(gz, gzipSync(lines.slice(1500).join('\r\n')));
    // files written just after the last line: year inference must give 2025/2026, not this year
    const mtime = new Date(start + 3000 * 30 + 60_000);
    utimesSync(plain, mtime, mtime);
    utimesSync(gz, mtime, mtime);
    const out = execFileSync(process.execPath, [BIN, 'import', plain, gz], { env: testEnv(dir), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
    const stats = JSON.parse(execFileSync(process.execPath, [BIN, 'stats', '--json'], { env: testEnv(dir), encoding: 'utf8' }));
    expect(stats.records_total).toBe(3000);
    expect(stats.unparsed_total).toBe(1);
    expect(stats.days.map((x: { day: string }) => x.day)).toEqual(['2025-12-31', '2026-01-01']);
    expect(dayCounters(join(dir, 'cold', '2025-12-31.db')).records + dayCounters(join(dir, 'cold', '2026-01-01.db')).records).toBe(3000);
  });

  it('refuses a missing file with a clear message and no stack trace', () => {
    const dir = tempDir();
    try {
      execFileSync(process.execPath, [BIN, 'import', join(dir, 'nope.log')], { env: testEnv(dir), stdio: 'pipe' });
      expect.unreachable();
    } catch (err) {
      const e = err as { status: number; stderr: Buffer };
      expect(e.status).toBe(66);
      expect(String(e.stderr)).toMatch(/nope\.log: ENOENT/);
      expect(String(e.stderr)).not.toMatch(/at .*\.js:\d+/);
    }
  });
});

describe('/metrics and /health', () => {
  it('export the contract metrics and health checks', async () => {
    const dir = tempDir();
    d = await startDaemon(dir, {}, 'run');
    const srcnat = '<134>Nov 25 10:00:00 bng1 firewall,info srcnat: in:<pppoe-a> out:ether1, proto UDP, 100.64.0.1:5000->1.1.1.1:53, len 60';
    await sendUdp(d.udpPort, [mikrotikLine({ time: Date.now(), srcIp: '100.64.0.1', srcPort: 1, natIp: '203.0.113.1', natPort: 2, dstIp: '1.1.1.1', dstPort: 53, proto: 'UDP' }), 'junk', srcnat]);
    let m = '';
    await waitFor('commit visible in metrics', async () => {
      m = await (await fetch(`http://127.0.0.1:${d!.webPort}/metrics`)).text();
      return m.includes('megalog_records_committed_total 1');
    });
    for (const name of [
      'megalog_messages_received_total{transport="udp"} 3',
      'megalog_lines_ignored_total{reason="no_translation"} 1',
      'megalog_lines_ignored_total{reason="deny"} 0',
      'megalog_lines_unparsed_total 1',
      'megalog_messages_dropped_total{reason="spool_full"} 0',
      'megalog_spool_backlog_bytes 0',
      'megalog_commit_duration_seconds_count 1',
      'megalog_commit_duration_seconds_bucket{le="+Inf"} 1',
      '# TYPE megalog_udp_kernel_drops_total counter',
      'megalog_udp_kernel_drops_total 0',
      '# TYPE megalog_dropped_bytes_total counter',
      'megalog_dropped_bytes_total{reason="framing_error"} 0',
      'megalog_dropped_bytes_total{reason="spool_torn"} 0',
      'megalog_device_messages_total{device="unconfigured"} 3',
    ]) expect(m).toContain(name);
    // One unit per metric: bytes never under the messages counter, and the kernel's counter is a counter.
    expect(m).not.toMatch(/megalog_messages_dropped_total\{reason="(framing_error|oversize_tail|spool_corrupt|spool_torn)"\}/);
    expect(m).not.toMatch(/^megalog_udp_kernel_drops /m);
    const h = await fetch(`http://127.0.0.1:${d.webPort}/health`);
    expect(h.status).toBe(200);
    const body = (await h.json()) as { status: string; version: string; checks: Record<string, boolean> };
    expect(body).toMatchObject({ status: 'healthy', checks: { users_db: true, logs_db: true, buffer: true } });
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('UDP kernel drops', () => {
  it('reads the kernel drop counter of a real socket from /proc/net/udp', async () => {
    const sock = createSocket({ type: 'udp4', recvBufferSize: 4096 });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const port = sock.address().port;
    expect(readProcUdpDrops('/proc/net/udp', port)).toBe(0);
    // Block this thread so nothing reads the socket while another process floods it.
    const sender = spawn(process.execPath, ['-e', `const s=require('dgram').createSocket('udp4');let i=0;const b=Buffer.alloc(1000,65);(function f(){if(i++>=3000)return s.close();s.send(b,${port},'127.0.0.1',f)})()`]);
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      /* busy: the socket's small buffer overflows */
    }
    await new Promise((r) => sender.on('exit', r));
    expect(readProcUdpDrops('/proc/net/udp', port)).toBeGreaterThan(0);
    sock.close();
  });
});
