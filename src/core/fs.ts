// File-system helpers shared by every stage that keeps state files: the spool, the tailer's offset,
// the committer's checkpoint, the seal manifest.
import { chmodSync, closeSync, existsSync, fsyncSync, openSync, statfsSync } from 'node:fs';

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
