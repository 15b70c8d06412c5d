// Parse throughput per vendor on one core (lines per CPU second): each vendor's fixture lines (header and body, records, ignored and
// unparsed alike) parsed in a loop for ~1.5 s (0.3 s with quick; `ms` sets it). Called by test/bench/run.ts; run directly it
// prints a table. The MikroTik goal is ≥ 1,000,000 lines/s.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMessage } from '../../src/parse/chain.js';
import type { ParseContext } from '../../src/parse/types.js';

export interface ParseBenchResult {
  vendor: string;
  lines_per_sec: number;
}

function fixturesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    resolve(here, '../fixtures/vendors'), // running from test/bench (tsx, vitest)
    resolve(here, '../../../test/fixtures/vendors'), // compiled: dist/test/bench
    join(process.cwd(), 'test/fixtures/vendors'),
  ];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error('test/fixtures/vendors not found');
}

function loadLines(dir: string, file: string): string[] {
  return readFileSync(join(dir, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { line: string }).line);
}

/** Lines per second of `lines` through parseMessage, measured for about `ms` milliseconds after a warm-up. */
function measure(lines: string[], ctx: ParseContext, ms: number): number {
  let sink = 0;
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const r = parseMessage(lines[i % lines.length], ctx);
      sink += r.kind.length;
    }
  };
  // Warm up long enough for the optimising compiler (it runs on other threads, which cpuUsage also counts).
  const warm = performance.now();
  while (performance.now() - warm < Math.max(250, ms / 3)) run(lines.length * 50);
  const batch = Math.max(lines.length * 200, 10_000);
  let count = 0;
  // Rate per CPU second of this process (user + system), so other load on the machine does not skew it;
  // the loop itself is bounded by wall time.
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    run(batch);
    count += batch;
  }
  const c = process.cpuUsage(c0);
  if (sink === -1) console.log(sink); // keep the loop observable
  const cpuMs = (c.user + c.system) / 1000;
  return Math.round((count / Math.max(cpuMs, 1)) * 1000);
}

export async function benchParse(opts: { quick?: boolean; ms?: number } = {}): Promise<ParseBenchResult[]> {
  const dir = fixturesDir();
  const ms = opts.ms ?? (opts.quick ? 300 : 1500);
  const ctx: ParseContext = { receivedAt: Date.parse('2025-08-30T14:00:00Z'), peer: null, device: null, timezone: 'America/Sao_Paulo' };
  const out: ParseBenchResult[] = [];
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
  // MikroTik first: its typical NAT line alone, then each vendor's whole fixture set.
  const mk = loadLines(dir, 'mikrotik.jsonl').filter((l) => l.includes(', NAT ('));
  out.push({ vendor: 'mikrotik-nat-line', lines_per_sec: measure(mk, ctx, ms) });
  for (const f of files) {
    out.push({ vendor: f.replace(/\.jsonl$/, ''), lines_per_sec: measure(loadLines(dir, f), ctx, ms) });
    await new Promise((r) => setImmediate(r));
  }
  return out;
}

const direct = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (direct) {
  const quick = process.argv.includes('--quick');
  const rows = await benchParse({ quick });
  for (const r of rows) console.log(`${r.vendor.padEnd(20)} ${r.lines_per_sec.toLocaleString('en-US').padStart(12)} lines/s`);
}
