// File-system helpers shared by every stage that keeps state files: the spool, the tailer's offset,
// the committer's checkpoint, the seal manifest, the keys kept beside users.db.
import { chmodSync, close, closeSync, existsSync, fsync, fsyncSync, linkSync, open, openSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** fsync a directory so that a rename or create inside it survives a power cut. */
export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* some filesystems refuse directory fsync; the rename is still atomic */
  }
}

/** fsyncDir in the thread pool, then `done` (errors ignored, as fsyncDir ignores them). */
export function fsyncDirAsync(dir: string, done: () => void): void {
  open(dir, 'r', (err, fd) => {
    if (err) return done();
    fsync(fd, () => close(fd, () => done()));
  });
}

/** Size and free space of the file system holding `dir`, or null when it cannot be read. */
export function diskOf(dir: string): { total_bytes: number; free_bytes: number } | null {
  try {
    const s = statfsSync(dir);
    return { total_bytes: s.blocks * s.bsize, free_bytes: s.bavail * s.bsize };
  } catch {
    return null;
  }
}

/**
 * File modes of MegaLog's data, whatever the umask: evidence and users are for the service user and
 * its group (the web unit, backup operators), never for others.
 */
export const MODE = {
  /** A day file being written; a backup's copy of a day file. */
  data: 0o640,
  /** A sealed day file (and its backup copy): read-only evidence. */
  sealed: 0o440,
  /** users.db and its copies: password hashes, sessions, audit. */
  secret: 0o600,
} as const;

/** Create `path` empty with `mode` when absent (SQLite then gives its -wal/-shm the same mode), and set `mode`. */
export function ensureMode(path: string, mode: number): void {
  if (!existsSync(path)) closeSync(openSync(path, 'a', mode));
  chmodSync(path, mode);
}

/**
 * Create `path` holding `text` unless it exists: write a temp file, fsync, hard-link it into place,
 * fsync the folder. A crash never leaves a half file, and of two processes creating it at once one
 * wins and the other gets false (and reads the winner's file), where a rename would replace it.
 */
export function createFileOnce(path: string, text: string, mode: number): boolean {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    unlinkSync(tmp);
  }
  fsyncDir(dirname(path));
  return true;
}
