// Migration while receiving: `megalog import` beside a running processor hands the file over as an
// import job; the processor keeps receiving UDP, reads the file after the live traffic, shows the
// progress, and commits every line of both exactly once, through a SIGKILL in the middle.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { afterEach, expect, test } from 'vitest';
import { BIN, sendUdp, startDaemon, stopDaemon, tempDir, testEnv, waitFor, type Daemon } from '../helpers/daemon.js';
import { mappings, mikrotikLine } from '../helpers/gen.js';

const N = 1_000_000;
const UDP_EACH = 10_000;

let d: Daemon | null = null;
afterEach(async () => {
  if (d) await stopDaemon(d);
  d = null;
});

const metric = async (port: number, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1] ?? 0);

test('a 1 M-line hot_logs.raw.gz imported while UDP keeps arriving: every line once, sender kept, progress shown', async () => {
  const dir = tempDir('megalog-import-live-');
  const start = Date.now() - 6 * 3600_000;
  const file = join(dir, 'hot_logs.raw.gz');
  const history = mappings(N, { start, stepMs: 10, subscribers: 30_000, publics: 256, seed: 21 });
  await pipeline(
    Readable.from((function* () {
      let chunk: string[] = [];
      for (const m of history) {
        chunk.push(mikrotikLine(m, 'bng-historico'));
        if (chunk.length === 10_000) {
          yield `${chunk.join('\n')}\n`;
          chunk = [];
        }
      }
      if (chunk.length) yield `${chunk.join('\n')}\n`;
    })()),
    createGzip({ level: 1 }),
    createWriteStream(file),
  );
  const live = (n: number, seed: number) => [...mappings(n, { start: Date.now() - 60_000, stepMs: 1, seed, publics: 16 })].map((m) => mikrotikLine(m, 'bng-ao-vivo'));

  d = await startDaemon(dir, {}, 'run');
  const cli = spawn(process.execPath, [BIN, 'import', file], { env: testEnv(dir), stdio: ['ignore', 'pipe', 'pipe'] });
  let cliErr = '';
  cli.stderr.on('data', (c) => (cliErr += c));
  const cliExit = new Promise<number | null>((r) => cli.on('exit', (code) => r(code)));
  await waitFor('job handed over', () => /handed to the running processor as job/.test(cliErr));
  await sendUdp(d.udpPort, live(UDP_EACH, 1)); // live traffic while the import runs

  // progress is visible in the processor's status (the dashboard reads it) while the job runs
  const status = () => JSON.parse(readFileSync(join(dir, 'hot', 'status.json'), 'utf8')) as { imports: { lines: number; bytes: number; read_bytes: number }[] };
  await waitFor('a fifth imported', () => (status().imports[0]?.lines ?? 0) > N / 5, 180_000);
  const webPort = d.webPort!;
  expect(await metric(webPort, 'megalog_messages_received_total\\{transport="import"\\}')).toBeGreaterThan(0);

  // SIGKILL mid-import, then a restart: the job resumes where the spool says, nothing twice
  d.proc.kill('SIGKILL');
  await d.exited;
  d = await startDaemon(dir, {}, 'run');
  await sendUdp(d.udpPort, live(UDP_EACH, 2));
  expect(await cliExit).toBe(0);
  expect(cliErr).toMatch(new RegExp(`imported ${N} lines through the running processor`));
  const total = () => metric(d!.webPort!, 'megalog_records_committed_total');
  const stats = async () => JSON.parse((await new Promise<string>((res) => {
    const p = spawn(process.execPath, [BIN, 'stats', '--json'], { env: testEnv(dir) });
    let out = '';
    p.stdout.on('data', (c) => (out += c));
    p.on('exit', () => res(out));
  }))).records_total as number;
  await waitFor('all committed', async () => (await stats()) >= N + 2 * UDP_EACH, 300_000);
  await new Promise((r) => setTimeout(r, 2000));
  expect(await stats()).toBe(N + 2 * UDP_EACH);
  expect(await total()).toBeGreaterThan(0);
  // the imported lines keep their router, taken from the syslog header
  const first = mappings(1, { start, stepMs: 10, subscribers: 30_000, publics: 256, seed: 21 }).next().value!;
  const r = spawnSync(process.execPath, [BIN, 'search', '--nat-ip', first.natIp, '--nat-port', String(first.natPort), '--at', new Date(first.time).toISOString(), '--case', 'MIG-2', '--json'], { env: testEnv(dir), encoding: 'utf8' });
  expect(JSON.parse(r.stdout).candidates.map((c: { device: string }) => c.device)).toContain('bng-historico');
}, 900_000);
