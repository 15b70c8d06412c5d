// Follow a raw log file (rsyslog's hot_logs.raw) and spool each whole line.
//
// Exactly once across restarts: every spooled line carries `ino:offset` (the file offset just after
// it) as its origin, so on start the tail resumes at the last offset the spool holds; a state file
// (<hot>/tail.state, written after the spool is fsynced) covers spools already committed and deleted.
// Only whole lines are taken: a line still being written (no LF yet) waits. Rotation (a new inode at
// the path) finishes the old file first, then starts the new one at 0; truncation restarts at 0.
import { closeSync, fstatSync, openSync, readSync, statSync, writeFileSync, renameSync, readFileSync, fsyncSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncDir } from '../core/fs.js';
import type { Sink, Source } from './sink.js';

export interface TailPosition {
  ino: number;
  offset: number;
}

/** The tail's state file in the hot directory: the position after the last line it spooled. */
export const TAIL_STATE_FILE = 'tail.state';

export function readTailState(path: string): TailPosition | null {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8'));
    return Number.isSafeInteger(o.ino) && Number.isSafeInteger(o.offset) ? { ino: o.ino, offset: o.offset } : null;
  } catch {
    return null;
  }
}

/** Write temp, fsync, rename, fsync the folder: a crash leaves the old state or the new one. */
export function writeTailState(path: string, pos: TailPosition): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(pos));
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/** The tail's position when a spool fsync started, and how many times it had moved (TailSource.mark). */
export interface TailMark {
  pos: TailPosition;
  moves: number;
}

export function parseTailOrigin(origin: string | null): TailPosition | null {
  const m = origin ? /^(\d+):(\d+)$/.exec(origin) : null;
  return m ? { ino: Number(m[1]), offset: Number(m[2]) } : null;
}

export class TailSource implements Source {
  readonly name: string;
  private fd = -1;
  private ino = -1;
  private offset = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly buf: Buffer;
  /** Moves of the position (a line taken, a truncation) so far, and as of the state file last written: it is behind while they differ. */
  private moves = 0;
  private savedMoves = 0;

  constructor(
    private readonly path: string,
    private readonly statePath: string,
    private readonly pollMs: number,
    private readonly maxLine: number,
    private readonly sink: Sink,
    /** Position recovered from the spool (last tail record), if any. */
    private readonly spoolPos: TailPosition | null,
  ) {
    this.name = `tail://${path}`;
    this.buf = Buffer.allocUnsafe(Math.max(1 << 20, maxLine + 1));
  }

  async start(): Promise<void> {
    const saved = this.readState();
    const candidates = [saved, this.spoolPos].filter((p): p is TailPosition => !!p);
    this.openCurrent(candidates);
    this.timer = setInterval(() => this.poll(), this.pollMs);
    this.poll();
  }

  /** Where the tail is now, when its state file is behind (the receiver then fsyncs, then persistAt). */
  mark(): TailMark | null {
    return this.moves !== this.savedMoves && this.ino >= 0 ? { pos: { ino: this.ino, offset: this.offset }, moves: this.moves } : null;
  }

  /**
   * Record a position mark() gave, once the spool bytes behind it are on disk; never one older than
   * what is saved (by moves: after a truncation in place the newer position has the smaller offset).
   */
  persistAt(m: TailMark): void {
    if (m.moves <= this.savedMoves) return;
    writeTailState(this.statePath, m.pos);
    this.savedMoves = m.moves;
  }

  /** Called by the receiver after the spool was written (spool_fsync never), and at stop: the state file may now advance. */
  persist(): void {
    const m = this.mark();
    if (m) this.persistAt(m);
  }

  private readState(): TailPosition | null {
    return readTailState(this.statePath);
  }

  private openCurrent(known: TailPosition[]): boolean {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return false; // not there yet: poll again later
    }
    const st = fstatSync(fd);
    this.fd = fd;
    this.ino = st.ino;
    const mine = known.filter((p) => p.ino === st.ino).map((p) => p.offset);
    this.offset = mine.length ? Math.max(...mine) : 0;
    if (this.offset > st.size) this.offset = 0; // truncated while we were away
    return true;
  }

  private poll(): void {
    if (this.sink.paused) return;
    try {
      if (this.fd < 0 && !this.openCurrent([])) return;
      this.drain();
      // Rotation: the path now names another file (or none). Finish the old one first.
      let st: { ino: number; size: number } | null = null;
      try {
        st = statSync(this.path);
      } catch {
        st = null;
      }
      if (st && st.ino !== this.ino) {
        this.drain();
        closeSync(this.fd);
        this.fd = -1;
        this.openCurrent([]);
        this.drain();
      } else if (st && st.size < this.offset) {
        this.offset = 0; // truncated in place (copytruncate)
        this.moves++;
        this.drain();
      }
    } catch {
      // unreadable for now (permissions, I/O): try again next poll
    }
  }

  /** Read whole lines from the current offset to the end of the file. */
  private drain(): void {
    for (;;) {
      if (this.sink.paused) return;
      const n = readSync(this.fd, this.buf, 0, this.buf.length, this.offset);
      if (n <= 0) return;
      let at = 0;
      let any = false;
      for (;;) {
        const lf = this.buf.indexOf(0x0a, at);
        if (lf < 0 || lf >= n) break;
        this.take(at, lf, lf + 1);
        at = lf + 1;
        any = true;
      }
      if (!any && n >= this.maxLine + 1) {
        // A line longer than the limit: keep its head, skip to its end later.
        this.take(0, this.maxLine, this.maxLine, true);
        at = this.maxLine;
      } else if (!any) {
        return; // partial line: wait for its LF
      }
      if (n < this.buf.length && at >= n) return;
    }
  }

  private take(start: number, end: number, next: number, truncated = false): void {
    const fileEnd = this.offset + (next - start);
    let e = end;
    if (e > start && this.buf[e - 1] === 0x0d) e--;
    if (e > start) this.sink.accept('tail', `${this.ino}:${fileEnd}`, this.buf.subarray(start, e), truncated);
    this.offset = fileEnd;
    this.moves++;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  describe(): string {
    return `${this.name} from offset ${this.offset} (state ${join(dirname(this.statePath), 'tail.state')})`;
  }
}
