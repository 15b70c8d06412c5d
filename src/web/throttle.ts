// Per-address login throttling, in memory: at most MAX_FAILURES failed logins per address (IPv6 by /64)
// in a WINDOW_MS window, whatever user names were tried. Bounded: the oldest addresses are forgotten
// first when MAX_TRACKED is reached. Restarting the web process forgets it; the per-account lockout
// (users.db) does not.
import { addressKey } from './middleware/proxy.js';

export const ADDRESS_MAX_FAILURES = 20;
export const ADDRESS_WINDOW_MS = 15 * 60_000;
const MAX_TRACKED = 10_000;

interface Entry {
  start: number;
  failures: number;
  reported: boolean;
}

export class AddressThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxFailures = ADDRESS_MAX_FAILURES,
    private readonly windowMs = ADDRESS_WINDOW_MS,
  ) {}

  private entry(ip: string, now: number): Entry {
    const key = addressKey(ip);
    let e = this.entries.get(key);
    if (!e || now - e.start >= this.windowMs) {
      e = { start: now, failures: 0, reported: false };
      this.entries.delete(key);
      this.entries.set(key, e);
      if (this.entries.size > MAX_TRACKED) this.entries.delete(this.entries.keys().next().value!);
    }
    return e;
  }

  /** True when this address has used up its failures; `firstTime` is true once per window (audit it once). */
  blocked(ip: string, now = Date.now()): { blocked: boolean; firstTime: boolean } {
    const e = this.entry(ip, now);
    if (e.failures < this.maxFailures) return { blocked: false, firstTime: false };
    const firstTime = !e.reported;
    e.reported = true;
    return { blocked: true, firstTime };
  }

  fail(ip: string, now = Date.now()): void {
    this.entry(ip, now).failures++;
  }
}
