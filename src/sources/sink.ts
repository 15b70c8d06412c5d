// What every source hands its messages to: the receiver, which spools them and counts them.
import type { Transport } from '../spool/format.js';
import type { ConnectionRefusal, RadiusDropReason } from '../core/counters.js';

export interface Sink {
  /**
   * Take one message. Returns false when it was refused (spool full or failing); the source counts
   * nothing itself: the sink counts every accepted, refused and dropped message with its reason.
   * `recvMs` is the time it is filed as received (default now; an import gives its file's time, the
   * anchor of year-less log times).
   */
  accept(transport: Transport, origin: string, payload: Buffer, truncated: boolean, recvMs?: number): boolean;
  /**
   * Take `records` messages already encoded as spool records (the native UDP reader's chunks), from
   * the senders `origins` (`counts[i]` messages each), `payloadBytes` of message in all. Counted and
   * refused like accept().
   */
  acceptSpooled(transport: Transport, chunk: Buffer, records: number, payloadBytes: number, origins: readonly string[], counts: readonly number[], truncated: number): boolean;
  /** What a source threw away: bytes the framer could not frame, or `empty` messages (a count). */
  discard(reason: 'framing_error' | 'oversize_tail' | 'empty', n: number): void;
  /** Count something a source saw about its input (IPFIX: malformed packets, unknown templates). */
  note(slot: 'ipfix_malformed' | 'ipfix_unknown_template_sets', n: number): void;
  /** A stream source closed a connection at accept. */
  refuseConnection(reason: ConnectionRefusal): void;
  /** True while stream sources must stop reading (backpressure). */
  readonly paused: boolean;
  /** Called when the sink can take more after a pause. */
  onResume(cb: () => void): void;
  /** RADIUS: a request dropped unanswered, by reason. */
  reject(reason: RadiusDropReason): void;
  /**
   * RADIUS: call `cb` once what was accepted so far is written to the spool and fsynced (true), or
   * lost to a failing write (false).
   */
  whenDurable(cb: (ok: boolean) => void): void;
  /** RADIUS: an Accounting-Response went out. */
  answered(): void;
}

export interface Source {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Human-readable facts for the start-up log (bound address, granted buffer…). */
  describe(): string;
}
