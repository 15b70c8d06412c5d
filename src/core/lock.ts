// One writer per directory: the processor, `import` and `restore` each hold the hot directory they
// spool in and the cold directory they commit into, so two of them never share a spool, and never
// commit, seal or prune the same day files from two spools (the second one's records would be lost).
//
// The lock is flock(2) (our addon, core/native.ts) on `<dir>/megalog.pid`, through a descriptor kept
// open for the life of the process. The kernel drops it when the process ends, however it ends
// (SIGKILL, OOM kill, power cut), so a file left behind never blocks a start and a recycled PID means
// nothing. The PID and role written into the file are for humans and the refusal message only. The
// file is never deleted: unlinking a lock file lets one process lock the old inode while another
// creates and locks a new one.
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, readFileSync, realpathSync, writeSync } from 'node:fs';
import { constants as os } from 'node:os';
import { join } from 'node:path';
import { StartError } from './errors.js';
import { nativeAddon } from './native.js';

export const LOCK_FILE = 'megalog.pid';

/** Held directories, released together. */
export interface DirLock {
  /** Clear the PID and close the descriptors (the kernel drops the locks); idempotent. */
  release(): void;
}

/**
 * Lock each directory (created when missing) for `what`, all or none: a directory named twice (the
 * hot and cold directories are one) is locked once. Throws StartError MEGALOG_ERR_LOCKED naming the
 * holder when another process holds one.
 */
export function acquireLock(dirs: Record<string, string>, what: string): DirLock {
  const fds: number[] = [];
  const release = () => {
    for (const fd of fds.splice(0)) {
      try {
        ftruncateSync(fd, 0);
      } catch {
        /* a full or read-only disk: the stale PID is harmless */
      }
      closeSync(fd);
    }
  };
  const seen = new Set<string>();
  try {
    for (const [role, dir] of Object.entries(dirs)) {
      mkdirSync(dir, { recursive: true });
      const real = realpathSync(dir);
      if (seen.has(real)) continue;
      seen.add(real);
      fds.push(lockOne(dir, role, what));
    }
  } catch (err) {
    release();
    throw err;
  }
  return { release };
}

function lockOne(dir: string, role: string, what: string): number {
  const path = join(dir, LOCK_FILE);
  let lock;
  try {
    lock = nativeAddon('the directory lock').lock;
  } catch (err) {
    throw new StartError('MEGALOG_ERR_START', (err as Error).message);
  }
  // No O_TRUNC: the holder's PID stays readable until we hold the lock ourselves.
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  const errno = lock(fd);
  if (errno === 0) {
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid} ${what}\n`, 0);
    return fd;
  }
  closeSync(fd);
  if (errno !== os.errno.EWOULDBLOCK) throw new StartError('MEGALOG_ERR_START', `cannot lock ${path}: errno ${errno}`);
  const [pid, owner] = holder(path);
  throw new StartError('MEGALOG_ERR_LOCKED', `${role} directory ${dir} is in use by ${owner ?? 'another megalog'}${pid ? ` (pid ${pid})` : ''}; stop it first`);
}

/** The PID and role the holder wrote, when it has written them yet. */
function holder(path: string): [string | undefined, string | undefined] {
  try {
    const [pid, owner] = readFileSync(path, 'utf8').trim().split(' ');
    return [pid || undefined, owner];
  } catch {
    return [undefined, undefined];
  }
}
