// `megalog stats [--json]`: what the store holds (contract in docs/architecture.md).
import type { Config } from '../config/load.js';
import { ClickhouseStore } from '../store/clickhouse/ch-store.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';

export function runStats(cfg: Config, json: boolean): number {
  const days = cfg.storage === 'clickhouse' ? new ClickhouseStore(cfg).listDays() : new SqliteStore(cfg).listDays();
  const out = {
    records_total: days.reduce((n, d) => n + d.records, 0),
    unparsed_total: days.reduce((n, d) => n + d.unparsed, 0),
    ignored_total: days.reduce((n, d) => n + d.ignored, 0),
    days: days.map((d) => ({ day: d.day, records: d.records, unparsed: d.unparsed, ignored: d.ignored, bytes: d.bytes })),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return 0;
  }
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(`${'day'.padEnd(10)} ${pad('records', 14)} ${pad('unparsed', 10)} ${pad('ignored', 10)} ${pad('MiB', 10)}`);
  for (const d of out.days) {
    console.log(`${d.day} ${pad(d.records, 14)} ${pad(d.unparsed, 10)} ${pad(d.ignored, 10)} ${pad((d.bytes / 2 ** 20).toFixed(1), 10)}`);
  }
  console.log(`${'total'.padEnd(10)} ${pad(out.records_total, 14)} ${pad(out.unparsed_total, 10)} ${pad(out.ignored_total, 10)}`);
  return 0;
}
