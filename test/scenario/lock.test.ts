// One writer per directory (core/lock.ts): a kernel lock (flock) on `<dir>/megalog.pid` in the hot and
// the cold directory, held while the process lives. A PID file left behind never blocks a start, a
// killed holder frees its directories at once, and `import` over a running processor's cold directory
// is refused even from another hot directory.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, committedRaw, sendTcp, startDaemon, stopDaemon, tempDir, testEnv, waitFor, type Daemon } from '../helpers/daemon.js';
import { mappings, mikrotikLine } from '../helpers/gen.js';

const run = (args: string[], env: Record<string, string>) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 30_000 });
const running: Daemon[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) await stopDaemon(d, 'SIGKILL');
});
async function start(dir: string, extra: Record<string, string> = {}): Promise<Daemon> {
  const d = await startDaemon(dir, extra);
  running.push(d);
  return d;
}

describe('directory lock', () => {
  it('a megalog.pid naming a live process that holds no lock does not block a start', async () => {
    const dir = tempDir();
    // After a reboot, or in a container, the PID in a file left behind belongs to someone else:
    // here the test runner itself, alive and not a megalog writer.
    for (const sub of ['hot', 'cold']) {
      mkdirSync(join(dir, sub));
      writeFileSync(join(dir, sub, 'megalog.pid'), `${process.pid} processor\n`);
    }
    const d = await start(dir);
    expect(readFileSync(join(dir, 'hot', 'megalog.pid'), 'utf8')).toBe(`${d.proc.pid} processor\n`);
    expect(readFileSync(join(dir, 'cold', 'megalog.pid'), 'utf8')).toBe(`${d.proc.pid} processor\n`);
    expect(await stopDaemon(d)).toBe(0);
  });

  it('a SIGKILLed holder frees its directories at once, and a live one keeps blocking', async () => {
    const dir = tempDir();
    const first = await start(dir);
    expect(run(['processor'], testEnv(dir)).status).toBe(75);
    await stopDaemon(first, 'SIGKILL');
    // Its PID is still in the file; the kernel dropped the lock with the process.
    expect(readFileSync(join(dir, 'hot', 'megalog.pid'), 'utf8')).toBe(`${first.proc.pid} processor\n`);
    const second = await start(dir);
    const r = run(['processor'], testEnv(dir));
    expect(r.status).toBe(75);
    expect(r.stderr).toContain(`in use by processor (pid ${second.proc.pid})`);
  });

  it('import from another hot directory over a running processor’s cold directory is refused, and nothing is lost', async () => {
    const dir = tempDir();
    const d = await start(dir);
    const lines = [...mappings(500, { start: Date.now() - 60_000, stepMs: 10, seed: 3 })].map((m) => mikrotikLine(m));
    await sendTcp(d.tcpPort, lines.map((l) => `${l}\n`).join(''));
    const file = join(dir, 'more.log');
    writeFileSync(file, [...mappings(300, { start: Date.now() - 30_000, stepMs: 10, seed: 4 })].map((m) => mikrotikLine(m)).join('\n') + '\n');

    const other = testEnv(dir, { MEGALOG_HOT_STORAGE_DIR: join(dir, 'hot2') });
    const r = run(['import', file], other);
    expect(r.status).toBe(75);
    expect(r.stderr).toBe(`megalog import: cold directory ${join(dir, 'cold')} is in use by processor (pid ${d.proc.pid}); stop it first\n`);
    // A second processor over the same cold directory is refused the same way.
    const p = run(['processor'], other);
    expect(p.status).toBe(75);
    expect(p.stderr).toMatch(/cold directory .* is in use by processor/);

    await waitFor('every line committed', () => [...committedRaw(join(dir, 'cold')).values()].flat().length >= lines.length);
    expect(await stopDaemon(d)).toBe(0);
    const committed = [...committedRaw(join(dir, 'cold')).values()].flat();
    expect(committed.sort()).toEqual([...lines].sort());
  });
});
