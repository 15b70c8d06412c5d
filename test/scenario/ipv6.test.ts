// IPv6 listeners: UDP and TCP on [::1], the sender's IPv6 address recorded as the device.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { dayCounters, startDaemon, stopDaemon, tempDir, waitFor } from '../helpers/daemon.js';
import { mikrotikLine } from '../helpers/gen.js';

describe('IPv6 sources', () => {
  it('receives UDP and TCP on [::1] and keeps the IPv6 sender as the device', async () => {
    const dir = tempDir();
    const d = await startDaemon(dir, { MEGALOG_SYSLOG_UDP_LISTEN: '[::1]:0', MEGALOG_SYSLOG_TCP_LISTEN: '[::1]:0' });
    try {
      const now = Date.now() - 1000;
      const l = (tag: string) => mikrotikLine({ time: now, srcIp: '100.64.3.3', srcPort: 1000, natIp: '203.0.113.3', natPort: 2000, dstIp: '1.1.1.1', dstPort: 53, proto: 'UDP', tag });
      const s = createSocket('udp6');
      await new Promise<void>((r) => s.send(l('v6udp'), d.udpPort, '::1', () => r()));
      s.close();
      await new Promise<void>((r) => {
        const c = connect({ host: '::1', port: d.tcpPort }, () => c.end(`${l('v6tcp')}\n`));
        c.on('close', () => r());
      });
      const path = join(dir, 'cold', `${new Date(now).toISOString().slice(0, 10)}.db`);
      await waitFor('both committed', () => dayCounters(path).records === 2);
      const db = new Database(path, { readonly: true });
      expect(db.prepare('SELECT address FROM device').pluck().all()).toEqual(['::1']);
      db.close();
    } finally {
      await stopDaemon(d, 'SIGKILL');
    }
  });
});
