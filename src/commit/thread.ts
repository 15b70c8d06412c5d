// Committer thread entry: the receiver's parsed handoffs (or the spool on recovery) → SQLite, off the
// thread that reads sockets.
import { parentPort, workerData } from 'node:worker_threads';
import { Stats } from '../core/counters.js';
import type { LogLevel } from '../core/log.js';
import type { CommitterData, FromCommitter, ToWorker } from '../core/messages.js';
import { Committer } from './committer.js';
import { nameThread } from '../core/threads.js';

const { config, statsBuffer, handoff, housekeeping = true } = workerData as CommitterData;
const send = (m: FromCommitter) => parentPort!.postMessage(m);
const stats = new Stats(statsBuffer);
const log = (level: LogLevel, msg: string) => send({ type: 'log', level, msg });

nameThread('committer');
let committer: Committer;
try {
  committer = new Committer(config, stats, log, handoff);
  send({ type: 'floor', floor: committer.floor() });
} catch (err) {
  send({ type: 'fatal', msg: (err as Error).message, code: (err as NodeJS.ErrnoException).code ?? null });
  process.exit(1);
}

let stopping = false;
let timer: NodeJS.Timeout | null = null;
/**
 * Retention's first pass comes an hour after start, not at once: a mistyped log_retention_days is
 * then seen in the log (the days it would delete are listed now) before anything is deleted.
 */
const RETENTION_EVERY_MS = 3600_000;
let lastRetention = Date.now();
if (housekeeping) {
  try {
    const due = committer.store.applyRetention(config.log_retention_days, Date.now(), true);
    if (due.length) log('warn', `retention: ${due.length} day files are older than ${config.log_retention_days} days and will be deleted in an hour (${due[0]} … ${due[due.length - 1]}); a <day>.db.hold file (megalog hold add) keeps a day`);
  } catch (err) {
    log('error', `retention preview: ${(err as Error).message}`);
  }
}
let lastSealPass = 0;
let sealing = false;
/** How often the sealer looks for a day due (cheap: a directory listing and the manifest in memory). */
const SEAL_PASS_MS = 5000;

/** Seal at most one day at a time; its hash streams in the thread pool while this loop keeps committing. */
function sealPass(now: number): void {
  const sealer = committer.sealer;
  if (!sealer || sealing || now - lastSealPass < SEAL_PASS_MS) return;
  lastSealPass = now;
  const day = sealer.due(now, committer.caughtUpTo(now), committer.daysInFlight());
  if (!day) return;
  sealing = true;
  void sealer.seal(day).finally(() => {
    sealing = false;
    lastSealPass = 0; // look for the next due day at once (start-up with many days over)
  });
}

function loop(): void {
  timer = null;
  if (stopping) return;
  let busy = false;
  try {
    busy = committer.step();
    const now = Date.now();
    if (housekeeping && now - lastRetention > RETENTION_EVERY_MS) {
      lastRetention = now;
      const removed = committer.store.applyRetention(config.log_retention_days, now);
      if (removed.length) {
        committer.sealer?.removed(removed);
        log('info', `retention: deleted day files ${removed.join(', ')}`);
      }
    }
    if (housekeeping) sealPass(now);
  } catch (err) {
    // Never let one bad batch kill the thread: report, back off, try again.
    log('error', `committer: ${(err as Error).stack ?? err}`);
    stats.add('commit_errors', 1);
  }
  timer = setTimeout(loop, busy ? 0 : 20);
}
loop();

parentPort!.on('message', (m: ToWorker) => {
  if (m.type === 'stop') {
    stopping = true;
    if (timer) clearTimeout(timer);
    try {
      committer.drain();
    } catch (err) {
      log('error', `committer drain: ${(err as Error).message}`);
    }
    committer.close();
    send({ type: 'stopped' });
    parentPort!.close();
  }
});
