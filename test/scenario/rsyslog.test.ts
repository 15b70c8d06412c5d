// A real peer: Debian's rsyslog receives our lines and forwards them to MegaLog over UDP, over TCP
// with octet counting, and by writing hot_logs.raw that MegaLog tails (the original deployment).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { committedRaw, sendTcp, startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';
import { mikrotikLine } from '../helpers/gen.js';

const RSYSLOGD = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find((p) => existsSync(p));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

let d: Daemon | null = null;
let rs: ChildProcess | null = null;
afterEach(async () => {
  rs?.kill('SIGTERM');
  rs = null;
  if (d) await stopDaemon(d, 'SIGKILL');
  d = null;
});

describe('rsyslog as the sending peer', () => {
  it.skipIf(!RSYSLOGD)('every line rsyslog forwards over UDP, TCP and hot_logs.raw is committed', async () => {
    const dir = tempDir();
    const raw = join(dir, 'hot_logs.raw');
    writeFileSync(raw, '');
    d = await startDaemon(dir, { MEGALOG_TAIL_FILE: raw, MEGALOG_TAIL_POLL_MS: '50' });
    const inPort = await freePort();
    const work = join(dir, 'rsyslog');
    mkdirSync(work);
    const conf = join(work, 'rsyslog.conf');
    writeFileSync(
      conf,
      `global(workDirectory="${work}")
module(load="imtcp")
template(name="raw" type="string" string="%rawmsg%\\n")
template(name="fwd" type="string" string="%rawmsg%")
ruleset(name="megalog") {
  action(type="omfwd" target="127.0.0.1" port="${d.udpPort}" protocol="udp" template="fwd")
  action(type="omfwd" target="127.0.0.1" port="${d.tcpPort}" protocol="tcp" tcp_framing="octet-counted" template="fwd")
  action(type="omfile" file="${raw}" template="raw")
}
input(type="imtcp" port="${inPort}" address="127.0.0.1" ruleset="megalog")
`,
    );
    rs = spawn(RSYSLOGD!, ['-n', '-f', conf, '-i', join(work, 'rsyslogd.pid')], { stdio: ['ignore', 'inherit', 'inherit'] });
    await waitFor('rsyslog listening', async () => {
      try {
        await sendTcp(inPort, '');
        return true;
      } catch {
        return false;
      }
    });
    const now = Date.now() - 10_000;
    const n = 300;
    const lines = Array.from({ length: n }, (_, i) =>
      mikrotikLine({ time: now, srcIp: `100.64.1.${i % 250}`, srcPort: 30000 + i, natIp: '203.0.113.50', natPort: 40000 + i, dstIp: '9.9.9.9', dstPort: 443, proto: 'TCP', tag: `rs${i}` }),
    );
    await sendTcp(inPort, lines.join('\n') + '\n');
    const day = new Date(now).toISOString().slice(0, 10);
    const tagCount = () => {
      const c = new Map<string, number>();
      for (const l of committedRaw(join(dir, 'cold')).get(day) ?? []) {
        const t = / (rs\d+) forward/.exec(l)?.[1];
        if (t) c.set(t, (c.get(t) ?? 0) + 1);
      }
      return c;
    };
    await waitFor('3 copies of every line', () => [...tagCount().values()].filter((v) => v === 3).length === n, 30_000);
    const c = tagCount();
    expect(c.size).toBe(n);
    expect([...c.values()].every((v) => v === 3)).toBe(true);
  }, 60_000);
});
