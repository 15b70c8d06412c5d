// Case 1, ingest end to end: the same generated load, from a separate sender process, to rsyslog
// (receive → file) and to `megalog processor` (receive → spool → parse → day file with indexes and
// compressed evidence), over UDP and TCP, offered rate stepped up until a step fails. A rate is
// *held* when a step of `holdSec` at that rate passes:
//   UDP: < 0.1 % of what was sent missing at the end (MegaLog: committed; rsyslog: in its file);
//   TCP: the sender never blocked (its user-space queue never passed 4 MiB) and nothing is missing;
//   MegaLog also: everything sent was committed within 3 s + 10 % of the step's length after its end
//   (a committer that falls behind leaves a backlog that takes longer), and over the second half of
//   a long step the spool backlog did not clearly climb (slope < 25 % of the offered bytes/s).
// A step stops early once its failure is certain: TCP at the sender's first block, a long MegaLog
// step when its backlog already exceeds 1.5× what the drain allowance covers and still climbs.
import { readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { BIN, ROOT, stopDaemon, tempDir, testEnv, type Daemon } from '../helpers/daemon.js';
import { THREADS } from '../../src/core/counters.js';
import { onCleanup, track, stop } from './procs.js';
import { LineCounter, sleep, startRsyslog, stopRsyslog, type Rsyslog } from './rsyslog.js';
import type { RunCommand, RunResult } from './sender.js';
import { figure, info } from './report.js';

const UDP_LOSS_MAX = 0.001;
/** A step whose sender fell further behind its schedule than this did not offer the rate asked. */
const SENDER_SHORT_MAX = 0.01;
/** Batch timeout (1 s in the bench's config) + one commit + status.json's 1 s refresh. */
const DRAIN_MS = 3000;
/** How long MegaLog's last batch of a step may take to be committed once the step ends: its gathering (0.5 s) and its commit. */
const COMMIT_LATENCY_MS = 1000;

interface Counters {
  /** Messages in (MegaLog: spooled; rsyslog: in its file). */
  received: number;
  /** Messages committed (MegaLog: in the day file; rsyslog: in its file). */
  committed: number;
  backlog: number;
  /** MegaLog: CPU seconds each thread used so far (megalog_thread_cpu_seconds_total). */
  cpu?: Record<string, number>;
}

interface System {
  name: string;
  udpPort: number;
  tcpPort: number;
  /** How often counters() changes: 0 when it reads the live state (rsyslog's file). */
  refreshMs: number;
  counters(): Counters;
  /** The last step ended with everything it sent accounted for (the next one need not wait). */
  settled?: boolean;
}

export interface IngestOptions {
  quick: boolean;
  rcvbuf: number;
  /** Seconds of a probing step and of the confirming (held) step. */
  probeSec: number;
  holdSec: number;
  startRate: number;
  bisections: number;
  maxRate: number;
  rsyslogBin: string | null;
  systems: Set<string>;
}

interface StepResult {
  rate: number;
  seconds: number;
  sent: number;
  committed: number;
  loss: number;
  behind: number;
  blockedMs: number;
  backlogSlope: number;
  /** Rate the sender managed. */
  achieved: number;
  pass: boolean;
  why: string;
  senderLimited: boolean;
  /** A failed step's measure of what the system did take (msg/s), when its failure shows it. */
  took: number | null;
  /** MegaLog: what it committed over the step and its drain (msg/s), when it caught up. */
  throughput: number | null;
  /** MegaLog: CPU µs each thread spent per committed message over the step. */
  cpuUs: Record<string, number> | null;
}

/** Build udpsend.c when a C compiler is there; null → the Node sender sends UDP too. */
function buildUdpSender(dir: string): string | null {
  const src = join(ROOT, 'test', 'bench', 'udpsend.c');
  const out = join(dir, 'udpsend');
  try {
    execFileSync('cc', ['-O2', '-o', out, src], { stdio: 'ignore' });
    return out;
  } catch {
    return null;
  }
}

class Sender {
  private readonly proc: ChildProcess;
  private readonly lines: string[] = [];
  private waiter: ((l: string) => void) | null = null;
  bytesPerLine = 250;
  readonly poolFile: string;
  readonly udpBin: string | null;

  constructor(private readonly dir: string) {
    this.poolFile = join(dir, 'pool.txt');
    this.udpBin = buildUdpSender(dir);
    this.proc = track(process.execPath, [join(import.meta.dirname, 'sender.js')], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, BENCH_POOL_FILE: this.poolFile } });
    createInterface({ input: this.proc.stdout! }).on('line', (l) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(l);
      } else this.lines.push(l);
    });
  }

  private next(timeoutMs: number): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('sender did not answer')), timeoutMs);
      this.waiter = (x) => {
        clearTimeout(t);
        resolve(x);
      };
    });
  }

  async ready(): Promise<void> {
    const r = JSON.parse(await this.next(120_000)) as { pool: number; bytes: number };
    this.bytesPerLine = r.bytes / r.pool;
  }

  /** Ends the run in progress (its result says stopped). */
  stop: () => void = () => {};

  async run(c: Omit<RunCommand, 'cmd'>): Promise<RunResult> {
    if (c.proto === 'udp' && this.udpBin) {
      const p = track(this.udpBin, [String(c.port), String(c.rate), String(c.seconds), this.poolFile], { stdio: ['ignore', 'pipe', 'inherit'] });
      this.stop = () => void p.kill('SIGTERM');
      let out = '';
      p.stdout!.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((r) => p.on('exit', r));
      if (code !== 0) throw new Error(`udpsend exited ${code}`);
      return JSON.parse(out) as RunResult;
    }
    this.stop = () => void this.proc.stdin!.write(JSON.stringify({ cmd: 'stop' }) + '\n');
    this.proc.stdin!.write(JSON.stringify({ cmd: 'run', ...c }) + '\n');
    const r = JSON.parse(await this.next(c.seconds * 1000 + 60_000)) as RunResult & { error?: string };
    if (r.error) throw new Error(`sender: ${r.error}`);
    return r;
  }

  close(): Promise<void> {
    this.proc.stdin!.end(JSON.stringify({ cmd: 'exit' }) + '\n');
    return stop(this.proc, 5000);
  }
}

export async function freePorts(): Promise<{ udp: number; tcp: number }> {
  // One port number free for both UDP and TCP, so each system's two inputs look alike.
  for (let i = 0; i < 20; i++) {
    const tcp = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const ok = await new Promise<boolean>((resolve) => {
      const u = createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(tcp, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (ok) return { udp: tcp, tcp };
  }
  throw new Error('no free port');
}

/**
 * `megalog processor` from the checkout, like test/helpers/daemon.ts startDaemon but tracked for the
 * bench's cleanup, keeping only the tail of a stderr that a long overload can fill.
 */
async function startProcessor(dir: string, extra: Record<string, string>): Promise<Daemon> {
  const proc = track(process.execPath, [BIN, 'processor'], { env: testEnv(dir, extra), stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (c) => (err = (err + c).slice(-20_000)));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const ready = await new Promise<{ ports: { udp: number[]; tcp: number[] } }>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`processor did not start:\n${err}`)), 30_000);
    proc.stdout!.on('data', (c) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      if (line) {
        clearTimeout(t);
        resolve(JSON.parse(line));
      }
    });
    void exited.then((code) => reject(new Error(`processor exited ${code}:\n${err}`)));
  });
  return { proc, dir, udpPort: ready.ports.udp[0]!, tcpPort: ready.ports.tcp[0]!, tlsPort: null, radiusPort: null, webPort: null, ipfixPort: null, stderr: () => err, exited };
}

class Skip extends Error {}

function megalogSystem(d: Daemon): System {
  const path = join(d.dir, 'hot', 'status.json');
  let last: Counters = { received: 0, committed: 0, backlog: 0 };
  return {
    name: 'megalog',
    udpPort: d.udpPort,
    tcpPort: d.tcpPort,
    refreshMs: 1000, // status.json
    counters() {
      try {
        const s = (JSON.parse(readFileSync(path, 'utf8')) as { stats: Record<string, number> }).stats;
        last = {
          received: (s.received_udp ?? 0) + (s.received_tcp ?? 0),
          committed: s.lines_committed ?? 0,
          backlog: Math.max(0, (s.spool_end ?? 0) - (s.committed_pos ?? 0)),
          cpu: Object.fromEntries(THREADS.map((t) => [t, s[`cpu_seconds_${t}`] ?? 0])),
        };
      } catch {
        /* being renamed: keep the last reading */
      }
      return last;
    },
  };
}

function rsyslogSystem(r: Rsyslog): System {
  const c = new LineCounter(r.out);
  return { name: 'rsyslog', udpPort: r.udpPort, tcpPort: r.tcpPort, refreshMs: 0, counters: () => {
      const n = c.count();
      return { received: n, committed: n, backlog: 0 };
    },
  };
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 3) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den ? num / den : 0;
}

/** Wait until the previous step is fully written (no backlog, counter still), at most 120 s. */
async function settle(sys: System): Promise<void> {
  if (sys.settled) {
    await sleep(250); // step() saw it all committed and nothing more coming in
    return;
  }
  const end = Date.now() + 120_000;
  let last = -1;
  let still = 0;
  while (Date.now() < end) {
    const c = sys.counters();
    still = c.committed === last && c.backlog === 0 ? still + 1 : 0;
    if (still >= 5) return;
    last = c.committed;
    await sleep(250);
  }
  info(`  ${sys.name}: still busy after 120 s, going on`);
}

async function step(sys: System, sender: Sender, proto: 'udp' | 'tcp', rate: number, seconds: number): Promise<StepResult> {
  const tStep = Date.now();
  await settle(sys);
  sys.settled = false;
  const c0 = sys.counters();
  const before = c0.committed;
  const beforeRx = c0.received;
  const samples: { t: number; b: number }[] = [];
  const t0 = Date.now();
  const offeredBytes = rate * sender.bytesPerLine;
  const drainLimit = DRAIN_MS + seconds * 100;
  // A long MegaLog step is stopped as soon as it is doomed: its backlog already takes more than the
  // drain allowance at the offered rate (1.5× for spool framing and a fast catch-up) and still grows.
  let doomed = '';
  const sampler = setInterval(() => {
    const now = { t: (Date.now() - t0) / 1000, b: sys.counters().backlog };
    samples.push(now);
    if (doomed || sys.name !== 'megalog' || seconds < 20) return;
    const recent = samples.filter((x) => x.t >= now.t - 10);
    if (now.t < 10 || now.b < (1.5 * offeredBytes * drainLimit) / 1000) return;
    if (slope(recent.map((x) => x.t), recent.map((x) => x.b)) <= 0.25 * offeredBytes) return;
    doomed = `backlog: ${Math.round(now.b / 2 ** 20)} MiB and growing after ${Math.round(now.t)} s, stopped`;
    sender.stop();
  }, 500);
  let r: RunResult;
  try {
    r = await sender.run({ proto, port: proto === 'udp' ? sys.udpPort : sys.tcpPort, rate, seconds, stopOnBlock: true });
  } finally {
    clearInterval(sampler);
  }
  // Let it finish: until all that came in is committed and nothing more comes in (for 2 s when the
  // counters refresh at 1 Hz, 1 s when they are live), at most 60 s. Loss = sent − received (kernel
  // or spool drops); a slow commit is a backlog.
  const stopped = Date.now();
  let caughtUpMs = -1;
  let c = sys.counters();
  let stable = 0;
  const stableReadings = sys.refreshMs ? 8 : 4;
  while (Date.now() - stopped < 60_000) {
    if (c.committed - before >= r.sent) {
      sys.settled = c.backlog === 0;
      break;
    }
    if (c.committed >= c.received && c.backlog === 0 && ++stable >= stableReadings) {
      sys.settled = true;
      break;
    }
    await sleep(250);
    const n = sys.counters();
    if (n.received !== c.received) stable = 0;
    c = n;
  }
  const committed = c.committed - before;
  const received = c.received - beforeRx;
  if (committed >= received) caughtUpMs = Math.max(0, Date.now() - stopped - (stable ? stable * 250 : 0));
  const loss = r.sent ? Math.max(0, r.sent - Math.min(received, committed)) / r.sent : 0;
  const late = samples.filter((s) => s.t >= seconds * 0.5);
  const backlogSlope = slope(late.map((s) => s.t), late.map((s) => s.b));
  // Commits come in batches of up to batch_max_lines (a sawtooth of tens of MB in the backlog), so
  // the slope only flags a clear climb; the drain time after the step is the real test.
  const growing = sys.name === 'megalog' && seconds >= 20 && backlogSlope > 0.25 * offeredBytes;
  const slowDrain = sys.name === 'megalog' && (caughtUpMs < 0 || caughtUpMs > drainLimit);
  const senderLimited = r.behind > r.sent * SENDER_SHORT_MAX && r.blocked_ms === 0;
  let why = '';
  if (proto === 'udp' && loss >= UDP_LOSS_MAX) why = `loss ${(loss * 100).toFixed(3)} %`;
  if (proto === 'tcp' && r.blocked_ms > 0) why = `sender blocked ${r.blocked_ms} ms${r.stopped ? `, stopped after ${r.seconds.toFixed(1)} s` : ''}`;
  if (proto === 'tcp' && !why && committed < r.sent) why = `${r.sent - committed} not committed`;
  if (!why && doomed) why = doomed;
  if (!why && slowDrain) why = `backlog: took ${(caughtUpMs / 1000).toFixed(1)} s to commit after the step`;
  if (!why && growing) why = `backlog growing ${Math.round(backlogSlope / 1024)} KiB/s`;
  if (!why && senderLimited) why = `sender could only offer ${Math.round(r.sent / r.seconds)}/s`;
  const pass = !why;
  // What a failed step shows the system took: UDP what arrived; TCP what a blocked sender got
  // through; MegaLog's slow drain what it committed over the step and the drain past the allowance.
  let took: number | null = null;
  if (why.startsWith('loss')) took = Math.min(received, committed) / r.seconds;
  else if (why.startsWith('sender blocked')) took = r.sent / r.seconds;
  else if (why.startsWith('backlog') && caughtUpMs >= 0) took = committed / (r.seconds + Math.max(0, caughtUpMs - DRAIN_MS) / 1000);
  // What it committed a second over the step and its drain, less the drain any step has: a line waits
  // up to half a second for its batch under a fast stream (commit/committer.ts GATHER_MS), then its
  // commit. A 2 s probe would otherwise read that latency as a lack of capacity.
  const throughput = sys.name === 'megalog' && caughtUpMs >= 0 && committed > 0 ? committed / (r.seconds + Math.max(0, caughtUpMs - COMMIT_LATENCY_MS) / 1000) : null;
  info(`  ${sys.name} ${proto} ${rate}/s × ${seconds}s: sent ${r.sent}, committed ${committed}, loss ${(loss * 100).toFixed(3)} %, blocked ${r.blocked_ms} ms, caught up ${caughtUpMs < 0 ? 'never' : `${(caughtUpMs / 1000).toFixed(1)} s`} after, backlog slope ${Math.round(backlogSlope / 1024)} KiB/s${throughput ? `, committed ${Math.round(throughput / 1000)} k/s with its drain` : ''} → ${pass ? 'held' : why} (${((Date.now() - tStep) / 1000).toFixed(1)} s)`);
  // CPU µs a committed message cost each thread over the step and its drain (status.json lags up to 1 s).
  const cpuUs = c.cpu && c0.cpu && committed > 0 ? Object.fromEntries(Object.entries(c.cpu).map(([t, v]) => [t, ((v - (c0.cpu![t] ?? 0)) * 1e6) / committed])) : null;
  return { rate, seconds, sent: r.sent, achieved: r.sent / r.seconds, committed, loss, behind: r.behind, blockedMs: r.blocked_ms, backlogSlope, pass, why, senderLimited, took, throughput, cpuUs };
}

/**
 * Step the rate up from startRate (doubling; halving instead, down to a quarter of it, while the
 * first rates fail), bisect up to `bisections` times while the bracket is wider than a quarter of
 * the good rate (the hold's own step down), then confirm the best for `holdSec`. MegaLog's spool
 * absorbs a 2 s probe far above what it commits, so its hold starts at most at the best rate a probe
 * committed, drain included (a failed 30 s hold costs ~40 s of the run's budget); after a hold that
 * passed, up to two more try higher (both systems alike).
 */
async function ladder(sys: System, sender: Sender, proto: 'udp' | 'tcp', o: IngestOptions): Promise<{ held: number; limitedBySender: boolean; fail: string; cpuUs?: Record<string, number> | null }> {
  let good = 0;
  let bad = 0;
  let fail = '';
  let limitedBySender = false;
  let committedRate = 0;
  const probe = async (rate: number) => {
    const r = await step(sys, sender, proto, rate, o.probeSec);
    committedRate = Math.max(committedRate, r.throughput ?? 0);
    return r;
  };
  for (let rate = o.startRate; rate <= o.maxRate && rate >= o.startRate / 4; rate = good ? rate * 2 : rate / 2) {
    let r = await probe(rate);
    // The sender shares 2 cores with the receiver: one starved step is retried before it counts.
    if (r.senderLimited) r = await probe(rate);
    if (r.pass) good = rate;
    else {
      // A sender that could not offer the rate bounds the search at what it did offer.
      bad = r.senderLimited ? Math.floor(r.achieved / 1000) * 1000 : rate;
      fail = r.why;
      limitedBySender = r.senderLimited;
      if (good) break;
    }
    if (good && bad) break;
    // MegaLog committed less than half of what it was offered: the hold starts from what it committed,
    // so probing higher (or bisecting) would only spend the run's budget.
    if (good && committedRate && committedRate < rate / 2) {
      fail ||= `a ${rate} msg/s probe was committed at ${Math.round(committedRate / 1000)} k msg/s, drain included`;
      break;
    }
  }
  for (let i = 0; i < o.bisections && bad && good && bad - good > Math.max(10_000, good / 4) && !(committedRate && committedRate < good); i++) {
    const mid = Math.round((good + bad) / 2 / 1000) * 1000;
    const r = await probe(mid);
    if (r.pass) good = mid;
    else {
      bad = mid;
      fail = r.why;
      limitedBySender = r.senderLimited;
    }
  }
  // Confirm for the full hold time; on failure come down, at most four times: to 90 % of what the failed
  // hold showed the system took (80 % after a UDP loss: an overloaded receiver takes more than it
  // can without loss), kept between 50 and 90 % of the rate tried; else by a quarter. Short probes
  // pass at rates a long hold does not, and each failed hold costs up to holdSec and its drain.
  const bestProbe = good;
  if (committedRate > 0 && good > committedRate) good = Math.floor(committedRate / 1000) * 1000;
  let held = 0;
  let heldCpu: Record<string, number> | null = null;
  /** The lowest rate a hold failed at. */
  let failedHold = 0;
  for (let i = 0; i < 5 && good > 0; i++) {
    const r = await step(sys, sender, proto, good, o.holdSec);
    if (r.pass) {
      held = good;
      heldCpu = r.cpuUs;
      break;
    }
    failedHold = good;
    fail = r.why;
    const next = r.took != null ? Math.min(0.9 * good, Math.max(0.5 * good, (r.why.startsWith('loss') ? 0.8 : 0.9) * r.took)) : 0.75 * good;
    good = Math.floor(next / 1000) * 1000;
  }
  // Up again, at most twice: the hold may have started below what the system holds (a 2 s probe's
  // drain is read to ~1 s from status.json, and each step down takes 10 % off). Halfway to the
  // lowest failed hold, else to the best probe that passed; a second time only after a pass.
  for (let i = 0; i < 2 && held > 0; i++) {
    const top = failedHold || bestProbe;
    if (top - held < Math.max(10_000, held / 8)) break;
    const rate = failedHold ? Math.round((held + failedHold) / 2 / 1000) * 1000 : top;
    const r = await step(sys, sender, proto, rate, o.holdSec);
    if (!r.pass) {
      fail = r.why;
      break;
    }
    held = rate;
    heldCpu = r.cpuUs;
  }
  return { held, limitedBySender, fail, cpuUs: heldCpu };
}

export async function benchIngest(o: IngestOptions): Promise<void> {
  const work = tempDir('megalog-bench-sender-');
  onCleanup(() => rmSync(work, { recursive: true, force: true }));
  const sender = new Sender(work);
  await sender.ready();
  info(`ingest: UDP sender ${sender.udpBin ? 'udpsend.c (sendmmsg)' : 'Node dgram (no C compiler: may limit the rates measured)'}, TCP sender Node net, ${Math.round(sender.bytesPerLine)} B/line`);
  const held: Record<string, Record<string, number>> = { rsyslog: {}, megalog: {} };
  const holdNote = o.quick ? `quick: held ${o.holdSec} s, not 30 s` : `held ${o.holdSec} s`;
  try {
    if (o.rsyslogBin && o.systems.has('rsyslog')) {
      const dir = tempDir('megalog-bench-rsyslog-');
      onCleanup(() => rmSync(dir, { recursive: true, force: true }));
      const ports = await freePorts();
      const r = await startRsyslog(o.rsyslogBin, dir, ports.udp, ports.tcp, o.rcvbuf);
      try {
        const sys = rsyslogSystem(r);
        for (const proto of ['udp', 'tcp'] as const) {
          info(`ingest: rsyslog ${r.version}, ${proto}`);
          const h = await ladder(sys, sender, proto, o);
          held.rsyslog![proto] = h.held;
          figure({ case: 'ingest', name: `rsyslog ${proto} held rate`, value: h.held, unit: 'msg/s', note: `${holdNote}; limit: ${h.fail || 'ladder top'}${h.limitedBySender ? ' (sender-limited: a lower bound)' : ''}` });
        }
      } finally {
        await stopRsyslog(r);
        rmSync(dir, { recursive: true, force: true });
      }
    } else {
      info('ingest: rsyslog not run, peer figures skipped');
    }
    const dir = tempDir('megalog-bench-processor-');
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    let d: Daemon | null = null;
    try {
      if (!o.systems.has('megalog')) throw new Skip();
      d = await startProcessor(dir, { MEGALOG_UDP_RECV_BUFFER_BYTES: String(o.rcvbuf) });
      const sys = megalogSystem(d);
      for (const proto of ['udp', 'tcp'] as const) {
        info(`ingest: megalog processor, ${proto}`);
        const h = await ladder(sys, sender, proto, o);
        held.megalog![proto] = h.held;
        figure({ case: 'ingest', name: `megalog ${proto} held rate`, value: h.held, unit: 'msg/s', note: `committed with indexes and evidence; ${holdNote}; limit: ${h.fail || 'ladder top'}${h.limitedBySender ? ' (sender-limited: a lower bound)' : ''}` });
        // Where the time goes at the held rate: what limits it, by thread (the committer near 1e6 / rate µs is the limit).
        if (h.cpuUs) {
          const total = Object.values(h.cpuUs).reduce((a, b) => a + b, 0);
          figure({ case: 'ingest', name: `megalog ${proto} CPU per message at the held rate`, value: total, unit: 'µs', note: Object.entries(h.cpuUs).map(([t, v]) => `${t} ${v.toFixed(1)}`).join(', ') + ` µs; a thread's budget at ${h.held}/s is ${(1e6 / h.held).toFixed(1)} µs` });
        }
      }
    } catch (err) {
      if (!(err instanceof Skip)) throw err;
    } finally {
      if (d) await stopDaemon(d);
      rmSync(dir, { recursive: true, force: true });
    }
    for (const proto of ['udp', 'tcp'] as const) {
      const m = held.megalog![proto];
      const r = held.rsyslog![proto];
      if (m == null || !r) continue;
      figure({ case: 'ingest', name: `ratio megalog/rsyslog ${proto}`, value: m / r, unit: '×', goal: '≥ 1.0', met: m / r >= 1 });
    }
  } finally {
    await sender.close();
    rmSync(work, { recursive: true, force: true });
  }
}
