// systemd readiness and watchdog (sd_notify(3)). Node has no AF_UNIX datagram sockets, so the one
// datagram per notification goes through our own addon, native/notify.c, which `npm ci` builds into
// build/Release/notify.node (no libsystemd). Outside systemd (no NOTIFY_SOCKET) every call is a no-op;
// under systemd a missing addon is an error at start, not a unit that never becomes ready.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface NotifyAddon {
  /** One datagram to the socket (a path, or `@name` in the abstract namespace): 0, or the errno. */
  send(socketPath: string, message: string): number;
}

/** The package root: the first folder above this file with a package.json (src/ under vitest, dist/src/ compiled, /usr/lib/megalog packaged). */
function packageRoot(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${import.meta.dirname}`);
  }
}

let socketPath: string | null | undefined;
let addon: NotifyAddon | null = null;

/** NOTIFY_SOCKET and the addon, loaded on first use; null outside systemd. */
function target(): string | null {
  if (socketPath !== undefined) return socketPath;
  socketPath = process.env.NOTIFY_SOCKET || null;
  if (socketPath) {
    const file = join(packageRoot(), 'build', 'Release', 'notify.node');
    try {
      addon = createRequire(import.meta.url)(file) as NotifyAddon;
    } catch (err) {
      throw new Error(`NOTIFY_SOCKET is set but the sd_notify addon ${file} cannot be loaded (build it with npm ci): ${(err as Error).message}`);
    }
  }
  return socketPath;
}

let warned = false;

function send(message: string): void {
  const path = target();
  if (!path) return;
  const errno = addon!.send(path, message);
  if (errno !== 0 && !warned) {
    warned = true; // the watchdog retries every tick: say it once
    process.stderr.write(`WARN: sd_notify to ${path} failed (errno ${errno}): ${message.replace(/\n/g, ' ')}\n`);
  }
}

let watchdogTimer: NodeJS.Timeout | null = null;

/** READY=1, then WATCHDOG=1 at half the interval systemd asked for (WatchdogSec=), while `alive()` holds. */
export function notifyReady(alive: () => boolean = () => true): void {
  if (!target()) return;
  send('READY=1');
  // sd_watchdog_enabled(3): the watchdog is ours unless WATCHDOG_PID names another process.
  const usec = Number(process.env.WATCHDOG_USEC ?? 0);
  const pid = process.env.WATCHDOG_PID;
  if (usec > 0 && (!pid || Number(pid) === process.pid)) {
    watchdogTimer = setInterval(() => {
      if (alive()) send('WATCHDOG=1');
    }, Math.max(500, usec / 2000));
    watchdogTimer.unref();
  }
}

/** STOPPING=1, and no more watchdog pings: systemd then waits TimeoutStopSec= for the exit. */
export function notifyStopping(): void {
  if (watchdogTimer) clearInterval(watchdogTimer);
  send('STOPPING=1');
}
