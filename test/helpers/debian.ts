// A clean Debian 12 machine made by the test: a minbase root from mmdebstrap, fetched from the
// bookworm sources of this host's own apt configuration (no mirror is named here), cached as a
// tarball keyed by its package list, and booted with systemd as PID 1 by systemd-nspawn on a private
// network: the machine has its own loopback and binds nothing on the host's.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cached } from './cache.js';
import { tempDir, waitFor } from './daemon.js';

const SUITE = 'bookworm';

/** One-line `deb URI SUITE COMPONENT…` entries for the host's enabled Debian 12 sources (both formats apt reads). */
export function hostSources(): string[] {
  const suite = new RegExp(`^${SUITE}(-updates|-security)?$`);
  const entries: string[] = [];
  const dir = '/etc/apt/sources.list.d';
  const files = ['/etc/apt/sources.list', ...(existsSync(dir) ? readdirSync(dir).sort().map((n) => join(dir, n)) : [])];
  for (const file of files.filter((f) => existsSync(f))) {
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k: string) => new RegExp(`^${k}:[ \\t]*(.*)$`, 'mi').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
        if (!field('Types').includes('deb') || field('Enabled')[0] === 'no') continue;
        for (const uri of field('URIs')) for (const s of field('Suites').filter((x) => suite.test(x))) entries.push(`deb ${uri} ${s} ${field('Components').join(' ')}`);
      }
    } else if (file.endsWith('.list') || file === '/etc/apt/sources.list') {
      for (const line of text.split('\n')) {
        const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)$/.exec(line.trim());
        if (m && suite.test(m[2]!)) entries.push(`deb ${m[1]} ${m[2]} ${m[3]!.trim()}`);
      }
    }
  }
  if (!entries.length) throw new Error(`no enabled ${SUITE} source in the host's apt configuration (/etc/apt/sources.list*)`);
  return entries;
}

/**
 * A tarball of a Debian 12 minbase root holding `packages` (resolved by apt, as an operator's apt
 * would), with apt's package lists kept so that `apt-get install ./file.deb` resolves offline in it.
 * Made once per package list (about a minute from the network) and reused after.
 */
export function debianRoot(packages: string[]): string {
  const list = [...new Set(packages)].sort();
  const key = createHash('sha256').update(`${SUITE} ${list.join(' ')}`).digest('hex').slice(0, 16);
  const dir = cached('debian', key, (out) => {
    const r = spawnSync('mmdebstrap', ['--variant=minbase', `--include=${list.join(',')}`, '--skip=cleanup/apt/lists', '--quiet', SUITE, join(out, 'root.tar'), ...hostSources()], {
      encoding: 'utf8',
      timeout: 900_000,
    });
    if (r.status !== 0) throw new Error(`mmdebstrap failed (${r.status ?? r.signal}):\n${r.stderr}`);
  });
  return join(dir, 'root.tar');
}

/** A Debian root booted by systemd-nspawn; `run` executes a command inside it as root. */
export class Machine {
  private constructor(
    readonly root: string,
    private readonly nspawn: ChildProcess,
    private readonly exited: Promise<void>,
    private readonly leader: number,
  ) {}

  /** Unpack `tarball` and boot it; resolves once systemd has finished starting the machine. */
  static async boot(tarball: string): Promise<Machine> {
    const root = tempDir('megalog-machine-');
    const untar = spawnSync('tar', ['-xf', tarball, '-C', root], { encoding: 'utf8' });
    if (untar.status !== 0) throw new Error(`tar: ${untar.stderr}`);
    // --register=no and --keep-unit: no systemd runs on the host to register the machine or make it a
    // scope. `timeout` bounds its life should the test runner die without stopping it.
    const nspawn = spawn('timeout', ['--kill-after=30', '1800', 'systemd-nspawn', '--boot', '--register=no', '--keep-unit', '--private-network',
      '--console=pipe', `--machine=megalog-test-${process.pid}`, `--directory=${root}`], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    nspawn.stdout!.on('data', (c) => (out += c));
    nspawn.stderr!.on('data', (c) => (out += c));
    const exited = new Promise<void>((r) => nspawn.on('exit', () => r()));
    let leader = 0;
    try {
      leader = await Promise.race([
        waitFor('the machine\'s systemd', () => systemdUnder(nspawn.pid!), 30_000),
        exited.then(() => Promise.reject(new Error(`systemd-nspawn exited:\n${out}`))),
      ]);
      const m = new Machine(root, nspawn, exited, leader);
      // "running", or "degraded" when a unit of the base system failed: either way the boot is over.
      // Until systemd listens on its socket, systemctl answers nothing.
      let said = '';
      const state = await waitFor('the machine\'s boot', () => {
        const r = m.run(['systemctl', 'is-system-running', '--wait'], { timeout: 120_000 });
        said = `${r.stdout}${r.stderr}`;
        return r.stdout.trim();
      }, 120_000).catch((err: Error) => Promise.reject(new Error(`${err.message}: ${said}\n${out}`)));
      if (!['running', 'degraded'].includes(state)) throw new Error(`the machine did not boot (${state}):\n${out}`);
      return m;
    } catch (err) {
      await stopNspawn(nspawn, exited, leader);
      rmSync(root, { recursive: true, force: true });
      throw err;
    }
  }

  /** Run `cmd` inside the machine (all its namespaces and its root), as root, with a plain environment. */
  run(cmd: string[], o: { input?: string; timeout?: number } = {}): SpawnSyncReturns<string> {
    const r = spawnSync('nsenter', ['--target', String(this.leader), '--all', '--root', '--wd', ...cmd], {
      encoding: 'utf8',
      input: o.input,
      timeout: o.timeout ?? 120_000,
      maxBuffer: 64 * 2 ** 20,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', HOME: '/root', DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.error) throw r.error;
    return r;
  }

  /** `sh -c script` inside the machine; throws with its output unless it exits 0. Returns its stdout. */
  sh(script: string): string {
    const r = this.run(['sh', '-c', script]);
    if (r.status !== 0) throw new Error(`in the machine: ${script}\nexit ${r.status}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** Halt the machine and delete its root. */
  async stop(): Promise<void> {
    await stopNspawn(this.nspawn, this.exited, this.leader);
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** The PID of the machine's systemd: the first process named `systemd` below `pid`. */
function systemdUnder(pid: number): number | null {
  for (const child of childrenOf(pid)) {
    if (readFileSync(`/proc/${child}/comm`, 'utf8').trim() === 'systemd') return child;
    const found = systemdUnder(child);
    if (found) return found;
  }
  return null;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * SIGTERM (passed on by `timeout`) asks nspawn to halt the machine, systemd stopping its units; a
 * second one ends it at once. Last, SIGKILL to the machine's PID 1, which ends every process in it,
 * and to `timeout` and nspawn (their own process group).
 */
async function stopNspawn(nspawn: ChildProcess, exited: Promise<void>, leader: number): Promise<void> {
  const within = (ms: number) => Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
  if (nspawn.exitCode !== null || nspawn.signalCode !== null) return;
  nspawn.kill('SIGTERM');
  if (await within(60_000)) return;
  nspawn.kill('SIGTERM');
  if (await within(15_000)) return;
  for (const pid of [leader, -nspawn.pid!].filter(Boolean)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await exited;
}
