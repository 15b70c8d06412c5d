// systemd readiness and watchdog (sd_notify(3)). Node has no AF_UNIX datagram sockets, so the one
// datagram per notification goes through our own addon (core/native.ts, native/megalog.c; no
// libsystemd). Outside systemd (no NOTIFY_SOCKET) every call is a no-op; under systemd a missing addon
// is an error at start, not a unit that never becomes ready.
import { nativeAddon, type NativeAddon } from '../core/native.js';

let socketPath: string | null | undefined;
let addon: NativeAddon | null = null;

/** NOTIFY_SOCKET and the addon, loaded on first use; null outside systemd. */
function target(): string | null {
  if (socketPath !== undefined) return socketPath;
  socketPath = process.env.NOTIFY_SOCKET || null;
  if (socketPath) addon = nativeAddon('NOTIFY_SOCKET is set: sd_notify');
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
