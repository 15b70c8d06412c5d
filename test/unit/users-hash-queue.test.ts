// The password-hash queue: bounded, and fair between clients — a key that floods it fills only its
// own share, a newcomer takes the busiest key's newest place, and keys are served in turn.
import { describe, expect, test } from 'vitest';
import { FairQueue, HashBusyError } from '../../src/users/hash-queue.js';

/** A job that runs until released, recording the order jobs started in. */
function harness(q: FairQueue) {
  const started: string[] = [];
  const release: Array<() => void> = [];
  const submit = (key: string, label = key) =>
    q.run(key, () => {
      started.push(label);
      return new Promise<string>((r) => release.push(() => r(label)));
    });
  const finishOne = async () => {
    release.shift()!();
    await new Promise((r) => setImmediate(r));
  };
  return { started, submit, finishOne };
}

const outcome = (p: Promise<unknown>) => p.then(() => 'done', (e: unknown) => (e instanceof HashBusyError ? 'busy' : 'error'));

describe('FairQueue', () => {
  test('runs at most `concurrency` jobs and refuses beyond `capacity` waiting when one key holds them all', async () => {
    const q = new FairQueue(2, 4);
    const h = harness(q);
    const runs = Array.from({ length: 7 }, (_, i) => outcome(h.submit('a', `a${i}`)));
    await new Promise((r) => setImmediate(r));
    expect(h.started).toEqual(['a0', 'a1']);
    expect(q.queued).toBe(4);
    expect(await runs[6]).toBe('busy'); // its own key is the busiest: nothing to take
    for (let i = 0; i < 6; i++) await h.finishOne();
    expect(await Promise.all(runs.slice(0, 6))).toEqual(Array(6).fill('done'));
  });

  test('when full, a newcomer takes the place of the busiest key’s newest waiter', async () => {
    const q = new FairQueue(1, 4);
    const h = harness(q);
    const flood = Array.from({ length: 5 }, (_, i) => outcome(h.submit('attacker', `x${i}`)));
    const user = outcome(h.submit('user'));
    expect(await flood[4]).toBe('busy'); // x4 gave its place up
    for (let i = 0; i < 5; i++) await h.finishOne();
    expect(await user).toBe('done');
    expect(h.started).toEqual(['x0', 'x1', 'user', 'x2', 'x3']);
  });

  test('keys are served in turn, not in arrival order', async () => {
    const q = new FairQueue(1, 64);
    const h = harness(q);
    const all = [
      ...Array.from({ length: 6 }, (_, i) => h.submit('a', `a${i}`)),
      ...Array.from({ length: 3 }, (_, i) => h.submit('b', `b${i}`)),
      h.submit('c', 'c0'),
    ];
    for (let i = 0; i < all.length; i++) await h.finishOne();
    await Promise.all(all);
    expect(h.started).toEqual(['a0', 'a1', 'b0', 'c0', 'a2', 'b1', 'a3', 'b2', 'a4', 'a5']);
  });

  test('a failing job frees its place', async () => {
    const q = new FairQueue(1, 1);
    await expect(q.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await q.run('a', async () => 'next')).toBe('next');
  });
});
