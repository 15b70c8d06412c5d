// Heavy bulk searches against the real `megalog run`, started with a small heap (256 MiB): lists of
// 10,000 public addresses over a 7-day window whose candidates carry ~60 KB original lines (any
// syslog sender can plant those). The console must stay up and keep ingest running: /health answers
// while a bulk runs, a bulk can be cancelled, a second one by the same user is refused, and the
// answers kept stay bounded, saying they were cut. (Before bulk searches ran in a worker, kept their
// answers packed and left original lines unread, the first of these lists aborted the daemon with
// V8's "heap out of memory" within seconds, receiver included.) The console's heap is sampled from
// /metrics and printed, as a figure, not a pass mark.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bootstrapAdmin, createUser, userWithPassword, type Client, type Res } from '../helpers/browser.js';
import { committedRaw, metricsOf, metricValue, sendUdp, startDaemon, stopDaemon, tempDir, waitFor, type Daemon } from '../helpers/daemon.js';
import { mikrotikLine } from '../helpers/gen.js';

const HEAP_MIB = 256;
const PUBLICS = 4;
const SUBSCRIBERS = 16;
const PAD = 60_000;
const T = Math.floor((Date.now() - 2 * 3600_000) / 1000) * 1000;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const CASE = { case_ref: 'Ofício 99/2026', justification: 'Lista grande do ofício judicial', authority: 'DP Central' };
/** 10,000 IP-only requests (every candidate of the address), each answered by 16 planted lines. */
const BIG = Array.from({ length: 10_000 }, (_, i) => `203.0.113.${10 + (i % PUBLICS)} ${iso(T + 30_000)}`).join('\n');

let d: Daemon;
let dir: string;
let admin: Client;
let heapPeak = 0;
let sampler: NodeJS.Timeout | null = null;

beforeAll(async () => {
  dir = tempDir('megalog-web-bulk-heavy-');
  d = await startDaemon(dir, { NODE_OPTIONS: `--max-old-space-size=${HEAP_MIB}` }, 'run');
  const lines: string[] = [];
  for (let p = 0; p < PUBLICS; p++) {
    for (let s = 0; s < SUBSCRIBERS; s++) {
      // The padding rides in the PPPoE user name: the line still parses, and is kept whole.
      const user = `${p}-${s}-`.padEnd(PAD, String.fromCharCode(97 + ((p * SUBSCRIBERS + s) % 26)));
      lines.push(mikrotikLine({ time: T + s * 1000, srcIp: `100.64.${p}.${s + 1}`, srcPort: 5000 + s, natIp: `203.0.113.${10 + p}`, natPort: 40000 + s, dstIp: '198.18.0.1', dstPort: 443, proto: 'TCP', user }));
    }
  }
  await sendUdp(d.udpPort, lines);
  await waitFor('planted lines committed', () => [...committedRaw(join(dir, 'cold')).values()].flat().filter((l) => l.length > PAD).length >= lines.length);
  admin = await bootstrapAdmin(`http://127.0.0.1:${d.webPort}`);
  sampler = setInterval(() => {
    metricsOf(d.webPort!)
      .then((m) => (heapPeak = Math.max(heapPeak, metricValue(m, 'megalog_nodejs_heap_size_used_bytes') || 0)))
      .catch(() => {});
  }, 250);
}, 60_000);

afterAll(async () => {
  if (sampler) clearInterval(sampler);
  console.log(`web-bulk-heavy: console heap peak ${(heapPeak / 2 ** 20).toFixed(0)} MiB (limit ${HEAP_MIB} MiB)`);
  if (d) await Promise.race([d.exited, new Promise((r) => setTimeout(r, 1000))]); // (a crash's exit may still be on its way)
  if (d && (d.proc.exitCode !== null || d.proc.signalCode !== null)) console.log(`the daemon died (${d.proc.exitCode ?? d.proc.signalCode}):\n${d.stderr().slice(-2000)}`);
  if (d) await stopDaemon(d);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Job {
  id: string;
  state: string;
  done: number;
  total: number;
}

/** The bulk job a fragment shows (its progress panel), or null (an answer, or a refusal). */
function jobOf(text: string): Job | null {
  const m = /data-job="([\w-]+)" data-state="(\w+)" data-done="(\d+)" data-total="(\d+)"/.exec(text);
  return m ? { id: m[1]!, state: m[2]!, done: Number(m[3]), total: Number(m[4]) } : null;
}

/** Upload `list` as the court order's file (a pasted form is capped at 64 KB), as htmx sends it. */
async function startBulk(c: Client, list: string, prefer: Record<string, string> = {}): Promise<Res> {
  await c.get('/search/bulk');
  const fd = new FormData();
  for (const [k, v] of Object.entries({ ...CASE, window: '604800' })) fd.set(k, v);
  fd.set('file', new Blob([list]), 'oficio.txt');
  const res = await fetch(`${c.base}/search/bulk`, {
    method: 'POST',
    body: fd,
    headers: { cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; '), origin: c.base, 'X-CSRF-Token': c.csrf, 'HX-Request': 'true', ...prefer },
  });
  return { status: res.status, headers: res.headers, text: await res.text(), location: res.headers.get('location') };
}

/** The job's panel, as htmx polls it. */
function poll(c: Client, id: string): Promise<Res> {
  return c.get(`/search/bulk/j/${id}`, { 'HX-Request': 'true', 'X-MegaLog-Poll': '1' });
}

/** Follow a started bulk to its end: the last fragment (the answer, or why there is none). */
async function finish(c: Client, started: Res): Promise<Res> {
  let job = jobOf(started.text);
  let last = started;
  while (job && job.state === 'running') {
    await new Promise((r) => setTimeout(r, 200));
    last = await poll(c, job.id);
    job = jobOf(last.text);
  }
  return last;
}

test('/health answers while a bulk is still running', async () => {
  const r = await startBulk(admin, BIG);
  expect(r.status).toBe(202);
  const job = jobOf(r.text)!;
  expect(job.state).toBe('running');
  const h = await fetch(`http://127.0.0.1:${d.webPort}/health`);
  expect(h.status).toBe(200);
  expect(((await h.json()) as { status: string }).status).toBe('healthy');
  const p = jobOf((await poll(admin, job.id)).text)!;
  expect(p.state).toBe('running');
  expect(p.done).toBeLessThan(p.total);
  expect(p.total).toBe(10_000);
  await admin.post(`/search/bulk/j/${job.id}/cancel`, {}, { headers: { 'HX-Request': 'true' } });
  await finish(admin, await poll(admin, job.id));
});

/** Audit rows of bulk searches that ended `outcome`. */
async function audited(outcome: string): Promise<number> {
  const page = await admin.get('/audit?action=search');
  return page.text.split('&quot;outcome&quot;:&quot;').filter((p) => p.startsWith(`${outcome}&quot;`)).length;
}

test('a running bulk can be cancelled, and is audited once as cancelled', async () => {
  const before = await audited('cancelled');
  const r = await startBulk(admin, BIG);
  const job = jobOf(r.text)!;
  expect(job.state).toBe('running');
  const c = await admin.post(`/search/bulk/j/${job.id}/cancel`, {}, { headers: { 'HX-Request': 'true' } });
  expect(c.status).toBe(200);
  const end = jobOf((await finish(admin, c)).text) ?? jobOf(c.text);
  expect(end?.state).toBe('cancelled');
  const last = await poll(admin, job.id);
  expect(last.text).toContain('Busca em lote cancelada');
  expect(last.text).not.toContain('hx-trigger'); // no more polling
  expect(end!.done).toBeLessThan(end!.total);
  expect(await audited('cancelled')).toBe(before + 1);
  // the slot is free again
  const next = await startBulk(admin, `203.0.113.10 ${iso(T + 30_000)}`);
  expect([200, 202]).toContain(next.status);
  expect((await finish(admin, next)).text).toContain('1 linhas respondidas');
});

test('a second bulk by the same user is refused while the first runs', async () => {
  const first = await startBulk(admin, BIG);
  const job = jobOf(first.text)!;
  expect(job.state).toBe('running');
  const second = await startBulk(admin, BIG);
  expect(second.status).toBe(429);
  expect(second.text).toContain('Você já tem uma busca em lote em andamento');
  expect(jobOf(second.text)).toBeNull();
  await admin.post(`/search/bulk/j/${job.id}/cancel`, {}, { headers: { 'HX-Request': 'true' } });
  expect(jobOf((await finish(admin, await poll(admin, job.id))).text)?.state).toBe('cancelled');
});

test('beyond the console-wide cap another user is refused too; nobody sees or cancels another user\'s bulk', async () => {
  const base = `http://127.0.0.1:${d.webPort}`;
  const ana = await userWithPassword(base, 'ana', await createUser(admin, 'ana', 'analyst'), 'senha longa da ana 1');
  const bia = await userWithPassword(base, 'bia', await createUser(admin, 'bia', 'analyst'), 'senha longa da bia 2');
  // answered at once (Prefer: respond-async), so the three start while the first two still run
  const async = { Prefer: 'respond-async' };
  const first = await startBulk(admin, BIG, async);
  expect(first.headers.get('preference-applied')).toBe('respond-async');
  const mine = jobOf(first.text)!;
  const hers = jobOf((await startBulk(ana, BIG, async)).text)!;
  expect([mine.state, hers.state]).toEqual(['running', 'running']);
  const third = await startBulk(bia, BIG, async);
  expect(third.status).toBe(429);
  expect(third.text).toContain('buscas em lote em andamento no console, o máximo permitido');
  expect((await poll(bia, mine.id)).status).toBe(404);
  expect((await bia.post(`/search/bulk/j/${mine.id}/cancel`, {}, { headers: { 'HX-Request': 'true' } })).status).toBe(404);
  expect(jobOf((await poll(admin, mine.id)).text)?.state).toBe('running');
  await admin.post(`/search/bulk/j/${mine.id}/cancel`, {}, { headers: { 'HX-Request': 'true' } });
  await ana.post(`/search/bulk/j/${hers.id}/cancel`, {}, { headers: { 'HX-Request': 'true' } });
  expect(jobOf((await poll(ana, hers.id)).text)?.state).toBe('cancelled');
});

test('large bulks over 60 KB lines stay bounded: the daemon survives, answers say they were cut, ingest goes on', async () => {
  for (let i = 0; i < 3; i++) {
    const end = await finish(admin, await startBulk(admin, BIG));
    expect(end.status).toBe(200);
    expect(end.text).toContain('10.000 linhas respondidas');
    expect(end.text).toContain('Resposta grande demais');
    expect(d.proc.exitCode).toBeNull();
  }
  const h = await fetch(`http://127.0.0.1:${d.webPort}/health`);
  expect(h.status).toBe(200);
  const after = mikrotikLine({ time: Date.now(), srcIp: '100.64.9.9', srcPort: 7000, natIp: '203.0.113.99', natPort: 41000, dstIp: '198.18.0.1', dstPort: 443, proto: 'TCP', user: 'depois' });
  await sendUdp(d.udpPort, [after]);
  await waitFor('a line sent after the bulks committed', () => [...committedRaw(join(dir, 'cold')).values()].flat().includes(after));
  expect(d.stderr()).not.toMatch(/heap out of memory|FATAL ERROR/);
}, 120_000);
