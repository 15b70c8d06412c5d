// What the investigator types and what the page prints, against the real `megalog run` fed by UDP:
// an IPv4-mapped address (::ffff:203.0.113.5) finds the IPv4 records, and an original line that
// carries Bidi controls, zero-width and tag characters is shown — on screen and in the court report —
// with those characters as visible escapes, so it reads in the order of its bytes.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bootstrapAdmin, Client, createUser, userWithPassword } from '../helpers/client.js';
import { committedRaw, sendUdp, startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';
import { mikrotikLine } from '../helpers/gen.js';

const T = Math.floor((Date.now() - 2 * 3600_000) / 1000) * 1000;
const WALL = new Date(T).toISOString().slice(0, 19).replace('T', ' ');
// "invoice‮exe.txt" displays as "invoicetxt.exe" when the override is honoured.
const TAG = 'invoice\u202Eexe.txt \u2066iso\u2069 zero\u200Bwidth tag\u{E0041}';
const LINE = mikrotikLine({ time: T, srcIp: '100.64.7.7', srcPort: 5077, natIp: '203.0.113.5', natPort: 40500, dstIp: '198.18.0.1', dstPort: 443, proto: 'TCP', tag: TAG });
const INVISIBLE = /[\u202A-\u202E\u2066-\u2069\u200B-\u200F\u{E0000}-\u{E007F}]/u;

let d: Daemon;
let dir: string;
let analyst: Client;
let admin: Client;

beforeAll(async () => {
  dir = tempDir('megalog-web-raw-');
  d = await startDaemon(dir, {}, 'run');
  const base = `http://127.0.0.1:${d.webPort}`;
  await sendUdp(d.udpPort, [LINE]);
  await waitFor('line committed', () => [...committedRaw(join(dir, 'cold')).values()].flat().length >= 1);
  admin = await bootstrapAdmin(base);
  analyst = await userWithPassword(base, 'rui.analista', await createUser(admin, 'rui.analista', 'analyst'), 'analista frase longa');
}, 60_000);

afterAll(async () => {
  if (d) await stopDaemon(d);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function search(natIp: string, justification = 'ofício nº 77') {
  await analyst.get('/search');
  return analyst.post('/search', { mode: 'public', case_ref: 'CASE-77', justification, authority: 'juízo', nat_ip: natIp, nat_port: '40500', time: WALL }, { headers: { 'HX-Request': 'true' } });
}

describe('search input', () => {
  test('an IPv4-mapped IPv6 address finds the IPv4 records, however it is written', async () => {
    for (const ip of ['::ffff:203.0.113.5', '::FFFF:cb00:7105', '0:0:0:0:0:ffff:203.0.113.5', '[::ffff:203.0.113.5]']) {
      const r = await search(ip);
      expect(r.status, ip).toBe(200);
      expect(r.text, ip).toContain('verdict-unique');
      expect(r.text, ip).toContain('100.64.7.7');
    }
  });
});

describe('original line display', () => {
  test('Bidi controls, zero-width and tag characters are shown as escapes, in the line view and the report', async () => {
    const r = await search('203.0.113.5');
    const id = /\/search\/r\/([\w-]+)\/line\/0/.exec(r.text)![1]!;
    // Nunjucks writes the backslash as &#92;: the page shows \u202E.
    const expected = 'invoice<span class="ctrl">&#92;u202E</span>exe.txt <span class="ctrl">&#92;u2066</span>iso<span class="ctrl">&#92;u2069</span> zero<span class="ctrl">&#92;u200B</span>width tag<span class="ctrl">&#92;u{E0041}</span> forward:';
    for (const path of [`/search/r/${id}/line/0`, `/exports/${id}/report`]) {
      const page = await analyst.get(path);
      expect(page.status, path).toBe(200);
      expect(page.text, path).toContain(expected);
      expect(page.text, path).not.toMatch(INVISIBLE);
    }
  });
});

describe('typed text shown back', () => {
  test('a Bidi override in a justification is escaped in the court report and the audit viewer', async () => {
    const r = await search('203.0.113.5', 'pedido do juízo \u202E77 oicífo');
    const id = /\/search\/r\/([\w-]+)\/line\/0/.exec(r.text)![1]!;
    const escaped = 'pedido do juízo <span class="ctrl">&#92;u202E</span>77 oicífo';
    const report = await analyst.get(`/exports/${id}/report`);
    expect(report.text).toContain(escaped);
    expect(report.text).not.toMatch(INVISIBLE);
    const audit = await admin.get('/audit?action=search');
    expect(audit.text).toContain(escaped);
    expect(audit.text).not.toMatch(INVISIBLE);
  });
});
