// Idle TCP connections cannot lock the routers out: against the real `megalog run`, senders on
// 127.0.0.2… open connections and stay silent. Each address gets tcp_max_connections_per_source, the
// share kept by tcp_reserved_for_devices_percent goes to configured devices only, and every refusal is
// counted by reason. Every socket is destroyed at the end; nothing waits for the idle timeout.
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { committedRaw, metricsOf, metricValue, startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';
import { mikrotikLine } from '../helpers/gen.js';

const DEVICE = '127.0.0.9';
let d: Daemon;
let dir: string;
const open: Socket[] = [];

beforeAll(async () => {
  dir = tempDir('megalog-tcp-limits-');
  d = await startDaemon(
    dir,
    {
      MEGALOG_TCP_MAX_CONNECTIONS: '12',
      MEGALOG_TCP_MAX_CONNECTIONS_PER_SOURCE: '4',
      MEGALOG_TCP_RESERVED_FOR_DEVICES_PERCENT: '25', // 3 of 12
      MEGALOG_DEVICES: JSON.stringify({ [DEVICE]: { name: 'bng-9' } }),
    },
    'run',
  );
}, 60_000);

afterAll(async () => {
  for (const s of open) s.destroy();
  if (d) await stopDaemon(d);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Conn {
  from: string;
  sock: Socket;
  closed: boolean;
}

/** Open one silent connection from `from` (a loopback address) once the handshake is done. */
function dial(from: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port: d.tcpPort, host: '127.0.0.1', localAddress: from });
    open.push(sock);
    const c: Conn = { from, sock, closed: false };
    sock.setTimeout(30_000, () => sock.destroy()); // bounded even if the test dies
    sock.on('close', () => (c.closed = true));
    sock.on('error', () => {});
    sock.once('connect', () => resolve(c));
    sock.once('error', reject);
  });
}

async function dialMany(from: string, n: number): Promise<Conn[]> {
  const out: Conn[] = [];
  for (let i = 0; i < n; i++) out.push(await dial(from));
  return out;
}

const refused = (cs: Conn[]) => cs.map((c) => c.closed);

test('per-source cap and a reserve for configured devices keep idle senders from locking routers out', async () => {
  // The listener takes connections in the order their handshakes completed, so its decisions are
  // fixed by this order; the closes reach us a moment later.
  const a = await dialMany('127.0.0.2', 6); // 4 accepted, 2 over the per-source cap
  const b = await dialMany('127.0.0.3', 4); // 8 open
  const c = await dialMany('127.0.0.4', 3); // the 9th; then only the devices' 3 places are left
  const dev = await dialMany(DEVICE, 4); // 3 places, then the listener is full
  const expected = [...a.map((_, i) => i >= 4), ...b.map(() => false), ...c.map((_, i) => i >= 1), ...dev.map((_, i) => i >= 3)];
  const all = [...a, ...b, ...c, ...dev];
  await waitFor('refused connections closed', () => refused(all).filter(Boolean).length >= expected.filter(Boolean).length, 10_000);
  await new Promise((r) => setTimeout(r, 300)); // and no other one
  expect(refused(all)).toEqual(expected);

  // A configured device still delivers through a connection it got from the reserve.
  const line = mikrotikLine({ time: Date.now(), srcIp: '100.64.1.9', srcPort: 5099, natIp: '203.0.113.99', natPort: 40999, dstIp: '198.18.0.1', dstPort: 443, proto: 'TCP', tag: 'reserved-device' });
  dev[0]!.sock.write(`${line}\n`);
  await waitFor('the device line committed', () => [...committedRaw(join(dir, 'cold')).values()].flat().some((l) => l.includes('reserved-device')));

  const m = await waitFor('refusals counted', async () => {
    const t = await metricsOf(d.webPort!);
    return metricValue(t, 'megalog_tcp_connections_refused_total', 'reason="max_connections"') === 1 ? t : null;
  });
  expect(metricValue(m, 'megalog_tcp_connections_refused_total', 'reason="per_source"')).toBe(2);
  expect(metricValue(m, 'megalog_tcp_connections_refused_total', 'reason="reserved_for_devices"')).toBe(2);
  expect(metricValue(m, 'megalog_messages_dropped_total', 'reason="connection_limit"')).toBe(5);

  // Closing frees the sender's places.
  for (const x of a) x.sock.destroy();
  await waitFor('places freed', async () => metricValue(await metricsOf(d.webPort!), 'megalog_tcp_connections', '') <= 8, 10_000);
  const again = await dialMany('127.0.0.2', 1);
  await new Promise((r) => setTimeout(r, 300));
  expect(refused(again)).toEqual([false]);
});
