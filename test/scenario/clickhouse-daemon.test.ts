// `megalog run` on ClickHouse end to end: lines over TCP into the built daemon configured only by
// MEGALOG_* (storage: clickhouse), committed into a clickhouse-server of the test's own; the console
// searches, exports CSV and prints the court report from there; `megalog search --json` answers from
// ClickHouse with the original line, and `megalog verify`
// runs against it, exactly as on SQLite.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAdmin, createUser, userWithPassword } from '../helpers/browser.js';
import { BIN, sendTcp, startDaemon, stopDaemon, tempDir, testEnv, waitFor } from '../helpers/daemon.js';
import { mikrotikLine } from '../helpers/gen.js';
import { ClickhouseServer, hasClickhouse, NO_CLICKHOUSE } from '../helpers/clickhouse.js';

let ch: ClickhouseServer;
beforeAll(async () => {
  if (!hasClickhouse) return;
  ch = new ClickhouseServer();
  await ch.start();
}, 60_000);
afterAll(async () => {
  await ch?.destroy();
});

describe.skipIf(!hasClickhouse)('megalog on ClickHouse' + NO_CLICKHOUSE, () => {
  it('commits what it receives into ClickHouse and answers megalog search from there', async () => {
    const dir = tempDir();
    const extra = { MEGALOG_STORAGE: 'clickhouse', MEGALOG_CLICKHOUSE_URL: ch.url };
    const d = await startDaemon(dir, extra, 'run');
    const t = Date.now() - 120_000;
    const line = mikrotikLine({ time: t, srcIp: '100.64.9.9', srcPort: 41000, natIp: '203.0.113.77', natPort: 50123, dstIp: '198.51.100.80', dstPort: 443, proto: 'TCP' });
    const other = mikrotikLine({ time: t + 5000, srcIp: '100.64.9.10', srcPort: 41001, natIp: '203.0.113.77', natPort: 50124, dstIp: '198.51.100.80', dstPort: 443, proto: 'TCP' });
    try {
      await sendTcp(d.tcpPort, [line, other, 'not a NAT line at all'].map((l) => `${Buffer.byteLength(l)} ${l}`).join(''));
      await waitFor('committed into ClickHouse', async () => Number((await ch.query('SELECT count() FROM megalog.rec WHERE kind IN (0, 1)').catch(() => '0')).trim()) >= 3, 30_000);
      const health = (await (await fetch(`http://127.0.0.1:${d.webPort}/health`)).json()) as { status: string };
      expect(health.status).not.toBe('unhealthy');
      // The console: search, CSV export and the court report, from ClickHouse.
      const base = `http://127.0.0.1:${d.webPort}`;
      const admin = await bootstrapAdmin(base);
      const temp = await createUser(admin, 'ana.analista', 'analyst');
      const analyst = await userWithPassword(base, 'ana.analista', temp, 'analista com frase longa');
      await analyst.get('/search');
      const wall = new Date(t + 1000).toISOString().slice(0, 19).replace('T', ' ');
      const r = await analyst.post('/search', { mode: 'public', case_ref: 'CH-2/2026', justification: 'teste', authority: 'Vara', nat_ip: '203.0.113.77', nat_port: '50123', time: wall }, { headers: { 'HX-Request': 'true' } });
      expect(r.status).toBe(200);
      expect(r.text).toContain('verdict-unique');
      expect(r.text).toContain('100.64.9.9');
      const id = /\/exports\/([\w-]+)\/csv/.exec(r.text)![1]!;
      const csv = await analyst.get(`/exports/${id}/csv`);
      expect(csv.status).toBe(200);
      expect(csv.text).toContain('"100.64.9.9"');
      expect(csv.text).toContain('50123');
      const rep = await analyst.get(`/exports/${id}/report`);
      expect(rep.status).toBe(200);
      expect(rep.text).toContain('CH-2/2026');
      expect(rep.text).toContain('sem hash: dia ainda aberto'); // today's rows are not sealed yet
      // A bulk list: answered by the console's bulk worker thread, reading ClickHouse too.
      await analyst.get('/search/bulk');
      const list = [`203.0.113.77 50123 ${new Date(t + 1000).toISOString()}`, `203.0.113.77 50124 ${new Date(t + 6000).toISOString()}`, 'lixo'].join('\n');
      let b = await analyst.post('/search/bulk', { case_ref: 'CH-3/2026', justification: 'ofício em lote', authority: 'Vara', list }, { headers: { 'HX-Request': 'true' } });
      for (let m = /data-job="([\w-]+)" data-state="running"/.exec(b.text); m; m = /data-job="([\w-]+)" data-state="running"/.exec(b.text)) {
        await new Promise((ok) => setTimeout(ok, 200));
        b = await analyst.get(`/search/bulk/j/${m[1]}`, { 'HX-Request': 'true' });
      }
      const rows = [...b.text.matchAll(/<tr>\s*<td class="num muted">(\d+)<\/td>[\s\S]*?<span class="vbadge v-(\w+)">/g)].map((m) => `${m[1]}:${m[2]}`);
      expect(rows, b.text.slice(0, 2000)).toEqual(['1:unique', '2:unique', '3:error']);
      expect(b.text).toContain('100.64.9.10');
    } finally {
      await stopDaemon(d);
    }
    const env = testEnv(dir, extra);
    const r = spawnSync(process.execPath, [BIN, 'search', '--nat-ip', '203.0.113.77', '--nat-port', '50123', '--at', new Date(t + 1000).toISOString(), '--case', 'CH-1/2026', '--json'], { env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.verdict).toBe('unique');
    expect(out.candidates[0]).toMatchObject({ src_ip: '100.64.9.9', src_port: 41000, nat_ip: '203.0.113.77', nat_port_start: 50123, proto: 'tcp', raw: line });
    const st = spawnSync(process.execPath, [BIN, 'stats', '--json'], { env, encoding: 'utf8' });
    expect(st.status).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ records_total: 2, unparsed_total: 1 });
    const v = spawnSync(process.execPath, [BIN, 'verify'], { env, encoding: 'utf8' });
    expect(v.stdout).toMatch(/manifest: 0 entries/);
    expect(v.stdout).toMatch(/not sealed yet/);
    expect(v.status).toBe(0);
  }, 90_000);
});
