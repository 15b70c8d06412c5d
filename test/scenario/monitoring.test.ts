// The monitoring files the package installs under /usr/share/megalog: the Prometheus rules pass
// `promtool check rules` and their own `promtool test rules` cases, the scrape example passes
// `promtool check config`, every dashboard query is valid PromQL, and every metric name either file
// uses is one that /metrics exports (src/daemon/metrics.ts, read from a live registry).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Metrics } from '../../src/daemon/metrics.js';
import { ROOT, tempDir } from '../helpers/daemon.js';

const RULES = join(ROOT, 'packaging', 'prometheus', 'megalog-rules.yml');
const SCRAPE = join(ROOT, 'packaging', 'prometheus', 'scrape.yml');
const DASHBOARD = join(ROOT, 'packaging', 'grafana', 'megalog.json');
const METRICS_SOURCE = join(ROOT, 'src', 'daemon', 'metrics.ts');

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; refId: string }[];
}

const dashboard = () => JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; title: string; panels: Panel[] };
const exprs = () => dashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

/** promtool with its output printed; throws with that output when it fails. */
function promtool(...args: string[]): string {
  const r = spawnSync('promtool', args, { encoding: 'utf8' });
  const out = `${r.stdout}${r.stderr}`;
  console.log(`promtool ${args.join(' ')}\n${out}`);
  if (r.status !== 0) throw new Error(out);
  return out;
}

/** Every metric name /metrics exports, from its # TYPE lines (histograms with their three series). */
async function exported(): Promise<Set<string>> {
  const dir = tempDir('megalog-metrics-');
  const cfg = loadConfig({ file: null, env: {}, overrides: { hot_storage_dir: dir, cold_storage_dir: dir, devices: { '192.0.2.1': { name: 'bng' } } } });
  const m = new Metrics(cfg, () => ({ stats: { commit_count: 1 }, devices: [{ address: '192.0.2.1', last_seen_ms: Date.now(), messages: 1 }] }));
  const names = new Set<string>();
  for (const [, name, type] of (await m.text()).matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
  }
  return names;
}

/** The names prom-client's default metrics take with our prefix (they are not spelled out in metrics.ts). */
async function defaults(): Promise<Set<string>> {
  const r = new Registry();
  collectDefaultMetrics({ register: r, prefix: 'megalog_' });
  return new Set((await r.getMetricsAsJSON()).flatMap((m) => (String(m.type) === 'histogram' ? ['', '_bucket', '_sum', '_count'].map((s) => m.name + s) : [m.name])));
}

const used = (text: string) => new Set(text.match(/\bmegalog_[a-z0-9_]+/g) ?? []);

describe('monitoring files', () => {
  it('the alerting rules pass promtool check rules', () => {
    expect(promtool('check', 'rules', RULES)).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('the alerting rules fire as their own test cases say', () => {
    const dir = tempDir('megalog-promtool-');
    const tests = join(dir, 'megalog-rules.test.yml');
    writeFileSync(tests, readFileSync(join(ROOT, 'test', 'fixtures', 'prometheus', 'megalog-rules.test.yml'), 'utf8').replace('RULES', RULES));
    expect(promtool('test', 'rules', tests)).toMatch(/SUCCESS/);
  });

  it('the scrape example is a valid Prometheus configuration', () => {
    const dir = tempDir('megalog-promtool-');
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, readFileSync(SCRAPE, 'utf8').replace('/usr/share/megalog/prometheus/megalog-rules.yml', RULES));
    expect(promtool('check', 'config', config)).toMatch(/is valid prometheus config file syntax/);
  });

  it('every dashboard query is valid PromQL', () => {
    // promtool has no query checker: each query becomes a recording rule, with Grafana's variables
    // given values as Grafana would.
    const vars = (e: string) =>
      e.replaceAll('$__rate_interval', '2m').replaceAll('$__range', '6h').replaceAll('$instance', '.*').replaceAll('$silent_after', '900');
    const rules = exprs().map((e, i) => `      - record: megalog_dashboard_query_${i}\n        expr: ${JSON.stringify(vars(e))}`);
    expect(rules.length).toBeGreaterThan(10);
    const file = join(tempDir('megalog-promtool-'), 'dashboard-queries.yml');
    writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
    expect(promtool('check', 'rules', file)).toMatch(/SUCCESS/);
  });

  it('the dashboard covers ingest, records, drops, kernel drops, backlog, commit time, disk and silent devices', () => {
    const d = dashboard();
    expect(d.uid).toBe('megalog');
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const all = exprs().join('\n');
    for (const name of ['megalog_messages_received_total', 'megalog_records_committed_total', 'megalog_messages_dropped_total', 'megalog_udp_kernel_drops',
      'megalog_spool_backlog_bytes', 'megalog_commit_duration_seconds_bucket', 'megalog_disk_free_bytes', 'megalog_device_last_seen_timestamp_seconds']) {
      expect(all, name).toContain(name);
    }
    expect(all).toMatch(/sum by \(transport\)/);
    expect(all).toMatch(/sum by \(reason\) \(rate\(megalog_messages_dropped_total/);
  });

  it('every metric the rules and the dashboard use is exported by /metrics', async () => {
    const have = await exported();
    const fromDefaults = await defaults();
    const source = readFileSync(METRICS_SOURCE, 'utf8');
    const names = new Set([...used(readFileSync(RULES, 'utf8')), ...used(exprs().join('\n'))]);
    expect(names.size).toBeGreaterThan(15);
    const missing = [...names].filter((n) => !have.has(n));
    expect(missing, 'metric names that /metrics does not export').toEqual([]);
    // Ours are declared by name in metrics.ts; the rest are prom-client's defaults under our prefix.
    const undeclared = [...names].filter((n) => !fromDefaults.has(n) && !source.includes(`'${n.replace(/_(bucket|sum|count)$/, '')}'`));
    expect(undeclared, 'metric names not declared in src/daemon/metrics.ts').toEqual([]);
  });
});
