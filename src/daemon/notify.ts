// systemd readiness and watchdog (sd_notify). Node has no AF_UNIX datagram sockets, so we use the
// `sd-notify` binding maintained in the systemd organisation, which calls libsystemd's own
// sd_notify(3). It is an optional dependency: without it (or outside systemd, no NOTIFY_SOCKET)
// every call here is a no-op and the daemon runs the same.
import { createRequire } from 'node:module';

interface SdNotify {
  ready(): void;
  stopping(pid?: number): void;
  watchdog(): void;
  watchdogInterval(): number;
  sendStatus(text: string): void;
}

let sd: SdNotify | null | undefined;

function binding(): SdNotify | null {
  if (sd !== undefined) return sd;
  sd = null;
  if (!process.env.NOTIFY_SOCKET) return sd;
  try {
    sd = createRequire(import.meta.url)('sd-notify') as SdNotify;
  } catch {
    process.stderr.write('WARN: NOTIFY_SOCKET is set but the sd-notify binding is not installed: no readiness or watchdog notifications\n');
  }
  return sd;
}

let watchdogTimer: NodeJS.Timeout | null = null;

/** READY=1, then WATCHDOG=1 at half the interval systemd asked for (WatchdogSec=), while `alive()` holds. */
export function notifyReady(alive: () => boolean = () => true): void {
  const s = binding();
  if (!s) return;
  s.ready();
  const usec = Number(process.env.WATCHDOG_USEC ?? 0);
  if (usec > 0) {
    watchdogTimer = setInterval(() => {
      if (alive()) s.watchdog();
    }, Math.max(500, usec / 2000));
    watchdogTimer.unref();
  }
}

export function notifyStatus(text: string): void {
  binding()?.sendStatus(text);
}

export function notifyStopping(): void {
  if (watchdogTimer) clearInterval(watchdogTimer);
  binding()?.stopping(process.pid);
}
