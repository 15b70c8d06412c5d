// RADIUS accounting end to end with a real client: Debian's radclient (freeradius-utils) sends
// Accounting-Request start, interim and stop to the built `megalog run`; each is answered only once
// spooled; a MikroTik NAT line for the same inside address arrives over syslog; `megalog search
// --json` on the public ip:port then carries the chain to the subscriber: login, MAC, NAS, session
// times. A wrong secret gets no answer and is counted; an unknown NAS and malformed packets are
// counted and dropped, and the daemon goes on answering.
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTRIBUTE as A, encodeRequest } from '../../src/parse/radius.js';
import { BIN, metricsOf, metricValue, sendUdp, startDaemon, stopDaemon, tempDir, testEnv, waitFor, type Daemon } from '../helpers/daemon.js';
import { mikrotikLine } from '../helpers/gen.js';

const SECRET = 'testing123';
let dir: string;
let d: Daemon;
let extra: Record<string, string>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** radclient as a NAS runs it: one request, one try, 3 s timeout. */
function radclient(attrs: string[], secret = SECRET): { status: number | null; out: string } {
  const r = spawnSync('radclient', ['-x', '-r', '1', '-t', '3', `127.0.0.1:${d.radiusPort}`, 'acct', secret], { input: `${attrs.join('\n')}\n`, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const session = (status: string, more: string[] = []) => [
  `Acct-Status-Type = ${status}`,
  'User-Name = "cliente42@provedor"',
  'Framed-IP-Address = 100.64.3.17',
  'Calling-Station-Id = "AA-BB-CC-00-11-22"',
  'NAS-IP-Address = 192.0.2.1',
  'NAS-Identifier = "bng-sp-01"',
  'Acct-Session-Id = "81a0001f"',
  ...more,
];

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

async function metric(name: string, labels = ''): Promise<number> {
  return metricValue(await metricsOf(d.webPort!), name, labels);
}

beforeAll(async () => {
  dir = tempDir('megalog-radius-');
  const clients = join(dir, 'radius-clients');
  writeFileSync(clients, `# NAS clients\n127.0.0.1 ${SECRET} bng-test\n`);
  chmodSync(clients, 0o600);
  extra = { MEGALOG_RADIUS_ACCT_LISTEN: '127.0.0.1:0', MEGALOG_RADIUS_CLIENTS_FILE: clients };
  d = await startDaemon(dir, extra, 'run');
}, 60_000);

afterAll(async () => {
  if (d) await stopDaemon(d);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('RADIUS accounting from radclient', () => {
  let t0 = 0;
  let T = 0;
  let tStop = 0;

  it('answers start, interim and stop, and a search by public ip:port reaches the subscriber', async () => {
    expect(d.radiusPort).toBeGreaterThan(0);
    t0 = Date.now();
    const start = radclient(session('Start'));
    expect(start.out).toMatch(/Received Accounting-Response/);
    expect(start.status).toBe(0);
    await sleep(1100);
    await sendUdp(d.udpPort, [mikrotikLine({ time: Date.now(), srcIp: '100.64.3.17', srcPort: 51515, natIp: '203.0.113.5', natPort: 40001, dstIp: '198.18.0.9', dstPort: 443, proto: 'TCP', user: 'cliente42' })]);
    T = Date.now();
    await sleep(1100);
    expect(radclient(session('Interim-Update', ['Acct-Session-Time = 2'])).status).toBe(0);
    tStop = Date.now();
    const stop = radclient(session('Stop', ['Acct-Session-Time = 3', 'Acct-Terminate-Cause = User-Request']));
    expect(stop.out).toMatch(/Received Accounting-Response/);
    await waitFor('responses counted', async () => (await metric('megalog_radius_responses_total')) === 3);
    expect(await metric('megalog_messages_received_total', 'transport="radius"')).toBe(3);
    await waitFor('session events committed', async () => (await metric('megalog_radius_events_committed_total')) === 3 && (await metric('megalog_records_committed_total')) >= 1);

    const r = spawnSync(process.execPath, [BIN, 'search', '--nat-ip', '203.0.113.5', '--nat-port', '40001', '--at', new Date(T).toISOString(), '--case', 'OF-16/2026', '--json'], { env: testEnv(dir, extra), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.verdict).toBe('unique');
    const c = out.candidates[0];
    expect(c.src_ip).toBe('100.64.3.17');
    // the login the NAT line named (<pppoe-cliente42>) is kept; the accounting session adds MAC, NAS and times
    expect(c.subscriber).toMatchObject({ login: 'cliente42', mac: 'aa:bb:cc:00:11:22', nas: 'bng-sp-01', source: 'radius' });
    expect(c.subscriber_step.evidence[0].login).toBe('cliente42@provedor');
    const startMs = Date.parse(c.subscriber.session_start);
    const endMs = Date.parse(c.subscriber.session_end);
    expect(startMs).toBeGreaterThanOrEqual(t0 - 1000);
    expect(startMs).toBeLessThanOrEqual(T);
    expect(endMs).toBeGreaterThanOrEqual(tStop - 1000);
    expect(c.subscriber_step).toMatchObject({ source: 'radius', verdict: 'unique', reason: 'session_held', inside_ip: '100.64.3.17' });
    expect(c.subscriber_step.evidence.map((e: { event: string }) => e.event)).toEqual(['start', 'interim', 'stop']);
    const human = spawnSync(process.execPath, [BIN, 'search', '--nat-ip', '203.0.113.5', '--nat-port', '40001', '--at', new Date(T).toISOString(), '--case', 'OF-16/2026'], { env: testEnv(dir, extra), encoding: 'utf8' });
    expect(human.stdout).toMatch(/assinante 100\.64\.3\.17: unique \(session_held, .*login="cliente42" mac=aa:bb:cc:00:11:22 nas="bng-sp-01"/);
  }, 60_000);

  it('a retransmitted request is answered again and stored once', async () => {
    const again = radclient(session('Stop', ['Acct-Session-Time = 3', 'Acct-Delay-Time = 4']));
    expect(again.status).toBe(0);
    await waitFor('duplicate counted', async () => (await metric('megalog_radius_events_duplicate_total')) === 1);
    expect(await metric('megalog_radius_events_committed_total')).toBe(3);
  }, 30_000);

  it('gives a wrong secret no answer, and counts it', async () => {
    const bad = radclient(session('Interim-Update', ['Acct-Session-Time = 9']), 'not-the-secret');
    expect(bad.status).not.toBe(0);
    expect(bad.out).toMatch(/No reply/);
    expect(await metric('megalog_radius_requests_dropped_total', 'reason="bad_authenticator"')).toBe(1);
  }, 30_000);

  it('counts and drops an unknown NAS and malformed packets, and goes on answering', async () => {
    const signed = (attrs: { type: number; value: Buffer }[]) => encodeRequest(9, attrs, Buffer.from(SECRET));
    const good = [{ type: A.STATUS_TYPE, value: u32(3) }, { type: A.SESSION_ID, value: Buffer.from('x1') }];
    // an unknown NAS: a well-formed request from 127.0.0.2
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.2', () => r()));
    await new Promise<void>((r) => sock.send(signed(good), d.radiusPort!, '127.0.0.1', () => r()));
    sock.close();
    const lying = Buffer.alloc(20);
    lying[0] = 4;
    lying.writeUInt16BE(400, 2); // Length beyond the datagram
    const badAttr = signed([...good, { type: A.FRAMED_IP, value: Buffer.from([100, 64, 0]) }]); // signed, but a 3-byte address
    const overrun = Buffer.from(signed(good));
    overrun[21] = 200; // first attribute's length past the end
    const access = Buffer.from(signed(good));
    access[0] = 1; // Access-Request
    await sendUdp(d.radiusPort!, [Buffer.alloc(5), lying, badAttr, overrun, Buffer.alloc(5000, 0x41), access]);
    await waitFor('drops counted', async () => (await metric('megalog_radius_requests_dropped_total', 'reason="malformed"')) === 5 && (await metric('megalog_radius_requests_dropped_total', 'reason="not_accounting"')) === 1 && (await metric('megalog_radius_requests_dropped_total', 'reason="unknown_nas"')) === 1);
    expect(d.proc.exitCode).toBeNull();
    const after = radclient(['Acct-Status-Type = Start', 'User-Name = "outro"', 'Framed-IP-Address = 100.64.3.18', 'Acct-Session-Id = "81a00020"']);
    expect(after.out).toMatch(/Received Accounting-Response/);
    await waitFor('responses counted', async () => (await metric('megalog_radius_responses_total')) === 5);
    await waitFor('its event committed', async () => (await metric('megalog_radius_events_committed_total')) === 4);
  }, 30_000);

  it('imports a FreeRADIUS detail file through the running processor, once however often it is imported', async () => {
    const at = Math.floor(Date.now() / 1000) - 120;
    const stamp = (t: number) => new Date(t * 1000).toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) (\S+) GMT$/, (_, _w, d, m, y, hms) => `${m} ${String(Number(d)).padStart(2, ' ')} ${y} ${hms} UTC`);
    const block = (status: string, t: number, more: string[] = []) =>
      [new Date(t * 1000).toUTCString(), '\tAcct-Session-Id = "d00d0001"', `\tAcct-Status-Type = ${status}`, '\tUser-Name = "detail-user"', '\tCalling-Station-Id = "00-11-22-33-44-55"', '\tFramed-IP-Address = 100.64.3.30', '\tNAS-Identifier = "bng-detail"', '\tNAS-IP-Address = 192.0.2.7', `\tEvent-Timestamp = "${stamp(t)}"`, ...more, '\tClient-IP-Address = 192.0.2.7', `\tTimestamp = ${t}`, ''].join('\n');
    const file = join(dir, 'detail-20261207');
    writeFileSync(file, `${block('Start', at)}\n${block('Interim-Update', at + 60, ['\tAcct-Session-Time = 60'])}\n`);
    const before = await metric('megalog_radius_events_committed_total');
    const imp = spawnSync(process.execPath, [BIN, 'import', '--format', 'radius-detail', file], { env: testEnv(dir, extra), encoding: 'utf8', timeout: 60_000 });
    expect(imp.stderr).toMatch(/handed to the running processor/);
    expect(imp.status).toBe(0);
    await waitFor('detail events committed', async () => (await metric('megalog_radius_events_committed_total')) === before + 2);
    await sendUdp(d.udpPort, [mikrotikLine({ time: (at + 90) * 1000, srcIp: '100.64.3.30', srcPort: 40404, natIp: '203.0.113.5', natPort: 40002, dstIp: '198.18.0.9', dstPort: 443, proto: 'TCP', user: 'detail-user' })]);
    await waitFor('NAT line committed', async () => (await metric('megalog_records_committed_total')) >= 2);
    const r = spawnSync(process.execPath, [BIN, 'search', '--nat-ip', '203.0.113.5', '--nat-port', '40002', '--at', new Date((at + 90) * 1000).toISOString(), '--case', 'OF-16/2026', '--json'], { env: testEnv(dir, extra), encoding: 'utf8' });
    expect(r.status).toBe(0);
    const c = JSON.parse(r.stdout).candidates[0];
    expect(c.subscriber).toMatchObject({ login: 'detail-user', mac: '00:11:22:33:44:55', nas: 'bng-detail', session_start: new Date(at * 1000).toISOString().replace('.000Z', '+00:00'), session_end: null, source: 'radius' });
    expect(c.subscriber_step.evidence[0].detail).toMatch(/Acct-Session-Id = "d00d0001"/);
    // again, forced past the ledger: nothing stored twice
    const again = spawnSync(process.execPath, [BIN, 'import', '--force', '--format', 'radius-detail', file], { env: testEnv(dir, extra), encoding: 'utf8', timeout: 60_000 });
    expect(again.status).toBe(0);
    await waitFor('duplicates counted', async () => (await metric('megalog_radius_events_duplicate_total')) === 3);
    expect(await metric('megalog_radius_events_committed_total')).toBe(before + 2);
  }, 90_000);

  it('an answered request survives a SIGKILL right after the answer', async () => {
    const r = radclient(['Acct-Status-Type = Start', 'User-Name = "kill-9"', 'Framed-IP-Address = 100.64.3.99', 'Acct-Session-Id = "dead0001"']);
    expect(r.out).toMatch(/Received Accounting-Response/);
    d.proc.kill('SIGKILL');
    await d.exited;
    d = await startDaemon(dir, extra, 'run');
    await waitFor('replayed from the spool', () => {
      for (const f of readdirSync(join(dir, 'cold')).filter((n) => n.endsWith('.db'))) {
        const db = new Database(join(dir, 'cold', f), { readonly: true });
        try {
          if (db.prepare("SELECT count(*) FROM radius_event WHERE session_id = 'dead0001'").pluck().get() === 1) return true;
        } finally {
          db.close();
        }
      }
      return false;
    });
  }, 60_000);

  it('gives no answer for a request that died before it was written to the spool', async () => {
    await stopDaemon(d);
    d = await startDaemon(dir, { ...extra, MEGALOG_FAULT: 'radius_flush:1' }, 'run');
    const r = radclient(['Acct-Status-Type = Start', 'User-Name = "lost"', 'Framed-IP-Address = 100.64.3.98', 'Acct-Session-Id = "dead0002"']);
    expect(r.out).toMatch(/No reply/);
    expect(await d.exited).toBeNull(); // SIGKILLed by the fault point
    d = await startDaemon(dir, extra, 'run');
    // the NAS retransmits what was not answered: now it is answered, and stored
    expect(radclient(['Acct-Status-Type = Start', 'User-Name = "lost"', 'Framed-IP-Address = 100.64.3.98', 'Acct-Session-Id = "dead0002"']).out).toMatch(/Received Accounting-Response/);
  }, 60_000);
});

describe('megalog import --format radius-detail without a processor', () => {
  it('loads the detail file itself, and a second import stores nothing twice', () => {
    const own = tempDir('megalog-radius-detail-');
    try {
      const t = Math.floor(Date.now() / 1000) - 600;
      const block = (status: string, at: number, sid: string) => `${new Date(at * 1000).toUTCString()}\n\tAcct-Session-Id = "${sid}"\n\tAcct-Status-Type = ${status}\n\tUser-Name = "u-${sid}"\n\tFramed-IP-Address = 100.64.7.7\n\tNAS-IP-Address = 192.0.2.7\n\tTimestamp = ${at}\n\n`;
      const file = join(own, 'detail');
      writeFileSync(file, block('Start', t, 's1') + block('Stop', t + 60, 's1') + 'Mon Dec  7 00:00:00 2026\n\tUser-Name = "no status"\n\n');
      const env = testEnv(own);
      const first = spawnSync(process.execPath, [BIN, 'import', '--format', 'radius-detail', file], { env, encoding: 'utf8' });
      expect(first.status).toBe(0);
      expect(first.stderr).toMatch(/2 session events, 0 already stored, 1 blocks that were no accounting record/);
      const again = spawnSync(process.execPath, [BIN, 'import', '--force', '--format', 'radius-detail', file], { env, encoding: 'utf8' });
      expect(again.stderr).toMatch(/0 session events, 2 already stored/);
      const bad = spawnSync(process.execPath, [BIN, 'import', '--format', 'csv', file], { env, encoding: 'utf8' });
      expect(bad.status).toBe(64);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('RADIUS NAS clients at start-up', () => {
  it('refuses to start, exit 78, when the clients file is readable by others, and never shows the secret', async () => {
    const own = tempDir('megalog-radius-cfg-');
    try {
      const clients = join(own, 'clients');
      writeFileSync(clients, '127.0.0.1 very-secret-value\n');
      chmodSync(clients, 0o644);
      const r = spawnSync(process.execPath, [BIN, 'processor'], { env: testEnv(own, { MEGALOG_RADIUS_ACCT_LISTEN: '127.0.0.1:0', MEGALOG_RADIUS_CLIENTS_FILE: clients }), encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(78);
      expect(r.stderr).toMatch(/radius_clients_file: .* readable by group or others/);
      expect(`${r.stdout}${r.stderr}`).not.toContain('very-secret-value');
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  }, 60_000);
});
