// The receiver's side of the handoff (spool/handoff.ts): parse what a flush just wrote to the spool,
// pack it and transfer it to the committer, unless the committer holds `handoff_max_bytes` already;
// then the committer reads those positions back from the spool instead.
//
// Reading the sockets comes first: lines go over unparsed (as spooled; the committer parses them)
// while this thread is behind: a live line spooled more than PARSE_LAG_MAX_MS after it was received
// (a burst, a slow fsync, a CPU shared with other work) has waited in the sockets' queues, and parsing
// here could make the kernel drop datagrams. Import-job lines, which wait for nobody, go over
// unparsed while the last live line was late. Otherwise this thread parses everything: the committer
// is the busier of the two.
import type { MessagePort } from 'node:worker_threads';
import type { Config } from '../config/load.js';
import { fault } from '../config/fault.js';
import { Stats } from '../core/counters.js';
import type { ToCommitter } from '../core/messages.js';
import { MessageParser } from '../parse/message.js';
import { forEachRecord } from '../spool/format.js';
import { HandoffBuilder } from '../spool/handoff.js';

const SENT = Stats.slot('handoff_sent_bytes');
const RELEASED = Stats.slot('handoff_released_bytes');
const OVERFLOW = Stats.slot('handoff_overflow_bytes');
const UNPARSED = Stats.slot('handoff_unparsed_bytes');
/** How long after it was received a line may be spooled for this thread to parse it. */
const PARSE_LAG_MAX_MS = 200;

export class HandoffSender {
  private readonly parser: MessageParser;
  private readonly builder = new HandoffBuilder();
  /** Spool position up to which the committer was told what is in memory and what is not. */
  private told = -1;
  /** The last live line handed over was spooled late (import lines then go over unparsed). */
  private behind = false;

  constructor(private readonly cfg: Config, private readonly stats: Stats, private readonly port: MessagePort) {
    this.parser = new MessageParser(cfg);
  }

  /** Whether `bytes` more can be handed over now without passing handoff_max_bytes. */
  fits(bytes: number): boolean {
    const v = this.stats.values;
    return v[SENT]! - v[RELEASED]! + bytes <= this.cfg.handoff_max_bytes;
  }

  /**
   * Hand over `written`, the bytes a flush wrote, ending at spool position `end`: runs of lines
   * parsed and packed, runs of lines as spooled while this thread is behind. One message per run, in
   * position order.
   */
  send(written: Buffer, end: number): void {
    const start = end - written.length;
    const v = this.stats.values;
    if (!this.fits(written.length)) {
      // The committer is behind: the spool absorbs the backlog, and it reads these bytes from there.
      v[OVERFLOW]! += written.length;
      return;
    }
    const parseAfter = Date.now() - PARSE_LAG_MAX_MS;
    let t0 = process.hrtime.bigint();
    let runStart = start; // spool position where the current run starts
    let runRaw = false; // the current run goes over unparsed
    let at = start; // end of the last record seen
    const endRun = () => {
      if (at === runStart) return;
      if (runRaw) {
        const buffer = new ArrayBuffer(at - runStart);
        new Uint8Array(buffer).set(written.subarray(runStart - start, at - start));
        v[SENT]! += buffer.byteLength;
        v[UNPARSED]! += buffer.byteLength;
        this.post({ type: 'spooled', start: runStart, buffer }, [buffer]);
      } else {
        const buffer = this.builder.finish(runStart, at, Number(process.hrtime.bigint() - t0) / 1e9);
        v[SENT]! += buffer.byteLength;
        this.post({ type: 'batch', buffer }, [buffer]);
      }
      runStart = at;
      t0 = process.hrtime.bigint();
    };
    forEachRecord(written, start, (recEnd, recvMs, transport, origin, payload) => {
      if (transport !== 'import') this.behind = recvMs < parseAfter;
      const raw = this.behind;
      if (raw !== runRaw) {
        endRun();
        runRaw = raw;
      }
      if (!raw) this.builder.add(recEnd, recvMs, payload, this.parser.parse(payload, recvMs, transport, origin));
      at = recEnd;
    });
    endRun();
    this.told = end;
    fault('handoff'); // tests: die with this batch between the threads
  }

  /**
   * Tell the committer that everything below `end` it has not got in memory is in the spool (at start:
   * the backlog to recover; after an overflow, when nothing is sent that would show the gap).
   */
  mark(end: number): void {
    if (end === this.told) return;
    this.post({ type: 'mark', end });
    this.told = end;
  }

  private post(m: ToCommitter, transfer: ArrayBuffer[] = []): void {
    this.port.postMessage(m, transfer);
  }
}
