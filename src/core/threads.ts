// CPU time of the processor's threads, read from /proc/self/task: each worker names itself
// (`ml-receiver`, `ml-committer`, the line codec's `ml-lines`; the addon's UDP readers are `ml-udp`),
// the main thread is the task whose id is the process id. Published once a second
// (megalog_thread_cpu_seconds_total), so a dashboard, and the ingest bench, can say which stage is
// busy and how many µs a message costs it.
import { readdirSync, readFileSync } from 'node:fs';
import { THREADS, type ThreadRole } from './counters.js';
import { nativeAddon } from './native.js';

const ROLE_OF: Record<string, ThreadRole> = { 'ml-receiver': 'receiver', 'ml-committer': 'committer', 'ml-lines': 'lines', 'ml-udp': 'udp' };
/** Clock ticks a second (_SC_CLK_TCK): 100 on Linux on every architecture we ship for. */
const TICKS = 100;

/** Name the calling worker thread for threadCpuSeconds (a no-op where the addon cannot). */
export function nameThread(role: Exclude<ThreadRole, 'main'>): void {
  try {
    nativeAddon('thread names').threadName(`ml-${role}`);
  } catch {
    /* without the addon the thread is counted under main */
  }
}

/** CPU seconds (user + system) each role's threads have used, threads that ended excluded. */
export function threadCpuSeconds(): Record<ThreadRole, number> {
  const out = Object.fromEntries(THREADS.map((t) => [t, 0])) as Record<ThreadRole, number>;
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tasks) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
    } catch {
      continue; // the thread ended meanwhile
    }
    // pid (comm) state …: comm may hold spaces and parentheses, the fields after the last ')' do not.
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(open + 1, close);
    const f = stat.slice(close + 2).split(' ');
    const secs = (Number(f[11]) + Number(f[12])) / TICKS; // utime, stime: fields 14 and 15
    const role = Number(tid) === process.pid ? 'main' : ROLE_OF[comm];
    if (role && Number.isFinite(secs)) out[role] += secs;
  }
  return out;
}
