// One writer per hot directory: the processor, `import` and `restore` refuse to run beside each other.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StartError } from './errors.js';

/** Refuse to start when another live process owns this hot directory (two writers would corrupt the spool). */
export function acquireLock(hotDir: string, what: string): void {
  mkdirSync(hotDir, { recursive: true });
  const path = join(hotDir, 'megalog.pid');
  for (let i = 0; i < 2; i++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid} ${what}\n`);
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const [pidText, owner] = readFileSync(path, 'utf8').trim().split(' ');
      const pid = Number(pidText);
      if (pid && pid !== process.pid && alive(pid)) {
        throw new StartError('MEGALOG_ERR_LOCKED', `${hotDir} is in use by ${owner ?? 'megalog'} (pid ${pid}); stop it first`);
      }
      unlinkSync(path); // stale: its owner died
    }
  }
}

export function releaseLock(hotDir: string): void {
  try {
    const path = join(hotDir, 'megalog.pid');
    if (Number(readFileSync(path, 'utf8').split(' ')[0]) === process.pid) unlinkSync(path);
  } catch {
    /* gone */
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
