// The IPFIX listener end to end (`ipfix_listen`): an exporter's templates, then its NAT events in
// later packets, reach the day file and answer `megalog search` with the packet as evidence; data
// whose templates the daemon never saw (another observation domain, or sent before a restart) is
// counted and kept, never dropped; a packet that is no IPFIX is kept as unparsed.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, metricsOf, metricValue, sendUdp, startDaemon, stopDaemon, tempDir, testEnv, waitFor, type Daemon } from '../helpers/daemon.js';
import { block, ipfix, session, set, SESSION, BLOCK, template } from '../helpers/ipfix.js';

let d: Daemon | null = null;
let dir = '';
afterEach(async () => {
  if (d) await stopDaemon(d);
  d = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const T = Math.floor((Date.now() - 3600_000) / 1000) * 1000;
const EXTRA = { MEGALOG_IPFIX_LISTEN: '127.0.0.1:0', MEGALOG_BATCH_TIMEOUT_SEC: '1' };
const metric = async (name: string, labels = '') => metricValue(await metricsOf(d!.webPort!), name, labels);
const search = (natIp: string, port: number, at: number) => {
  const r = spawnSync(process.execPath, [BIN, 'search', '--nat-ip', natIp, '--nat-port', String(port), '--at', new Date(at).toISOString(), '--case', 'OF-IPFIX/2026', '--json'], { env: testEnv(dir), encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

describe('IPFIX NAT event listener', () => {
  it('decodes events with templates from an earlier packet, answers a search with the packet as evidence, keeps what it cannot decode', async () => {
    dir = tempDir('megalog-ipfix-');
    d = await startDaemon(dir, EXTRA, 'run');
    expect(d.ipfixPort).toBeGreaterThan(0);
    const templates = ipfix([set(2, Buffer.concat([template(256, SESSION), template(257, BLOCK)]))], 7, Math.floor(T / 1000));
    const events = ipfix(
      [
        set(256, Buffer.concat([session(1, T, '100.64.7.1', 40001, '203.0.113.50', 50001, '198.51.100.7', 443), session(1, T + 1000, '100.64.7.2', 40002, '203.0.113.50', 50002, '198.51.100.7', 443)])),
        set(257, block(16, T, '100.64.7.3', '203.0.113.51', 2048, 2559)),
      ],
      7,
      Math.floor(T / 1000),
    );
    // Data of a domain whose templates were never sent, and bytes that are no IPFIX at all.
    const orphan = ipfix([set(256, session(1, T, '100.64.7.9', 1, '203.0.113.59', 2, '198.51.100.7', 3))], 99, Math.floor(T / 1000));
    await sendUdp(d.ipfixPort!, [templates, events, orphan, Buffer.from('not a flow packet')]);
    await waitFor('four packets committed', async () => (await metric('megalog_lines_committed_total')) >= 4, 20_000);
    expect(await metric('megalog_messages_received_total', 'transport="ipfix"')).toBe(4);
    expect(await metric('megalog_records_committed_total')).toBe(3);
    expect(await metric('megalog_lines_unparsed_total')).toBe(1);
    expect(await metric('megalog_lines_ignored_total', 'reason="not_nat_event"')).toBe(2); // the templates, the orphan
    expect(await metric('megalog_ipfix_unknown_template_sets_total')).toBe(1);
    expect(await metric('megalog_ipfix_malformed_total')).toBe(1);

    const a = search('203.0.113.50', 50002, T + 5000);
    expect(a.verdict).toBe('unique');
    expect(a.candidates[0]).toMatchObject({ src_ip: '100.64.7.2', src_port: 40002, proto: 'tcp', dst_ip: '198.51.100.7', dst_port: 443 });
    // The evidence: what the packet is, then its bytes, then the templates it was read with.
    expect(a.candidates[0].raw.startsWith(`IPFIX packet, ${events.length} bytes, observation domain 7, exported ${new Date(Math.floor(T / 1000) * 1000).toISOString()}, with `)).toBe(true);
    expect(a.candidates[0].raw).toContain(`: ${events.toString('hex')} templates: 0002`);
    const b = search('203.0.113.51', 2100, T + 5000);
    expect(b.candidates[0]).toMatchObject({ src_ip: '100.64.7.3', nat_port_start: 2048, nat_port_end: 2559 });

    // After a restart the templates are gone until the exporter sends them again: data is kept, counted.
    await stopDaemon(d);
    d = await startDaemon(dir, EXTRA, 'run');
    await sendUdp(d.ipfixPort!, [events]);
    await waitFor('the packet committed', async () => (await metric('megalog_lines_committed_total')) >= 1, 20_000);
    expect(await metric('megalog_ipfix_unknown_template_sets_total')).toBe(2);
    expect(await metric('megalog_records_committed_total')).toBe(0);
  }, 60_000);
});
