// Figures: each one printed at once as a JSON line (machine-readable, one per figure), collected for
// the closing table and, with --results FILE, the Markdown docs/performance.md quotes.
import { cpus, totalmem } from 'node:os';
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';

export interface Figure {
  case: string;
  name: string;
  value: number | null;
  unit: string;
  goal?: string;
  met?: boolean | null;
  note?: string;
}

export interface Machine {
  cores: number;
  cpu: string;
  memory_gib: number;
  node: string;
  sqlite: string;
  rsyslog: string | null;
  kernel_rmem_max_bytes: number | null;
}

export const figures: Figure[] = [];

export function machine(rsyslog: string | null, rmemMax: number | null): Machine {
  const db = new Database(':memory:');
  const sqlite = db.prepare('SELECT sqlite_version()').pluck().get() as string;
  db.close();
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown',
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    sqlite,
    rsyslog,
    kernel_rmem_max_bytes: rmemMax,
  };
}

export function figure(f: Figure): void {
  figures.push(f);
  process.stdout.write(JSON.stringify({ figure: f.name, case: f.case, value: f.value, unit: f.unit, goal: f.goal ?? null, met: f.met ?? null, note: f.note ?? null }) + '\n');
}

/** The p-th percentile of xs (nearest rank). */
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export function info(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

function fmt(v: number | null, unit: string): string {
  if (v == null) return 'n/a';
  const n = Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
  return `${n} ${unit}`;
}

export function table(): string {
  const rows = figures.map((f) => [f.case, f.name, fmt(f.value, f.unit), f.goal ?? '', f.met == null ? '' : f.met ? 'yes' : 'NO', f.note ?? '']);
  const head = ['case', 'figure', 'value', 'goal', 'met', 'note'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

export function markdown(m: Machine, mode: string, started: Date, seconds: number, times = ''): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out = [
    `# Benchmark results`,
    '',
    `Reproduce: \`npm run bench\` (${mode}). Run ${started.toISOString().slice(0, 16)}Z, ${Math.round(seconds)} s${times ? ` (${times})` : ''}.`,
    '',
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memory_gib} GiB, Node ${m.node}, SQLite ${m.sqlite}, rsyslog ${m.rsyslog ?? 'n/a'}.`,
    '',
    '| case | figure | value | goal | met | note |',
    '| --- | --- | --- | --- | --- | --- |',
    ...figures.map((f) => `| ${f.case} | ${esc(f.name)} | ${fmt(f.value, f.unit)} | ${esc(f.goal ?? '')} | ${f.met == null ? '' : f.met ? 'yes' : '**no**'} | ${esc(f.note ?? '')} |`),
    '',
  ];
  return out.join('\n');
}

export function writeResults(path: string, text: string): void {
  writeFileSync(path, text);
}
