// Per-address login throttling, in memory: at most MAX_FAILURES password (or TOTP) checks that did not
// succeed per address (IPv6 by /64) in a WINDOW_MS window, whatever user names were tried. Bounded: the
// oldest addresses are forgotten first when MAX_TRACKED is reached. Restarting the web process forgets
// it; the per-account lockout (users.db) does not.
//
// A check takes its slot before it starts (take), and gives it back only when it succeeded or never
// ran (release): counting after a slow password hash would let a burst of parallel tries all pass the
// limit before the first one failed.
import { addressKey } from '../parse/ip.js';

export const ADDRESS_MAX_FAILURES = 20;
export const ADDRESS_WINDOW_MS = 15 * 60_000;
const MAX_TRACKED = 10_000;

interface Entry {
  start: number;
  /** Failed checks plus checks still running. */
  used: number;
  reported: boolean;
}

/** One check's claim on its address's budget. */
export interface AttemptSlot {
  /** The check succeeded or did not run: it does not count. Idempotent. */
  release(): void;
}

export type TakeResult = { slot: AttemptSlot; blocked: false } | { slot: null; blocked: true; firstTime: boolean };

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
      e = { start: now, used: 0, reported: false };
      this.entries.delete(key);
      this.entries.set(key, e);
      if (this.entries.size > MAX_TRACKED) this.entries.delete(this.entries.keys().next().value!);
    }
    return e;
  }

  /**
   * Claim one check for this address, or learn that it has used up its window (`firstTime` is true
   * once per window: audit it once). Synchronous, so parallel requests cannot all pass.
   */
  take(ip: string, now = Date.now()): TakeResult {
    const e = this.entry(ip, now);
    if (e.used >= this.maxFailures) {
      const firstTime = !e.reported;
      e.reported = true;
      return { slot: null, blocked: true, firstTime };
    }
    e.used++;
    let held = true;
    return {
      blocked: false,
      slot: {
        release: () => {
          // A window that rolled over meanwhile is a new entry: this one is no longer counted anyway.
          if (held) e.used--;
          held = false;
        },
      },
    };
  }
}
