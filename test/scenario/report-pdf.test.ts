// The court report as a PDF, printed by Debian's chromium from the same page, for an answer on a
// sealed day: its text (read back with pdftotext) carries the case, the answer, the original line
// and the day file's SHA-256 from the seal chain. Audited as an export.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bootstrapAdmin, type Client } from '../helpers/browser.js';
import { sendUdp, startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';
import { mikrotikLine } from '../helpers/gen.js';

const T = Math.floor((Date.now() - 2 * 86_400_000) / 1000) * 1000; // two days ago: the day is over and sealed
const DAY = new Date(T).toISOString().slice(0, 10);
const CASE = { case_ref: 'OF-777/2026', justification: 'identificação do assinante', authority: 'Delegacia de Crimes Cibernéticos' };

let d: Daemon;
let dir: string;
let admin: Client;

beforeAll(async () => {
  dir = tempDir('megalog-pdf-');
  d = await startDaemon(dir, { MEGALOG_SEAL_GRACE_SEC: '0' }, 'run');
  await sendUdp(d.udpPort, [mikrotikLine({ time: T, srcIp: '100.64.9.9', srcPort: 5151, natIp: '203.0.113.77', natPort: 40777, dstIp: '198.51.100.7', dstPort: 443, proto: 'TCP', user: 'joana' })]);
  await waitFor('day sealed', () => existsSync(join(dir, 'cold', 'seals.jsonl')) && readFileSync(join(dir, 'cold', 'seals.jsonl'), 'utf8').includes(`"day":"${DAY}"`), 60_000);
  admin = await bootstrapAdmin(`http://127.0.0.1:${d.webPort}`);
}, 90_000);

afterAll(async () => {
  if (d) await stopDaemon(d);
  if (!process.env.MEGALOG_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
});

test('the PDF report carries the case, the answer, the original line and the sealed day file hash', async () => {
  await admin.get('/search');
  const r = await admin.post('/search', { mode: 'public', ...CASE, nat_ip: '203.0.113.77', nat_port: '40777', time: new Date(T).toISOString().slice(0, 19).replace('T', ' ') }, { headers: { 'HX-Request': 'true' } });
  expect(r.status).toBe(200);
  const id = /\/exports\/([\w-]+)\/report\.pdf/.exec(r.text)![1]!;
  const res = await fetch(`${admin.base}/exports/${id}/report.pdf`, { headers: { cookie: [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/pdf');
  expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="megalog-OF-777_2026-[\w-]+\.pdf"/);
  const pdf = Buffer.from(await res.arrayBuffer());
  expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
  const file = join(dir, 'report.pdf');
  writeFileSync(file, pdf);
  const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  const flat = text.replace(/\s+/g, '');
  expect(text).toContain('OF-777/2026');
  expect(text).toContain('Delegacia de Crimes Cibernéticos');
  expect(text).toContain('100.64.9.9');
  expect(flat).toContain('pppoe-joana');
  const seal = readFileSync(join(dir, 'cold', 'seals.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.day === DAY && e.event === 'seal');
  expect(seal.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(flat).toContain(seal.sha256);
  const audit = new Database(join(dir, 'users.db'), { readonly: true }).prepare("SELECT query FROM audit WHERE action = 'export' ORDER BY id DESC LIMIT 1").pluck().get() as string;
  expect(JSON.parse(audit).format).toBe('pdf');
});
