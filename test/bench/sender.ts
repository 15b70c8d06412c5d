// Load generator, run as its own process so that sending never steals the receiver's CPU time slice
// inside one event loop. It pre-generates a pool of realistic MikroTik CGNAT lines once, then takes
// commands on stdin (one JSON object a line) and answers each on stdout:
//   {"cmd":"run","proto":"udp"|"tcp","port":N,"rate":R,"seconds":S,"stopOnBlock":bool}
//     → {"sent":N,"seconds":S,"behind":N,"blocked_ms":N,"max_queued_bytes":N,"stopped":bool}
//   {"cmd":"stop"}  end the run in progress now (its answer says stopped; behind counts up to then)
//   {"cmd":"exit"}
// UDP: paced datagrams on a connected socket. TCP: one connection, LF-framed lines written in paced
// chunks; the sender counts as *blocked* while more than BLOCKED_QUEUE_BYTES wait in user space,
// i.e. the kernel's socket buffers are full because the receiver does not read fast enough.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { writeFileSync } from 'node:fs';
import { mikrotikLine } from '../helpers/gen.js';
import { TrafficMix } from './mix.js';

const BLOCKED_QUEUE_BYTES = 4 << 20;
const TICK_MS = 2;

export interface RunCommand {
  cmd: 'run';
  proto: 'udp' | 'tcp';
  port: number;
  rate: number;
  seconds: number;
  /** TCP: end the run the first time the sender blocks (that alone fails the step). */
  stopOnBlock?: boolean;
}

export interface RunResult {
  sent: number;
  seconds: number;
  /** Messages the schedule called for that were not sent (sender too slow or blocked). */
  behind: number;
  blocked_ms: number;
  max_queued_bytes: number;
  /** Ended before `seconds` (a stop command, or stopOnBlock). */
  stopped?: boolean;
}

const POOL = Number(process.env.BENCH_POOL_LINES ?? 200_000);

/** The pool: all lines in one buffer, LF-terminated, with each line's start offset. */
function buildPool(n: number): { buf: Buffer; starts: Uint32Array; lines: Buffer[] } {
  const hosts = ['bng1', 'bng2', 'bng3', 'bng4'];
  const parts: string[] = [];
  let i = 0;
  // Times around now so that every record lands in today's day file whatever the bench's duration.
  const mix = new TrafficMix({ subscribers: 32_000, publics: 256, seed: 7 });
  const t0 = Date.now() - 60_000;
  for (; i < n; i++) parts.push(mikrotikLine(mix.next(t0 + Math.floor(i / 1000) * 1000), hosts[i % hosts.length]) + '\n');
  const buf = Buffer.from(parts.join(''));
  const starts = new Uint32Array(n + 1);
  const lines: Buffer[] = [];
  let at = 0;
  for (let k = 0; k < n; k++) {
    starts[k] = at;
    const len = Buffer.byteLength(parts[k]!);
    lines.push(buf.subarray(at, at + len - 1)); // UDP: one datagram per line, no LF
    at += len;
  }
  starts[n] = at;
  return { buf, starts, lines };
}

const pool = buildPool(POOL);
// The C sender (udpsend.c) sends the same pool.
if (process.env.BENCH_POOL_FILE) writeFileSync(process.env.BENCH_POOL_FILE, pool.buf);
let cursor = 0;
let stopNow = false;

/** Messages the schedule called for by `elapsedMs` (all of them once the run has its full length). */
const due = (c: RunCommand, elapsedMs: number, total: number) => Math.min(total, Math.floor((c.rate * elapsedMs) / 1000));

function runUdp(c: RunCommand): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const s: UdpSocket = createSocket('udp4');
    s.on('error', reject);
    s.connect(c.port, '127.0.0.1', () => {
      const t0 = performance.now();
      const total = Math.round(c.rate * c.seconds);
      let sent = 0;
      let inFlight = 0;
      const done = () => {
        const el = performance.now() - t0;
        const stopped = el < c.seconds * 1000 && sent < total;
        s.close(() => resolve({ sent, seconds: el / 1000, behind: (stopped ? due(c, el, total) : total) - sent, blocked_ms: 0, max_queued_bytes: 0, stopped }));
      };
      const onSent = () => void inFlight--;
      const tick = () => {
        const el = performance.now() - t0;
        const target = Math.min(total, Math.floor((c.rate * el) / 1000));
        // Bound one burst so the loop stays responsive; what is not sent shows up as `behind`.
        const burst = Math.min(target - sent, 20_000);
        for (let k = 0; k < burst && inFlight < 50_000; k++) {
          inFlight++;
          s.send(pool.lines[cursor]!, onSent);
          if (++cursor === pool.lines.length) cursor = 0;
          sent++;
        }
        if (stopNow || el >= c.seconds * 1000 || sent >= total) {
          const wait = () => (inFlight > 0 ? setImmediate(wait) : done());
          return wait();
        }
        setTimeout(tick, TICK_MS);
      };
      tick();
    });
  });
}

function runTcp(c: RunCommand): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect(c.port, '127.0.0.1');
    s.setNoDelay(true);
    s.on('error', reject);
    s.on('connect', () => {
      const t0 = performance.now();
      const total = Math.round(c.rate * c.seconds);
      let sent = 0;
      let blockedMs = 0;
      let maxQueued = 0;
      let last = t0;
      const tick = () => {
        const now = performance.now();
        const el = now - t0;
        const q = s.writableLength;
        maxQueued = Math.max(maxQueued, q);
        if (q > BLOCKED_QUEUE_BYTES) {
          blockedMs += now - last;
        } else {
          const target = Math.min(total, Math.floor((c.rate * el) / 1000));
          let want = Math.min(target - sent, 50_000);
          while (want > 0) {
            const n = Math.min(want, pool.lines.length - cursor);
            s.write(pool.buf.subarray(pool.starts[cursor]!, pool.starts[cursor + n]!));
            cursor = (cursor + n) % pool.lines.length;
            sent += n;
            want -= n;
          }
        }
        last = now;
        const stopped = stopNow || (!!c.stopOnBlock && blockedMs > 0);
        if (stopped || el >= c.seconds * 1000) {
          s.end(() => resolve({ sent, seconds: el / 1000, behind: (stopped ? due(c, el, total) : total) - sent, blocked_ms: Math.round(blockedMs), max_queued_bytes: maxQueued, stopped }));
          return;
        }
        setTimeout(tick, TICK_MS);
      };
      tick();
    });
  });
}

process.stdout.write(JSON.stringify({ ready: true, pool: POOL, bytes: pool.buf.length }) + '\n');
const rl = createInterface({ input: process.stdin });
rl.on('line', async (text) => {
  const c = JSON.parse(text) as RunCommand | { cmd: 'exit' } | { cmd: 'stop' };
  if (c.cmd === 'exit') process.exit(0);
  if (c.cmd === 'stop') {
    stopNow = true;
    return;
  }
  stopNow = false;
  try {
    const r = c.proto === 'udp' ? await runUdp(c) : await runTcp(c);
    process.stdout.write(JSON.stringify(r) + '\n');
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: (err as Error).message }) + '\n');
  }
});
rl.on('close', () => process.exit(0));
