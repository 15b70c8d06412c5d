// Syslog stream framing (RFC 6587), decided per frame:
// - a leading digit: octet counting, `MSG-LEN SP MSG` (§3.4.1; RFC 5425 TLS always uses it);
// - anything else: non-transparent framing, the frame ends at LF (§3.4.2);
// - MikroTik's undelimited TCP stream (no LF at all): a frame also ends just before a `<PRI>` that
//   starts the next header. This split is used only while a connection has shown no LF, so a
//   LF-framed sender's message text can never be cut at an embedded "<13>".
// Frames longer than `maxFrame` keep their first maxFrame bytes (flagged truncated) and the rest is
// counted. Trailing CR, LF and NUL are stripped from every frame.

export interface FrameEvents {
  frame(msg: Buffer, truncated: boolean): void;
  /** Bytes that could not belong to any frame (bad octet count…) or were cut from oversized frames. */
  discard(reason: 'framing_error' | 'oversize_tail', bytes: number): void;
}

const LF = 0x0a;
const SP = 0x20;
const LT = 0x3c;
const GT = 0x3e;

export class Framer {
  private pending: Buffer = Buffer.alloc(0);
  /** Octet-counted frame being skipped past maxFrame: bytes still to discard. */
  private skip = 0;
  /** Discarding the rest of an oversized LF frame up to its LF. */
  private skipToLf = false;
  private sawLf = false;

  constructor(private readonly maxFrame: number, private readonly ev: FrameEvents) {}

  push(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - at);
        this.skip -= n;
        at += n;
        this.ev.discard('oversize_tail', n);
        if (this.skip > 0) break;
      }
      if (this.skipToLf) {
        const lf = buf.indexOf(LF, at);
        const end = lf < 0 ? buf.length : lf + 1;
        this.ev.discard('oversize_tail', end - at);
        at = end;
        if (lf < 0) break;
        this.skipToLf = false;
      }
      if (at >= buf.length) break;
      const c = buf[at]!;
      if (c === LF || c === 0x0d || c === 0 || c === SP) {
        at++; // stray separators between frames
        continue;
      }
      if (c >= 0x30 && c <= 0x39) {
        const r = this.octetFrame(buf, at);
        if (r === -1) break; // need more bytes
        if (r >= 0) {
          at = r;
          continue;
        }
        // not octet counting after all: fall through to LF framing
      }
      const r = this.lfFrame(buf, at);
      if (r === -1) break;
      at = r;
    }
    this.pending = at >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
  }

  /** Connection closed: whatever is pending is the last frame. */
  end(): void {
    if (this.pending.length && !this.skip && !this.skipToLf) this.emit(this.pending, 0, this.pending.length);
    this.pending = Buffer.alloc(0);
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Returns the next offset, -1 when more bytes are needed, -2 when this is not an octet count. */
  private octetFrame(buf: Buffer, at: number): number {
    let i = at;
    let len = 0;
    while (i < buf.length && i - at < 10) {
      const d = buf[i]!;
      if (d < 0x30 || d > 0x39) break;
      len = len * 10 + (d - 0x30);
      i++;
    }
    if (i >= buf.length) return i - at < 10 ? -1 : -2;
    if (buf[i] !== SP || len === 0) {
      // Digits not followed by SP: a PRI-less LF-framed line that starts with a digit, or a lying count.
      return -2;
    }
    const start = i + 1;
    if (len > this.maxFrame) {
      const have = Math.min(buf.length - start, this.maxFrame);
      if (have < this.maxFrame) return -1;
      this.emitTruncated(buf, start, start + this.maxFrame);
      const rest = len - this.maxFrame;
      const avail = buf.length - (start + this.maxFrame);
      const n = Math.min(rest, avail);
      this.ev.discard('oversize_tail', n);
      this.skip = rest - n;
      return start + this.maxFrame + n;
    }
    if (buf.length - start < len) return -1;
    this.emit(buf, start, start + len);
    return start + len;
  }

  /** LF-terminated (or, for undelimited senders, next-<PRI>-terminated) frame. */
  private lfFrame(buf: Buffer, at: number): number {
    const lf = buf.indexOf(LF, at);
    const limit = lf < 0 ? buf.length : lf;
    if (lf >= 0) this.sawLf = true;
    if (!this.sawLf) {
      const next = nextPri(buf, at + 1, Math.min(limit, at + this.maxFrame + 1));
      if (next > 0) {
        this.emit(buf, at, next);
        return next;
      }
    }
    if (lf < 0) {
      if (buf.length - at > this.maxFrame) {
        this.emitTruncated(buf, at, at + this.maxFrame);
        this.skipToLf = true;
        return at + this.maxFrame;
      }
      return -1;
    }
    if (lf - at > this.maxFrame) {
      this.emitTruncated(buf, at, at + this.maxFrame);
      this.ev.discard('oversize_tail', lf + 1 - (at + this.maxFrame));
      return lf + 1;
    }
    this.emit(buf, at, lf);
    return lf + 1;
  }

  private emit(buf: Buffer, start: number, end: number): void {
    end = trimEnd(buf, start, end);
    if (end > start) this.ev.frame(buf.subarray(start, end), false);
  }

  private emitTruncated(buf: Buffer, start: number, end: number): void {
    this.ev.frame(buf.subarray(start, end), true);
  }
}

/** Position of the next `<N>` / `<NN>` / `<NNN>` (PRI ≤ 191) in [from, to), or -1. */
function nextPri(buf: Buffer, from: number, to: number): number {
  let i = buf.indexOf(LT, from);
  while (i >= 0 && i < to) {
    let j = i + 1;
    let v = 0;
    while (j < buf.length && j - i <= 3 && buf[j]! >= 0x30 && buf[j]! <= 0x39) v = v * 10 + (buf[j++]! - 0x30);
    if (j > i + 1 && j - i <= 4 && buf[j] === GT && v <= 191) return i;
    i = buf.indexOf(LT, i + 1);
  }
  return -1;
}

/** Strip trailing CR, LF and NUL (UDP senders and LF framing leave them). */
export function trimEnd(buf: Buffer, start: number, end: number): number {
  while (end > start) {
    const c = buf[end - 1]!;
    if (c === LF || c === 0x0d || c === 0) end--;
    else break;
  }
  return end;
}
