// The soak case (`npm run bench -- --only soak [--soak-minutes N] [--soak-rate R]`): one `megalog run`
// for N minutes (default 30) takes mixed UDP and TCP syslog at R messages a second (default 22,000:
// half the UDP rate `npm run bench` held on the reference machine, 44 k msg/s on 2026-12-07), while an
// analyst runs a bulk search of 2,000 lines with a 7-day window and exports its CSV every 20 s, and an
// attacker fails a login five times every 5 s. It reports what an operator must see stay flat: the
// daemon's RSS and V8 heap (first quarter against last quarter of the run), /health p99 as a client
// sees it, and every message sent committed once ingest stops. Everything runs on 127.0.0.1 and stops by itself.
//
// Flat means no growth past the daemon's bounds, so the bounded structures are filled before memory
// is measured: a warm-up runs bulks back to back until the console keeps its MAX_RESULTS answers (or
// --soak-warmup minutes pass), with the day's SQLite page cache set to 32 MiB, which ingest fills
// within that time (the default 256 MiB would still be filling 20 minutes into the run).
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { bootstrapAdmin, Client } from '../helpers/client.js';
import { mappings, mikrotikLine } from '../helpers/gen.js';
import { startDaemon, stopDaemon, tempDir, waitFor } from '../helpers/daemon.js';
import { MAX_RESULTS } from '../../src/web/routes/search-store.js';
import { figure, info, pct } from './report.js';
import { adopt } from './procs.js';

export interface SoakOptions {
  minutes: number;
  /** Messages a second in all; a fifth of them over TCP. */
  rate: number;
  /** At most this long filling the bounded structures before the measured minutes. */
  warmupMinutes: number;
}

const SOAK_CACHE_MIB = 32;

const CASE = { case_ref: 'SOAK-0001/2026', justification: 'soak test of the bench', authority: 'bench', window: '604800' };

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function heapBytes(metrics: string): number {
  const m = /^megalog_nodejs_heap_size_used_bytes (\S+)$/m.exec(metrics);
  return m ? Number(m[1]) : 0;
}

async function bulkAndExport(c: Client, list: string): Promise<boolean> {
  await c.get('/search/bulk');
  const fd = new FormData();
  for (const [k, v] of Object.entries(CASE)) fd.set(k, v);
  fd.set('file', new Blob([list]), 'oficio.txt');
  const cookie = [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const res = await fetch(`${c.base}/search/bulk`, { method: 'POST', body: fd, headers: { cookie, origin: c.base, 'X-CSRF-Token': c.csrf, 'HX-Request': 'true' } });
  let text = await res.text();
  for (let i = 0; i < 600; i++) {
    const job = /data-job="([\w-]+)" data-state="running"/.exec(text);
    if (!job) break;
    await new Promise((r) => setTimeout(r, 500));
    text = (await c.get(`/search/bulk/j/${job[1]}`, { 'HX-Request': 'true', 'X-MegaLog-Poll': '1' })).text;
  }
  const id = /\/exports\/([\w-]+)\/csv/.exec(text)?.[1];
  if (!id) return false;
  const csv = await c.get(`/exports/${id}/csv`);
  return csv.status === 200;
}

export async function benchSoak(o: SoakOptions): Promise<void> {
  const dir = tempDir('megalog-soak-');
  const d = await startDaemon(dir, { MEGALOG_BATCH_TIMEOUT_SEC: '1', MEGALOG_TIMEZONE: 'UTC', MEGALOG_DB_CACHE_SIZE_MIB: String(SOAK_CACHE_MIB) }, 'run');
  adopt(d.proc);
  const base = `http://127.0.0.1:${d.webPort}`;
  const admin = await bootstrapAdmin(base);
  const pid = d.proc.pid!;
  info(`soak: ${o.minutes} min after a warm-up of up to ${o.warmupMinutes} min at ${o.rate} msg/s (UDP ${Math.round(o.rate * 0.8)}, TCP ${Math.round(o.rate * 0.2)}), bulk + CSV every 20 s, failed logins every 5 s`);

  // Ingest: a tick every 10 ms, lines numbered so that every one is a distinct record.
  const udp = createSocket('udp4');
  const tcp: Socket = await new Promise((resolve, reject) => {
    const s = connect(d.tcpPort, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  const gen = mappings(Number.MAX_SAFE_INTEGER, { start: Date.now() - 3600_000, stepMs: 1, subscribers: 30_000, publics: 256, seed: 7 });
  let sent = 0;
  let udpSent = 0;
  const sendFrom = Date.now();
  const tick = setInterval(() => {
    // by the clock, not by ticks: a tick that comes late sends what was due meanwhile
    const n = Math.floor((o.rate * (Date.now() - sendFrom)) / 1000) - sent;
    for (let i = 0; i < n; i++) {
      const line = mikrotikLine({ ...gen.next().value!, time: Date.now() - 1000 });
      if (i % 5 === 4) tcp.write(`${line}\n`);
      else {
        udp.send(line, d.udpPort, '127.0.0.1');
        udpSent++;
      }
      sent++;
    }
  }, 10);

  // Warm-up: bulks back to back until the result store is full by count (its byte bound comes first
  // when answers are large), while ingest fills the page cache.
  const warmEnd = Date.now() + o.warmupMinutes * 60_000;
  let warmBulks = 0;
  const list = Array.from({ length: 2000 }, (_, i) => `203.0.113.${i % 200} ${1024 + i} ${new Date(Date.now() - (i % 3600) * 1000).toISOString()}`).join('\n');
  while (warmBulks < MAX_RESULTS && Date.now() < warmEnd) {
    await bulkAndExport(admin, list).catch(() => false);
    warmBulks++;
  }
  const warmSecs = Math.round((o.warmupMinutes * 60_000 - (warmEnd - Date.now())) / 1000);
  info(`soak: warm-up done after ${warmSecs} s and ${warmBulks} bulks; measuring ${o.minutes} min`);
  const endAt = Date.now() + o.minutes * 60_000;
  const sentBefore = sent;

  // The console's load, and what is sampled.
  const health: number[] = [];
  const samples: { at: number; rss: number; heap: number }[] = [];
  let bulks = 0;
  let bulkFailures = 0;
  let logins = 0;
  const healthLoop = setInterval(async () => {
    const t0 = performance.now();
    const r = await fetch(`${base}/health`).catch(() => null);
    if (r) await r.text();
    health.push(performance.now() - t0);
  }, 1000);
  const sampleLoop = setInterval(async () => {
    const m = await (await fetch(`${base}/metrics`)).text().catch(() => '');
    samples.push({ at: Date.now(), rss: rssBytes(pid), heap: heapBytes(m) });
  }, 10_000);
  const loginLoop = setInterval(async () => {
    const bad = new Client(base);
    for (let i = 0; i < 5; i++) {
      await bad.login('superadmin', `wrong-${i}`).catch(() => null);
      logins++;
    }
  }, 5000);
  while (Date.now() < endAt) {
    const ok = await bulkAndExport(admin, list).catch(() => false);
    bulks++;
    if (!ok) bulkFailures++;
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(20_000, endAt - Date.now()))));
  }
  clearInterval(tick);
  clearInterval(healthLoop);
  clearInterval(sampleLoop);
  clearInterval(loginLoop);
  await new Promise<void>((r) => tcp.end(r));
  udp.close();

  // Drained: every line sent is committed once (UDP lines the kernel dropped are counted by it).
  const committed = async () => Number(/^megalog_records_committed_total (\S+)$/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1] ?? 0);
  await waitFor('soak drained', async () => (await committed()) >= sent, 300_000).catch(() => undefined);
  const got = await committed();
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const kernelDrops = Number(/^megalog_udp_kernel_drops(?:_total)? (\S+)$/m.exec(metrics)?.[1] ?? 0);
  await stopDaemon(d);

  const q = Math.max(1, Math.floor(samples.length / 4));
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const first = samples.slice(0, q);
  const last = samples.slice(-q);
  const growth = (k: 'rss' | 'heap') => (avg(last.map((s) => s[k])) / Math.max(1, avg(first.map((s) => s[k]))) - 1) * 100;
  const note = `${o.minutes} min after ${warmSecs} s of warm-up (${warmBulks} bulks; page cache ${SOAK_CACHE_MIB} MiB), ${(sent - sentBefore).toLocaleString('en-US')} sent while measured (${Math.round((sent - sentBefore) / (o.minutes * 60)).toLocaleString('en-US')} msg/s), ${sent.toLocaleString('en-US')} in all (${udpSent.toLocaleString('en-US')} UDP), ${bulks} bulks (${bulkFailures} failed), ${logins} failed logins`;
  figure({ case: 'soak', name: 'soak messages lost', value: sent - got, unit: 'msgs', goal: '0', met: got === sent, note: `${note}; kernel UDP drops ${kernelDrops}` });
  figure({ case: 'soak', name: 'soak /health p99', value: health.length ? pct(health, 99) : NaN, unit: 'ms', goal: '< 100', met: health.length > 0 && pct(health, 99) < 100, note: `${health.length} requests, client side` });
  figure({ case: 'soak', name: 'soak RSS growth, last quarter vs first', value: growth('rss'), unit: '%', goal: '< 10', met: growth('rss') < 10, note: `RSS ${Math.round(avg(first.map((s) => s.rss)) / 2 ** 20)} → ${Math.round(avg(last.map((s) => s.rss)) / 2 ** 20)} MiB` });
  figure({ case: 'soak', name: 'soak heap growth, last quarter vs first', value: growth('heap'), unit: '%', goal: '< 10', met: growth('heap') < 10, note: `heap ${Math.round(avg(first.map((s) => s.heap)) / 2 ** 20)} → ${Math.round(avg(last.map((s) => s.heap)) / 2 ** 20)} MiB` });
}
