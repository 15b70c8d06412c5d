// The peer: the Debian rsyslog package, started with its own config, pid file and work directory
// (never the system instance), receiving UDP and TCP on loopback and writing each message's raw
// text to one file with omfile, as the system MegaLog replaces did.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { track, stop } from './procs.js';

export interface Rsyslog {
  proc: ChildProcess;
  udpPort: number;
  tcpPort: number;
  out: string;
  version: string;
}

export function rsyslogPath(): string | null {
  for (const p of ['/usr/sbin/rsyslogd', '/sbin/rsyslogd']) if (existsSync(p)) return p;
  return null;
}

/** Install the Debian package when missing (root only). */
export function ensureRsyslog(log: (m: string) => void): string | null {
  let p = rsyslogPath();
  if (p) return p;
  if (process.getuid?.() !== 0) return null;
  log('rsyslog missing: installing the Debian package');
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'rsyslog'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch {
    execFileSync('apt-get', ['update'], { stdio: 'ignore' });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'rsyslog'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  p = rsyslogPath();
  return p;
}

export async function startRsyslog(bin: string, dir: string, udpPort: number, tcpPort: number, rcvbuf: number): Promise<Rsyslog> {
  mkdirSync(join(dir, 'work'), { recursive: true });
  const out = join(dir, 'out.log');
  const conf = join(dir, 'rsyslog.conf');
  // %rawmsg%: the bytes as received, so the file holds what the router sent (like hot_logs.raw).
  writeFileSync(
    conf,
    `global(workDirectory="${join(dir, 'work')}" maxMessageSize="8k")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="${udpPort}" rcvbufSize="${rcvbuf}")
input(type="imtcp" address="127.0.0.1" port="${tcpPort}")
template(name="raw" type="string" string="%rawmsg%\\n")
action(type="omfile" file="${out}" template="raw")
`,
  );
  const version = execFileSync(bin, ['-v'], { encoding: 'utf8' }).split('\n')[0]!.replace(/^rsyslogd\s+/, '').split(' ')[0]!;
  const proc = track(bin, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (c) => (err += c));
  // Ready when both ports answer: TCP connect succeeds (UDP binds in the same start-up).
  const t0 = Date.now();
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`rsyslogd exited ${proc.exitCode}: ${err}`);
    if (await tcpOpen(tcpPort)) break;
    if (Date.now() - t0 > 15_000) throw new Error(`rsyslogd did not start: ${err}`);
    await sleep(100);
  }
  await sleep(300);
  return { proc, udpPort, tcpPort, out, version };
}

export function stopRsyslog(r: Rsyslog): Promise<void> {
  return stop(r.proc);
}

/** Lines written so far (LF count of the output file, read incrementally). */
export class LineCounter {
  private at = 0;
  private lines = 0;
  private readonly buf = Buffer.allocUnsafe(4 << 20);
  constructor(private readonly path: string) {}
  count(): number {
    if (!existsSync(this.path)) return 0;
    const size = statSync(this.path).size;
    if (size <= this.at) return this.lines;
    const fd = openSync(this.path, 'r');
    try {
      while (this.at < size) {
        const n = readSync(fd, this.buf, 0, Math.min(this.buf.length, size - this.at), this.at);
        if (n <= 0) break;
        const view = this.buf.subarray(0, n);
        let i = -1;
        while ((i = view.indexOf(10, i + 1)) !== -1) this.lines++;
        this.at += n;
      }
    } finally {
      closeSync(fd);
    }
    return this.lines;
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return import('node:net').then(
    ({ connect }) =>
      new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function readPid(dir: string): number | null {
  try {
    return Number(readFileSync(join(dir, 'rsyslogd.pid'), 'utf8').trim()) || null;
  } catch {
    return null;
  }
}
