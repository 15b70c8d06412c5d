// Start the real `megalog` executable (built into dist/) in a temp directory, talk to it over real
// sockets on 127.0.0.1, and read what it committed from the real day files.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';

/** The checkout: the first folder above this file with a package.json (test/helpers/ under vitest, dist/test/helpers/ once compiled). */
function findRoot(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${import.meta.dirname}`);
  }
}

export const ROOT = findRoot();
export const BIN = join(ROOT, 'bin', 'megalog.js');

export interface Daemon {
  proc: ChildProcess;
  dir: string;
  udpPort: number;
  tcpPort: number;
  tlsPort: number | null;
  /** The RADIUS accounting listener's port, when radius_acct_listen is set. */
  radiusPort: number | null;
  webPort: number | null;
  /** The first ipfix_listen port, when the test asked for one. */
  ipfixPort: number | null;
  stderr: () => string;
  exited: Promise<number | null>;
}

export function tempDir(prefix = 'megalog-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Environment for a daemon rooted at `dir`, on ephemeral loopback ports. */
export function testEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('MEGALOG_')) env[k] = v;
  return {
    ...env,
    MEGALOG_HOT_STORAGE_DIR: join(dir, 'hot'),
    MEGALOG_COLD_STORAGE_DIR: join(dir, 'cold'),
    MEGALOG_USERS_DB_PATH: join(dir, 'users.db'),
    MEGALOG_SYSLOG_UDP_LISTEN: '127.0.0.1:0',
    MEGALOG_SYSLOG_TCP_LISTEN: '127.0.0.1:0',
    MEGALOG_WEB_LISTEN: '127.0.0.1:0',
    MEGALOG_BATCH_TIMEOUT_SEC: '1',
    MEGALOG_TIMEZONE: 'UTC',
    ...extra,
  };
}

export async function startDaemon(dir: string, extra: Record<string, string> = {}, cmd = 'processor'): Promise<Daemon> {
  const proc = spawn(process.execPath, [BIN, cmd], { env: testEnv(dir, extra), stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const ready = await new Promise<{ ports: { udp: number[]; tcp: number[]; tls: number[]; ipfix?: number[]; radius?: number[] } | null; web_port: number | null }>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`daemon did not start:\n${err}`)), 20_000);
    proc.stdout!.on('data', (c) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      if (line) {
        clearTimeout(t);
        resolve(JSON.parse(line));
      }
    });
    void exited.then((code) => reject(new Error(`daemon exited ${code}:\n${err}`)));
  });
  return {
    proc,
    dir,
    udpPort: ready.ports?.udp[0] ?? 0,
    tcpPort: ready.ports?.tcp[0] ?? 0,
    tlsPort: ready.ports?.tls[0] ?? null,
    radiusPort: ready.ports?.radius?.[0] ?? null,
    webPort: ready.web_port,
    ipfixPort: ready.ports?.ipfix?.[0] ?? null,
    stderr: () => err,
    exited,
  };
}

export async function stopDaemon(d: Daemon, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (d.proc.exitCode !== null || d.proc.signalCode !== null) return d.proc.exitCode;
  d.proc.kill(signal);
  return d.exited;
}

export function sendUdp(port: number, lines: (string | Buffer)[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    let i = 0;
    const next = () => {
      if (i >= lines.length) {
        s.close();
        return resolve();
      }
      const l = lines[i++]!;
      s.send(typeof l === 'string' ? Buffer.from(l) : l, port, '127.0.0.1', (e) => (e ? reject(e) : i % 200 === 0 ? setTimeout(next, 2) : next()));
    };
    next();
  });
}

/** Send raw bytes over one TCP connection and close it. */
export function sendTcp(port: number, data: string | Buffer, opts: { chunk?: number; delayMs?: number } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', async () => {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      if (!opts.chunk) {
        s.end(buf);
      } else {
        for (let i = 0; i < buf.length; i += opts.chunk) {
          s.write(buf.subarray(i, i + opts.chunk));
          if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
        }
        s.end();
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve());
  });
}

export async function waitFor<T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Committed {
  day: string;
  raw: string;
  nat_ip: string | null;
  nat_port: number | null;
  src_ip: string | null;
  t: number | null;
  status: 'record' | 'unparsed' | 'ignored';
}

/** Every original line committed in `cold`, read back from the day files (raw blocks). */
export function committedRaw(cold: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let names: string[] = [];
  try {
    names = readdirSync(cold).filter((n) => /^\d{4}-\d{2}-\d{2}\.db$/.test(n));
  } catch {
    return out;
  }
  for (const n of names.sort()) {
    out.set(n.slice(0, 10), readRawLines(join(cold, n)));
  }
  return out;
}

export function readRawLines(path: string): string[] {
  // Read through the store's own decoder so the test checks what the console will show.
  const f = new DayFile(path, basename(path).slice(0, 10), { journalMode: '', synchronous: '', cacheSizeMiB: 8, maxPageCount: 0, readonly: true });
  try {
    return [...f.allRawLines()].map((l) => l.toString('utf8'));
  } finally {
    f.close();
  }
}

import { DayFile } from '../../src/store/sqlite/dayfile.js';

export function dayCounters(path: string): Record<string, number> {
  const db = new Database(path, { readonly: true });
  try {
    const o: Record<string, number> = {};
    for (const r of db.prepare('SELECT key, value FROM meta').all() as { key: string; value: unknown }[]) o[r.key] = Number(r.value);
    o.nat_rows = Number(db.prepare('SELECT (SELECT ifnull(sum(n), 0) FROM rec) + (SELECT count(*) FROM blk)').pluck().get());
    return o;
  } finally {
    db.close();
  }
}

export async function metricsOf(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  return r.text();
}

export function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').pop()) : NaN;
}
