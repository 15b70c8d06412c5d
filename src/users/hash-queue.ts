// The queue in front of password hashing: at most `concurrency` hashes run, at most `capacity` wait,
// and waiting is shared fairly between keys (the client's address, see addressKey).
//
//   waiting: Map key → FIFO of waiters, in service order
//     [203.0.113.5: w w w w] → [198.51.100.7: w] → [192.0.2.9: w w]
//        ^ next served; a key that still has waiters goes to the back after each turn (round robin)
//
// When the queue is full, a newcomer whose key holds fewer waiters than the busiest key takes the
// busiest key's newest place (that waiter is refused with HashBusyError); otherwise the newcomer is
// refused. So a flood from a few addresses fills only its own share, and anyone else still gets in
// and is served within one round of the keys waiting.
import { MEGALOG_ERR_HASH_BUSY } from '../core/errors.js';

/** Thrown when too many hashes are already waiting: answer "try again" rather than queue without end. */
export class HashBusyError extends Error {
  readonly code = MEGALOG_ERR_HASH_BUSY;
  constructor() {
    super('too many password checks in progress');
  }
}

interface Waiter {
  start(): void;
  refuse(err: Error): void;
}

export class FairQueue {
  private running = 0;
  private size = 0;
  private readonly waiting = new Map<string, Waiter[]>();

  constructor(
    private readonly concurrency: number,
    private readonly capacity: number,
  ) {}

  /** Waiters queued now (running ones excluded). */
  get queued(): number {
    return this.size;
  }

  /** Run `fn` when a place is free, waiting in `key`'s line; rejects with HashBusyError when refused. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency || this.size > 0) await this.enqueue(key);
    else this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.startNext();
    }
  }

  private enqueue(key: string): Promise<void> {
    const own = this.waiting.get(key)?.length ?? 0;
    if (this.size >= this.capacity && !this.evictFor(own)) return Promise.reject(new HashBusyError());
    return new Promise<void>((resolve, reject) => {
      let line = this.waiting.get(key);
      if (!line) this.waiting.set(key, (line = []));
      line.push({ start: resolve, refuse: reject });
      this.size++;
    });
  }

  /** Drop the newest waiter of the key with the most waiters, if it holds more than `own` + 1. */
  private evictFor(own: number): boolean {
    let victim: Waiter[] | null = null;
    let victimKey = '';
    // Ties go to the key served last (latest in the map), furthest from its turn.
    for (const [k, line] of this.waiting) {
      if (!victim || line.length >= victim.length) {
        victim = line;
        victimKey = k;
      }
    }
    if (!victim || victim.length <= own + 1) return false;
    victim.pop()!.refuse(new HashBusyError());
    this.size--;
    if (victim.length === 0) this.waiting.delete(victimKey);
    return true;
  }

  private startNext(): void {
    const first = this.waiting.entries().next();
    if (first.done) return;
    const [key, line] = first.value;
    const w = line.shift()!;
    this.size--;
    this.waiting.delete(key);
    if (line.length) this.waiting.set(key, line); // to the back: round robin
    this.running++;
    w.start();
  }
}
