// Bulk requests over HTTP against the real `megalog run`: a court order's list pasted or uploaded
// (several line shapes), one answer per line, CSV export; a 50,000-line upload, a non-UTF-8 file, an
// oversize upload and an empty list answered with a clear message in the page. A list still running
// after the POST's short wait answers 202 with a panel that polls: `settle` follows it to the answer.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bootstrapAdmin, type Client, type Res } from '../helpers/browser.js';
import { committedRaw, sendUdp, startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';
import { mikrotikLine } from '../helpers/gen.js';

const T = Math.floor((Date.now() - 2 * 3600_000) / 1000) * 1000;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
let d: Daemon;
let dir: string;
let admin: Client;
const CASE = { case_ref: 'Ofício 77/2026', justification: 'Lista de IPs do ofício judicial', authority: 'DP Central' };

beforeAll(async () => {
  dir = tempDir('megalog-web-bulk-');
  d = await startDaemon(dir, {}, 'run'); // timezone UTC
  const lines = [
    mikrotikLine({ time: T, srcIp: '100.64.1.1', srcPort: 5000, natIp: '203.0.113.50', natPort: 40001, dstIp: '198.18.0.1', dstPort: 443, proto: 'TCP' }),
    mikrotikLine({ time: T, srcIp: '100.64.1.2', srcPort: 5001, natIp: '203.0.113.50', natPort: 40002, dstIp: '198.18.0.1', dstPort: 443, proto: 'TCP' }),
  ];
  await sendUdp(d.udpPort, lines);
  await waitFor('lines committed', () => [...committedRaw(join(dir, 'cold')).values()].flat().length >= lines.length);
  admin = await bootstrapAdmin(`http://127.0.0.1:${d.webPort}`);
}, 60_000);

afterAll(async () => {
  if (d) await stopDaemon(d);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A bulk POST's answer: followed through its progress panel (202) as htmx would poll it. */
async function settle<R extends { status: number; text: string }>(c: Client, r: R): Promise<R | Res> {
  let last: R | Res = r;
  for (let m = /data-job="([\w-]+)" data-state="running"/.exec(r.text); m; m = /data-job="([\w-]+)" data-state="running"/.exec(last.text)) {
    await new Promise((ok) => setTimeout(ok, 200));
    last = await c.get(`/search/bulk/j/${m[1]}`, { 'HX-Request': 'true' });
  }
  return last;
}

async function upload(c: Client, file: Buffer, fields: Record<string, string> = CASE) {
  await c.get('/search/bulk');
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.set(k, v);
  fd.set('file', new Blob([file]), 'oficio.csv');
  const res = await fetch(`${c.base}/search/bulk`, {
    method: 'POST',
    body: fd,
    headers: { cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; '), origin: c.base, 'X-CSRF-Token': c.csrf, 'HX-Request': 'true' },
  });
  return settle(c, { status: res.status, text: await res.text(), headers: res.headers });
}

test('a pasted list in several shapes: one answer per line, and its CSV', async () => {
  await admin.get('/search/bulk');
  const list = [
    'ip,porta,data',
    `203.0.113.50,40001,${iso(T + 5_000)}`,
    `203.0.113.50:40002 ${iso(T)}`,
    `203.0.113.50 40001 ${new Date(T).toISOString().slice(0, 19).replace('T', ' ')}`,
    `203.0.113.50 ${iso(T)}`,
    '# comentário',
    '203.0.113.999 1 2026-03-05 10:00:00',
    'lixo',
    `203.0.113.50 40001 2010-01-01T00:00:00Z`,
  ].join('\n');
  const r = await settle(admin, await admin.post('/search/bulk', { ...CASE, list }, { headers: { 'HX-Request': 'true' } }));
  expect(r.status).toBe(200);
  expect(r.text).toContain('7 linhas respondidas');
  const rows = [...r.text.matchAll(/<tr>\s*<td class="num muted">(\d+)<\/td>[\s\S]*?<span class="vbadge v-(\w+)">/g)].map((m) => `${m[1]}:${m[2]}`);
  expect(rows).toEqual(['2:unique', '3:unique', '4:unique', '5:ambiguous', '7:error', '8:error', '9:no_data']);
  expect(r.text).toContain('Endereço IP inválido');
  expect(r.text).toContain('Linha não reconhecida');
  const id = /\/exports\/([\w-]+)\/csv/.exec(r.text)![1]!;
  const csv = await admin.get(`/exports/${id}/csv`);
  const lines = csv.text.replace(/^\uFEFF/, '').trim().split('\r\n');
  expect(lines[0]).toMatch(/^"case_ref","line","input","verdict","error","src_ip"/);
  expect(lines.filter((l) => l.includes('"unique"') && l.includes('"100.64.1.1"'))).toHaveLength(2);
  expect(lines.length).toBe(1 + 3 + 2 + 3); // header, 3 unique, 2 candidates of the IP-only line, 3 without candidates
  const audit = await admin.get('/audit?action=search');
  expect(audit.text).toContain('Ofício 77/2026');
  expect(audit.text).toContain('list_sha256');
  const rep = await admin.get(`/exports/${id}/report`);
  expect(rep.text).toContain('Linha 9');
});

test('an uploaded CSV file gives the same answers', async () => {
  const r = await upload(admin, Buffer.from(`\uFEFF203.0.113.50;40001;${iso(T)}\r\n203.0.113.50;40002;${iso(T)}\r\n`));
  expect(r.status).toBe(200);
  expect(r.text).toContain('2 linhas respondidas');
  expect(r.text).toContain('100.64.1.1');
  expect(r.text).toContain('100.64.1.2');
});

test('a 50,000-line upload is refused with a clear message', async () => {
  const big = Buffer.from(Array.from({ length: 50_000 }, (_, i) => `203.0.113.50 ${1024 + (i % 60000)} ${iso(T)}`).join('\n'));
  const r = await upload(admin, big);
  expect(r.status).toBe(422);
  expect(r.text).toContain('Lista grande demais: 50.000 linhas; o limite é 10.000');
  expect(r.text).not.toMatch(/Error:|stack/);
});

test('a non-UTF-8 file, a binary file, an oversize file and an empty list get clear messages', async () => {
  const latin1 = Buffer.from(`203.0.113.50 40001 ${iso(T)} # referência\n`, 'latin1');
  const r = await upload(admin, latin1);
  expect(r.status).toBe(422);
  expect(r.text).toContain('O arquivo não está em UTF-8');
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`203.0.113.50 40001 ${iso(T)}\n`, 'utf16le')]);
  expect((await upload(admin, utf16)).text).toMatch(/não está em UTF-8|não é texto/);
  const huge = Buffer.alloc(5 * 1024 * 1024, 'a');
  const h = await upload(admin, huge);
  expect(h.status).toBe(413);
  expect(h.text).toContain('Arquivo grande demais');
  await admin.get('/search/bulk');
  const e = await admin.post('/search/bulk', { ...CASE, list: '  \n# só comentário\n' }, { headers: { 'HX-Request': 'true' } });
  expect(e.status).toBe(422);
  expect(e.text).toContain('A lista está vazia');
  const noCase = await upload(admin, Buffer.from(`203.0.113.50 40001 ${iso(T)}\n`), { justification: 'x' });
  expect(noCase.status).toBe(422);
  expect(noCase.text).toContain('Informe a referência do caso');
});

test('an upload without the CSRF header is refused', async () => {
  await admin.get('/search/bulk');
  const fd = new FormData();
  fd.set('case_ref', 'x');
  fd.set('file', new Blob(['203.0.113.50 1 2026-01-01T00:00:00Z']), 'a.txt');
  const res = await fetch(`${admin.base}/search/bulk`, { method: 'POST', body: fd, headers: { cookie: [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; '), origin: admin.base } });
  expect(res.status).toBe(403);
});
