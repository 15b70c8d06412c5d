// Every process the bench starts is registered here and stopped on exit, error or Ctrl-C, by its own
// pid only. System settings the bench changes (rmem_max) register their restore step here too.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const children = new Set<ChildProcess>();
const undo: (() => void)[] = [];
let cleaned = false;

export function track(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const p = spawn(cmd, args, opts);
  children.add(p);
  p.on('exit', () => children.delete(p));
  return p;
}

/** Register a child started elsewhere (test/helpers/daemon.ts). */
export function adopt(p: ChildProcess): void {
  if (p.exitCode !== null || p.signalCode !== null) return;
  children.add(p);
  p.on('exit', () => children.delete(p));
}

export function onCleanup(fn: () => void): void {
  undo.push(fn);
}

/** Stop one child: SIGTERM, then SIGKILL after `graceMs`. */
export function stop(p: ChildProcess, graceMs = 15_000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

/** Synchronous last-resort cleanup (process exit): kill what is left, undo settings. */
export function cleanupSync(): void {
  if (cleaned) return;
  cleaned = true;
  for (const p of children) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const fn of undo.reverse()) {
    try {
      fn();
    } catch {
      /* best effort */
    }
  }
}

export function installHandlers(): void {
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping everything it started\n`);
      cleanupSync();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: ${err.stack ?? err}\n`);
    cleanupSync();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`bench: ${(err as Error)?.stack ?? err}\n`);
    cleanupSync();
    process.exit(1);
  });
}
