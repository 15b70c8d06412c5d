// File-system helpers shared by every stage that keeps state files: the spool, the tailer's offset,
// the committer's checkpoint, the seal manifest.
import { closeSync, fsyncSync, openSync, statfsSync } from 'node:fs';

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
