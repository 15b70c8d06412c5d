// The import case: `megalog import` of a file of history (MikroTik lines as a router's hot_logs.raw
// has them, over one past day) into an empty cold directory, committed with records, packed
// records and original lines; against `gzip -1` compressing the same file, measured in the same run.
import { execFileSync } from 'node:child_process';
import { createWriteStream, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, tempDir, testEnv } from '../helpers/daemon.js';
import { mappings, mikrotikLine } from '../helpers/gen.js';
import { onCleanup } from './procs.js';
import { figure, info } from './report.js';

export async function benchImport(lines: number): Promise<void> {
  const dir = tempDir('megalog-bench-import-');
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'hot_logs.raw');
  const start = Date.parse('2026-01-15T00:00:00Z');
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(file);
    out.on('error', reject);
    let buf: string[] = [];
    for (const m of mappings(lines, { start, stepMs: Math.floor(86_400_000 / lines), subscribers: 32_000, publics: 256, seed: 5 })) {
      buf.push(mikrotikLine(m));
      if (buf.length === 10_000) {
        out.write(buf.join('\n') + '\n');
        buf = [];
      }
    }
    out.end(buf.length ? buf.join('\n') + '\n' : '', () => resolve());
  });
  const bytes = statSync(file).size;
  info(`import: ${lines.toLocaleString('en-US')} lines, ${(bytes / 2 ** 20).toFixed(0)} MiB`);

  let t0 = performance.now();
  execFileSync('gzip', ['-1', '-k', '-f', file]);
  const gzipSec = (performance.now() - t0) / 1000;
  const gz = statSync(`${file}.gz`).size;
  rmSync(`${file}.gz`);

  t0 = performance.now();
  execFileSync(process.execPath, [BIN, 'import', file], { env: testEnv(dir), stdio: ['ignore', 'ignore', 'inherit'] });
  const importSec = (performance.now() - t0) / 1000;
  let cold = 0;
  for (const f of execFileSync('ls', [join(dir, 'cold')], { encoding: 'utf8' }).split('\n').filter((n) => n.endsWith('.db'))) cold += statSync(join(dir, 'cold', f)).size;

  const rate = lines / importSec;
  const gzRate = lines / gzipSec;
  figure({ case: 'import', name: 'gzip -1 of the same file', value: gzRate, unit: 'lines/s', note: `${gzipSec.toFixed(1)} s, ${(gz / lines).toFixed(1)} B/line` });
  figure({ case: 'import', name: `megalog import of ${lines / 1e6} M lines`, value: rate, unit: 'lines/s', goal: '≥ 300,000 and ≥ gzip -1', met: rate >= 300_000 && rate >= gzRate, note: `${importSec.toFixed(1)} s, process start and final fsync included; day files ${(cold / lines).toFixed(1)} B/line` });
}
