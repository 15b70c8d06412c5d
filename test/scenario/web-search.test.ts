// Forensic search in the console over HTTP, against the real `megalog run` fed by UDP: verdicts and
// candidates for known mappings (zone-less times read in the configured zone, explicit offsets,
// a port reused inside the window, IP-only lists, a subscriber range), the original line fragment,
// the case reference required and audited, bad and hostile input answered in the page (422, never a
// stack), CSV with formula injection neutralised, the daily view, and who may do what.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bootstrapAdmin, Client, createUser, userWithPassword } from '../helpers/browser.js';
import { committedRaw, sendUdp, startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';
import { bsdTime, mikrotikLine, type Mapping } from '../helpers/gen.js';

const SP = -3 * 3600_000; // America/Sao_Paulo: −03:00, no DST since 2019
// A whole second two hours ago: the BSD header has no year, so stay near now.
const T = Math.floor((Date.now() - 2 * 3600_000) / 1000) * 1000;
const spWall = (ms: number) => new Date(ms + SP).toISOString().slice(0, 19).replace('T', ' ');

/** A MikroTik line whose zone-less header carries São Paulo wall time (the daemon's configured zone). */
function line(m: Omit<Mapping, 'dstIp' | 'dstPort' | 'proto'> & { proto?: 'TCP' | 'UDP' }, host = 'bng1'): string {
  const l = mikrotikLine({ dstIp: '198.18.0.1', dstPort: 443, proto: 'TCP', ...m }, host);
  return l.replace(bsdTime(m.time), bsdTime(m.time + SP));
}

export const WORLD = [
  line({ time: T, srcIp: '100.64.0.10', srcPort: 5000, natIp: '203.0.113.7', natPort: 40312, user: 'ana' }),
  line({ time: T, srcIp: '100.64.0.20', srcPort: 6000, natIp: '203.0.113.8', natPort: 40000, user: 'bia' }),
  line({ time: T + 30_000, srcIp: '100.64.0.21', srcPort: 6001, natIp: '203.0.113.8', natPort: 40000, user: 'caio' }),
  line({ time: T - 10_000, srcIp: '100.64.0.30', srcPort: 7000, natIp: '203.0.113.9', natPort: 1000, user: 'davi' }),
  line({ time: T - 5_000, srcIp: '100.64.0.30', srcPort: 7001, natIp: '203.0.113.9', natPort: 1001, user: 'davi' }),
  line({ time: T + 5_000, srcIp: '100.64.0.31', srcPort: 7002, natIp: '203.0.113.9', natPort: 1002, user: 'eva' }),
  line({ time: T + 1_000, srcIp: '100.64.0.40', srcPort: 8000, natIp: '203.0.113.10', natPort: 2000, user: 'fe', tag: '=HYPERLINK("http://x")' }),
];

let d: Daemon;
let dir: string;
let base: string;
let admin: Client;
let analyst: Client;

beforeAll(async () => {
  dir = tempDir('megalog-web-search-');
  d = await startDaemon(dir, { MEGALOG_TIMEZONE: 'America/Sao_Paulo' }, 'run');
  base = `http://127.0.0.1:${d.webPort}`;
  await sendUdp(d.udpPort, WORLD);
  await waitFor('lines committed', () => [...committedRaw(join(dir, 'cold')).values()].flat().length >= WORLD.length);
  admin = await bootstrapAdmin(base);
  const temp = await createUser(admin, 'ana.analista', 'analyst');
  analyst = await userWithPassword(base, 'ana.analista', temp, 'analista com frase longa');
}, 60_000);

afterAll(async () => {
  if (d) await stopDaemon(d);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const CASE = { case_ref: '0001234-56.2026.8.26.0100', justification: 'Ofício do juízo, identificação de assinante', authority: '1ª Vara Criminal <SP>' };

async function search(c: Client, fields: Record<string, string>, htmx = true) {
  await c.get('/search');
  return c.post('/search', { mode: 'public', ...CASE, ...fields }, { headers: htmx ? { 'HX-Request': 'true' } : {} });
}

describe('verdicts and candidates', () => {
  test('a zone-less time is read in the configured zone: unique, with the candidate and the zone shown', async () => {
    const page = await analyst.get('/search');
    expect(page.status).toBe(200);
    expect(page.text).toContain('America/Sao_Paulo (UTC-03:00)');
    const r = await search(analyst, { nat_ip: '203.0.113.7', nat_port: '40312', time: spWall(T + 20_000) });
    expect(r.status).toBe(200);
    expect(r.text).toContain('<section id="search-results"');
    expect(r.text).not.toContain('<html'); // a fragment for htmx
    expect(r.text).toContain('verdict-unique');
    expect(r.text).toContain('Exatamente um endereço interno');
    expect(r.text).toContain('100.64.0.10');
    expect(r.text).toMatch(/-03:00/);
    expect(r.headers.get('hx-push-url')).toMatch(/^\/search\/r\/[\w-]+$/);
    // The same instant with an explicit offset, and in UTC.
    const z = await search(analyst, { nat_ip: '203.0.113.7', nat_port: '40312', time: new Date(T + 20_000).toISOString().replace('.000', '') });
    expect(z.text).toContain('verdict-unique');
    // The UTC wall clock typed without a zone is São Paulo time, three hours later — never silently UTC.
    const wall = new Date(T + 20_000).toISOString().slice(0, 19);
    const late = await search(analyst, { nat_ip: '203.0.113.7', nat_port: '40312', time: wall.replace('T', ' ') });
    expect(late.text).toContain(`<time>${wall}-03:00</time>`);
  });

  test('a port reused inside the window is ambiguous and lists both', async () => {
    const r = await search(analyst, { nat_ip: '203.0.113.8', nat_port: '40000', time: spWall(T + 15_000), window: '60', proto: 'tcp' });
    expect(r.text).toContain('verdict-ambiguous');
    expect(r.text).toContain('100.64.0.20');
    expect(r.text).toContain('100.64.0.21');
  });

  test('IP without port lists every inside address with its count', async () => {
    const r = await search(analyst, { nat_ip: '203.0.113.9', time: spWall(T), window: '60' });
    expect(r.text).toContain('verdict-ambiguous');
    const rows = [...r.text.matchAll(/<strong>(100\.64\.0\.3\d)<\/strong>/g)].map((m) => m[1]);
    expect(rows).toEqual(['100.64.0.30', '100.64.0.31']);
    expect(r.text).toContain('2 mapeamentos');
  });

  test('no day file for the time asked: no_data, with its meaning', async () => {
    const r = await search(analyst, { nat_ip: '203.0.113.7', nat_port: '40312', time: '2020-01-01 00:00:00' });
    expect(r.text).toContain('verdict-no_data');
    expect(r.text).toContain('a ausência de resultado não prova nada');
  });

  test('subscriber over a range, and a full page without htmx', async () => {
    await analyst.get('/search?mode=subscriber');
    const r = await analyst.post('/search', { mode: 'subscriber', ...CASE, src_ip: '100.64.0.10', from: spWall(T - 3600_000), to: spWall(T + 3600_000) });
    expect(r.status).toBe(200);
    expect(r.text).toContain('<html');
    expect(r.text).toContain('203.0.113.7:40312');
  });

  test('English: the verdict is spelled out in English', async () => {
    const c = analyst;
    await c.get('/search?lang=en');
    const r = await search(c, { nat_ip: '203.0.113.7', nat_port: '40312', time: spWall(T) });
    expect(r.text).toContain('Unique');
    expect(r.text).toContain('Exactly one inside address');
    await c.get('/search?lang=pt-BR');
  });
});

describe('original line, pages, exports', () => {
  test('the original line is one click away, as text inside hx-disable; a full page without htmx', async () => {
    const r = await search(analyst, { nat_ip: '203.0.113.10', nat_port: '2000', time: spWall(T) });
    const id = /\/search\/r\/([\w-]+)\/line\/0/.exec(r.text)![1]!;
    const frag = await analyst.get(`/search/r/${id}/line/0`, { 'HX-Request': 'true' });
    expect(frag.status).toBe(200);
    expect(frag.text).toMatch(/<div class="rawline" hx-disable>/);
    expect(frag.text).toContain('=HYPERLINK(&quot;http://x&quot;) forward: in:&lt;pppoe-fe&gt;');
    const full = await analyst.get(`/search/r/${id}/line/0`);
    expect(full.text).toContain('<html');
    // Another user cannot open this result; an unknown id says so in the page.
    expect((await admin.get(`/search/r/${id}/line/0`)).status).toBe(404);
    expect((await analyst.get('/search/r/nope')).text).toContain('Faça a busca de novo');
  });

  test('CSV: every cell quoted, formula triggers neutralised, audited as an export', async () => {
    const r = await search(analyst, { nat_ip: '203.0.113.10', nat_port: '2000', time: spWall(T) });
    const id = /\/exports\/([\w-]+)\/csv/.exec(r.text)![1]!;
    const csv = await analyst.get(`/exports/${id}/csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename="megalog-0001234-56.2026.8.26.0100-/);
    const lines = csv.text.replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toMatch(/^"case_ref","nat_ip","nat_port","at"/);
    expect(lines[1]).toContain('"100.64.0.40"');
    expect(lines[1]).toMatch(/"<134>[^"]*=HYPERLINK\(""http:\/\/x""\)/);
    for (const cell of lines[1]!.split('","')) expect(cell.replace(/^"/, '')).not.toMatch(/^[=+\-@]/);
    const rep = await analyst.get(`/exports/${id}/report`);
    expect(rep.status).toBe(200);
    expect(rep.text).toContain('0001234-56.2026.8.26.0100');
    expect(rep.text).toContain('1ª Vara Criminal &lt;SP&gt;');
    // T's day is still being written: no hash (it could not be checked later), the time it is sealed instead.
    expect(rep.text).toContain('sem hash: dia ainda aberto');
    expect(rep.text).toMatch(/aberto \(em gravação\); será selado após \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} -03:00/);
    expect(rep.text).toContain('ana.analista');
    const list = await analyst.get('/exports');
    expect(list.text).toContain(`/exports/${id}/report`);
  });

  test('the audit log lists searches and exports with their case reference', async () => {
    const r = await admin.get('/audit?action=search&case=0001234-56.2026.8.26.0100');
    expect(r.text).toContain('ana.analista');
    expect(r.text).toContain('0001234-56.2026.8.26.0100');
    expect(r.text).toContain('Ofício do juízo');
    const e = await admin.get('/audit?action=export');
    expect(e.text).toContain('0001234-56.2026.8.26.0100');
    expect(e.text).toMatch(/report/);
  });
});

describe('bad input is a message in the page', () => {
  const good = () => ({ nat_ip: '203.0.113.7', nat_port: '40312', time: spWall(T) });
  const cases: [string, Record<string, string>, RegExp][] = [
    ['malformed IP', { nat_ip: '203.0.113.300' }, /IP público: Endereço IP inválido/],
    ['port 70000', { nat_port: '70000' }, /Porta pública: Porta inválida/],
    ['garbage time', { time: 'ontem à tarde' }, /Data e hora: Data\/hora inválida/],
    ['impossible date', { time: '2026-02-31 10:00:00' }, /Data\/hora inválida/],
    ['window too long', { window: '99999999' }, /Intervalo longo demais/],
    ['unknown protocol', { proto: 'tcp; DROP TABLE nat' }, /Protocolo inválido/],
    ['missing case reference', { case_ref: '' }, /Informe a referência do caso/],
    ['missing justification', { justification: '' }, /Informe a justificativa/],
  ];
  const HOSTILE = ["' OR 1=1 --", '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', '1; DROP TABLE nat', '{{7*7}}', '\u0000abc', '../../etc/passwd', 'hx-get="/users"'];

  test.each(cases)('%s', async (_name, fields, msg) => {
    const before = (await admin.get('/audit?action=search')).text.match(/act-search/g)?.length ?? 0;
    const r = await search(analyst, { ...good(), ...fields });
    expect(r.status).toBe(422);
    expect(r.text).toMatch(msg);
    expect(r.text).toContain('A busca não foi feita');
    expect(r.text).not.toMatch(/at \w+ \(|Error:|stack/);
    const after = (await admin.get('/audit?action=search')).text.match(/act-search/g)?.length ?? 0;
    expect(after).toBe(before); // nothing ran, nothing audited
  });

  test('end before start', async () => {
    await analyst.get('/search?mode=subscriber');
    const r = await analyst.post('/search', { mode: 'subscriber', ...CASE, src_ip: '100.64.0.10', from: spWall(T), to: spWall(T - 60_000) }, { headers: { 'HX-Request': 'true' } });
    expect(r.status).toBe(422);
    expect(r.text).toContain('o fim é anterior ao início');
  });

  test('injection strings in every search field: a validation message, escaped, never an error page', async () => {
    const fields = ['nat_ip', 'nat_port', 'time', 'window', 'proto', 'case_ref'];
    for (const f of fields) {
      for (const h of HOSTILE) {
        const r = await search(analyst, { ...good(), [f]: h });
        // A case reference may look like a path ("../../etc/passwd" is only text); markup and quotes are refused.
        const plain = f === 'case_ref' && /^[\w ./-]+$/.test(h.replace(/\u0000/g, '')); // the form parser drops NUL
        expect(r.status, `${f} = ${h}`).toBe(plain ? 200 : 422);
        if (!plain) expect(r.text).toContain(`data-field="${f}"`);
        expect(r.text).not.toContain('<script>alert');
        expect(r.text).not.toContain('<img src=x');
        expect(r.text).not.toMatch(/Erro interno|Error:/);
      }
    }
    for (const f of ['src_ip', 'from', 'to']) {
      for (const h of HOSTILE) {
        const r = await analyst.post('/search', { mode: 'subscriber', ...CASE, src_ip: '100.64.0.10', from: spWall(T - 60_000), to: spWall(T), [f]: h }, { headers: { 'HX-Request': 'true' } });
        expect(r.status, `${f} = ${h}`).toBe(422);
        expect(r.text).not.toContain('<script>alert');
      }
    }
    // Free text is kept as text: a justification or authority with markup runs, and comes back escaped.
    const ok = await search(analyst, { ...good(), justification: '<script>alert(1)</script> pedido urgente', authority: '"><img src=x onerror=alert(1)>' });
    expect(ok.status).toBe(200);
    const rep = await analyst.get(/\/exports\/[\w-]+\/report/.exec(ok.text)![0]);
    expect(rep.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt; pedido urgente');
    expect(rep.text).not.toContain('<img src=x');
  });

  test('the form without a CSRF token is refused', async () => {
    await analyst.get('/search');
    const r = await analyst.post('/search', { mode: 'public', ...CASE, ...good() }, { csrf: null });
    expect(r.status).toBe(403);
  });
});

describe('daily view and access', () => {
  test('daily view: per-hour SVG bars, protocols, top public addresses and devices, no inline style', async () => {
    const r = await analyst.get('/search/daily');
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/<svg class="chart"[^>]*viewBox="0 0 960 220"/);
    expect(r.text).toMatch(/<rect class="bar" x="\d+" y="[\d.]+" width="\d+" height="[\d.]+">/);
    expect(r.text).toContain('203.0.113.9');
    expect(r.text).toContain('127.0.0.1');
    expect(r.text).toContain('tcp');
    expect(r.text).not.toMatch(/style=/);
    const bad = await analyst.get('/search/daily?day=2026-13-99%3Cscript%3E', { 'HX-Request': 'true' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('Dia inválido');
    const none = await analyst.get('/search/daily?day=2001-01-01');
    expect(none.text).toContain('Não há arquivo para o dia 2001-01-01');
  });

  test('an analyst cannot reach user admin; an auditor cannot search', async () => {
    expect((await analyst.get('/users')).status).toBe(403);
    const temp = await createUser(admin, 'olga.auditora', 'auditor');
    const auditor = await userWithPassword(base, 'olga.auditora', temp, 'auditora com frase longa');
    expect((await auditor.get('/search')).status).toBe(403);
    expect((await auditor.get('/search/bulk')).status).toBe(403);
    expect((await auditor.get('/exports')).status).toBe(403);
    expect((await auditor.get('/audit')).status).toBe(200);
  });
});
