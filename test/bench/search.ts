// Case 6, search (issue 4): the forensic API and the console pages on a day of 10 M records (quick:
// 1 M), as an analyst meets them.
//   api   — forensicLookup for ip+port+time and ip-only (±60 s, keys of connections in the day),
//           subscriberLookup over the whole day, bulkLookup of 100 lines; in this process, warm.
//   pages — `megalog web` on 127.0.0.1 over the same cold storage dir, logged in once (the first
//           start's forced password change), every page timed from the client on loopback and
//           fetched the way the browser does (htmx POSTs get the results fragment).
// Goals: ip+port+time ≤ 1 ms p99; every page ≤ 100 ms p99 of server time. A figure samples until it has `samples`
// or has used `budgetMs` (at least MIN_SAMPLES): slow pages get fewer samples, never a skipped figure.
// With 100 samples a p99 is the slowest one: a figure takes up to 300 (then the third slowest). The
// machine's own noise is timed beside them (a fixed CPU task, `noise`): these machines are shared, and
// a pause of the host lands in whatever request is running.
// The case fills its own pair of days: the day asked about and the day before it, each a whole day of
// that many records, both sealed as days that are over. Every answer reads up to 24 h back into the
// day before, so that day is as dense as the one asked about (until 2026-11-26 13:47Z the bench borrowed the
// storage case's file at 10 M records, the first hours of a 50 M-record day, with a day before of 1 %:
// it flattered the answers; RESULTS.md, "Measured outside npm run bench", has both and the 50 M days).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { bulkLookup } from '../../src/query/bulk.js';
import { forensicLookup, ReaderCache, subscriberLookup, type QueryConfig } from '../../src/query/engine.js';
import { dayOf, dayStart, ipFromDb } from '../../src/store/codes.js';
import { bootstrapAdmin, type Client, type Res } from '../helpers/client.js'; // not browser.ts: the web stack (nunjucks) slows this process's parsers
import { startDaemon, stopDaemon, tempDir } from '../helpers/daemon.js';
import { DAY, DAY_MS, fillDay, type FilledDay, type Key } from './day.js';
import { adopt, onCleanup } from './procs.js';
import { figure, info, pct } from './report.js';

const MIN_SAMPLES = 3;
const WARMUP = 1;
/**
 * Unmeasured requests before a page's figure. The console is a long-running process: V8 optimizes an
 * answer's code over its first runs (the IP-only page's first requests take 2–4 times its median).
 * The slowest of these requests is printed in the figure's note.
 */
const PAGE_WARMUP = 10;
const API_GOAL_MS = 1;
const PAGE_GOAL_MS = 100;
const CASE_FIELDS = { case_ref: '0001234-56.2026.8.26.0100', justification: 'bench: tempo de resposta da busca', authority: '' };
const HTMX = { 'HX-Request': 'true', 'HX-Target': 'search-results' };

export interface SearchOptions {
  /** Most samples a figure takes. */
  samples: number;
  /** Time a figure may take before it stops sampling. */
  budgetMs: number;
}

/** Durations (ms) of `fn` run until `o.samples` or `o.budgetMs`, after `warmup` unmeasured runs (i < 0). */
async function measure(o: SearchOptions, fn: (i: number) => unknown, warmup = WARMUP): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn(-1 - i);
  const ms: number[] = [];
  const t0 = performance.now();
  while (ms.length < o.samples && (ms.length < MIN_SAMPLES || performance.now() - t0 < o.budgetMs)) {
    const t = performance.now();
    await fn(ms.length);
    ms.push(performance.now() - t);
  }
  return ms;
}

const f2 = (v: number) => (v >= 100 ? Math.round(v).toString() : v.toFixed(v >= 1 ? 1 : 3));

/** What the analyst types for a key: the connection's public address, port and time (UTC, ISO). */
function ask(day: string, k: Key) {
  const at = dayStart(day) + k.t;
  return { natIp: ipFromDb(k.natIp)!, natPort: k.natPort, at, iso: new Date(at).toISOString().replace('.000Z', 'Z'), srcIp: ipFromDb(k.srcIp)! };
}

/** The case: fills the day and the day before (`records` each, whole days), then asks them. */
export async function benchSearch(o: SearchOptions, records: number): Promise<void> {
  const dir = tempDir('megalog-bench-search-');
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const spec = { day: DAY, total: records, subscribers: 32_000, publics: 256, seed: 12345 };
    const prev = dayOf(dayStart(DAY) - DAY_MS);
    const t0 = Date.now();
    await fillDay(join(dir, `${prev}.db`), { ...spec, day: prev, seed: spec.seed + 1 }, true);
    const source = await fillDay(join(dir, `${DAY}.db`), spec, true);
    const label = records >= 1e6 ? `${records / 1e6} M` : `${records / 1e3} k`;
    info(`search: filled ${DAY} and the day before, ${records.toLocaleString('en-US')} records each over the whole day, sealed, in ${Math.round((Date.now() - t0) / 1000)} s`);
    await askDays(o, { dir, day: DAY, records, source }, label);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The figures on days filled elsewhere (the measurements outside npm run bench use it too). */
export async function askDays(o: SearchOptions, day: FilledDay, label: string): Promise<void> {
  await noise(o, 'before the API figures');
  await api(o, day, label);
  await noise(o, 'before the pages');
  await pages(o, day, label);
}

/**
 * The machine's own noise, in the same run: a fixed CPU task (~20 ms, no I/O, no allocation) timed
 * as a page is. Its p50 is the task; how far its p99 and slowest run sit above that is what the host
 * added, and the same pauses land in the requests timed around it. No goal.
 */
async function noise(o: SearchOptions, when: string): Promise<void> {
  const ms = await measure(o, () => {
    let x = 0;
    for (let i = 0; i < 20_000_000; i++) x = (x * 31 + i) | 0;
    return x;
  }, 5);
  figure({ case: 'search', name: `machine noise: a fixed CPU task, p99 (${when})`, value: pct(ms, 99), unit: 'ms', note: `p50 ${f2(pct(ms, 50))} ms, slowest ${f2(Math.max(...ms))} ms, ${ms.length} runs` });
}

async function api(o: SearchOptions, day: FilledDay, label: string): Promise<void> {
  const cold: QueryConfig = { cold_storage_dir: day.dir, timezone: 'UTC' };
  const readers = new ReaderCache(day.dir);
  const cfg: QueryConfig = { ...cold, readers };
  const src = day.source;
  const put = (name: string, ms: number[], note: string, goal?: number) =>
    figure({ case: 'search', name: `api ${name} p99 (${label})`, value: pct(ms, 99), unit: 'ms', goal: goal ? `≤ ${goal}` : undefined, met: goal ? pct(ms, 99) <= goal : undefined, note: `p50 ${f2(pct(ms, 50))} ms; ${ms.length} queries; ${note}` });

  // As the console calls it (day files kept open between requests), and as `megalog search` does (opened per answer).
  // The answer as the console asks for it: day files kept open, original lines left for the click
  // that shows one (fillRaw); then with the lines read, and as `megalog search` does.
  const verdicts: Record<string, number> = {};
  const lookup = (c: QueryConfig, raw: boolean) => () => {
    const q = ask(day.day, src.pick());
    const a = forensicLookup({ natIp: q.natIp, natPort: q.natPort, at: q.at, windowSec: 60, raw }, c);
    if (!a.candidates.length) throw new Error(`ip+port+time of a connection in the day found nothing: ${q.natIp}:${q.natPort} ${q.iso}`);
    verdicts[a.verdict] = (verdicts[a.verdict] ?? 0) + 1;
  };
  // A lookup takes well under a millisecond: 20 times the samples (within the same time budget), so
  // that its p99 is a percentile, not the slowest of a hundred.
  const many = { ...o, samples: o.samples * 20 };
  // V8 optimizes the answer's code over its first ~1,000–2,000 runs (measured: p90 ~1 ms over the
  // process's first 1,000 answers, ~0.3 ms from the 2,000th on; a fresh reader on new keys after
  // that is as fast, so it is the code, not SQLite's cache). The console is a long-running process:
  // the goal is on answers after as many unmeasured ones, on other keys; the first ones are printed too.
  put('ip+port+time ±60 s, first answers of the process', await measure(many, lookup(cfg, false)), 'queries of the same kind, before V8 has optimized the code that answers them (no goal: start-up)');
  for (const k of Object.keys(verdicts)) delete verdicts[k];
  const lp = await measure(many, lookup(cfg, false));
  const n = Object.values(verdicts).reduce((a, b) => a + b, 0);
  put('ip+port+time ±60 s', lp, `day files kept open and original lines left unread, as the console answers; verdicts ${Object.entries(verdicts).map(([k, v]) => `${k} ${Math.round((v * 100) / n)} %`).join(', ')}`, API_GOAL_MS);
  put('ip+port+time ±60 s with original lines', await measure(many, lookup(cfg, true)), 'each candidate\'s original line read (a 256-line chunk inflated)');
  put('ip+port+time ±60 s, day files opened per answer', await measure(o, lookup(cold, true)), 'as `megalog search` (one answer a process) does, original lines read');

  let cands = 0;
  const ip = await measure(o, () => {
    const q = ask(day.day, src.pick());
    cands += forensicLookup({ natIp: q.natIp, at: q.at, windowSec: 60 }, cfg).candidates.length;
  });
  put('ip-only ±60 s', ip, `${Math.round(cands / (ip.length + WARMUP))} inside addresses an answer`);

  let maps = 0;
  const from = dayStart(day.day);
  const sub = await measure(o, () => {
    const q = ask(day.day, src.pick());
    maps += subscriberLookup({ srcIp: q.srcIp, from, to: from + DAY_MS - 1 }, cfg).mappings.length;
  });
  put('subscriber whole day', sub, `${Math.round(maps / (sub.length + WARMUP))} mappings an answer`);

  const bulk = await measure(o, () => {
    const text = Array.from({ length: 100 }, () => {
      const q = ask(day.day, src.pick());
      return `${q.natIp}:${q.natPort} ${q.iso}`;
    }).join('\n');
    const b = bulkLookup(text, cfg);
    if (b.error || b.summary.errors) throw new Error(`bulk: ${JSON.stringify(b.error ?? b.results.find((r) => r.error))}`);
  });
  put('bulk of 100 ip:port time lines', bulk, `${f2(pct(bulk, 50) / 100)} ms a line at p50`);
  readers.close();
}

/** Server-Timing `app;dur=…` of a response (the console's own time for it), or NaN. */
function serverMs(r: Res): number {
  const m = /app;dur=([\d.]+)/.exec(r.headers.get('server-timing') ?? '');
  return m ? Number(m[1]) : NaN;
}

async function pages(o: SearchOptions, day: FilledDay, label: string): Promise<void> {
  const webDir = tempDir('megalog-bench-web-');
  onCleanup(() => rmSync(webDir, { recursive: true, force: true }));
  const d = await startDaemon(webDir, { MEGALOG_COLD_STORAGE_DIR: day.dir, MEGALOG_TIMEZONE: 'UTC' }, 'web');
  adopt(d.proc);
  try {
    const base = `http://127.0.0.1:${d.webPort}`;
    const c = await bootstrapAdmin(base);
    const src = day.source;
    const results: Record<string, string> = {};

    /** Time one kind of request; `check` throws on a wrong answer (a bench bug, not a slow page). */
    const timePage = async (name: string, req: (i: number) => Promise<Res>, check: (r: Res) => void, once = false) => {
      const server: number[] = [];
      const warm: number[] = [];
      const run = async (i: number) => {
        const r = await req(i);
        check(r);
        (i >= 0 ? server : warm).push(serverMs(r));
      };
      const ms = once ? await (async () => {
        const t = performance.now();
        await run(0);
        return [performance.now() - t];
      })() : await measure(o, run, PAGE_WARMUP);
      // The goal is on server time (Server-Timing): the client's figure also holds this process's own
      // pauses on a shared 2-core machine. Both are printed.
      const sv = server.filter((x) => !Number.isNaN(x));
      const value = sv.length ? pct(sv, 99) : pct(ms, 99);
      const how = once ? 'one request' : `${ms.length} requests after ${warm.length} unmeasured (slowest of those: server ${f2(Math.max(...warm))} ms)`;
      const client = once ? `client ${f2(ms[0]!)} ms` : `server p50 ${f2(pct(sv, 50))} ms; client p50 ${f2(pct(ms, 50))}, p99 ${f2(pct(ms, 99))} ms`;
      figure({ case: 'search', name: `page ${name}${once ? '' : ' p99'}, ${sv.length ? 'server' : 'client'} time (${label})`, value, unit: 'ms', goal: `≤ ${PAGE_GOAL_MS}`, met: value <= PAGE_GOAL_MS, note: `${how}; ${client}` });
    };
    const ok = (what: string, status = 200) => (r: Res) => {
      if (r.status !== status || !what.split('|').some((w) => r.text.includes(w))) throw new Error(`search bench: expected ${status} with "${what}", got ${r.status}: ${r.text.slice(0, 300)}`);
    };
    const kept = (kind: string) => (r: Res) => {
      ok('verdict-|search-results')(r);
      const id = /^\/search\/r\/([\w-]+)$/.exec(r.headers.get('hx-push-url') ?? '')?.[1];
      if (!id) throw new Error(`search bench: no result id for ${kind}`);
      results[kind] = id;
    };

    await timePage('search form', () => c.get('/search'), ok('name="nat_ip"'));
    /** A public-address search of a connection of the day, with its port or without (IP-only). */
    const publicSearch = (withPort: boolean) => () => {
      const q = ask(day.day, src.pick());
      return c.post('/search', { mode: 'public', ...CASE_FIELDS, nat_ip: q.natIp, nat_port: withPort ? String(q.natPort) : '', time: q.iso, window: '60', proto: '' }, { headers: HTMX });
    };
    const portSearch = publicSearch(true);
    const ipSearch = publicSearch(false);
    await timePage('search ip+port+time', portSearch, kept('port'));
    await timePage('search ip-only ±60 s', ipSearch, kept('ip'));
    const from = `${day.day}T00:00:00Z`;
    const to = `${day.day}T23:59:59Z`;
    await timePage('search subscriber whole day', () => {
      const q = ask(day.day, src.pick());
      return c.post('/search', { mode: 'subscriber', ...CASE_FIELDS, src_ip: q.srcIp, from, to, proto: '' }, { headers: HTMX });
    }, kept('subscriber'));
    // The console keeps the last MAX_RESULTS answers (all users): the searches timed since the last
    // ip+port+time one may have pushed it out, so one more, unmeasured, as the analyst's click follows a search.
    kept('port')(await portSearch());
    await timePage('original line', () => c.get(`/search/r/${results.port}/line/0`, HTMX), ok('class="rawline"'));
    // Past days' summaries are cached by the console: the first view reads the day file (its day_stat counts).
    await timePage('daily view, first view', () => c.get(`/search/daily?day=${day.day}`), ok('<svg class="chart"'), true);
    await timePage('daily view', () => c.get(`/search/daily?day=${day.day}`), ok('<svg class="chart"'));
    await timePage('dashboard', () => c.get('/'), ok('<html'));
    // Exports of an ip-only answer (tens of candidates, each with its original line): a fresh one, for
    // the same reason as above.
    kept('ip')(await ipSearch());
    await timePage('CSV export', () => c.get(`/exports/${results.ip}/csv`), ok('"case_ref"'));
    // The report lists every day file read with its seal: a sealed file's SHA-256 from the manifest, one
    // without a manifest entry (as here: the case seals its days' summaries, not through the sealer) with no hash.
    await timePage('printable report, first', () => c.get(`/exports/${results.ip}/report`), ok('class="hashes"'), true);
    await timePage('printable report', () => c.get(`/exports/${results.ip}/report`), ok('class="hashes"'));
  } finally {
    await stopDaemon(d);
    rmSync(webDir, { recursive: true, force: true });
  }
}
