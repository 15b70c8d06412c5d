// File-system helpers shared by every stage that keeps state files: the spool, the tailer's offset,
// the committer's checkpoint, the seal manifest, the keys kept beside users.db.
import { closeSync, fsyncSync, linkSync, openSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
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
