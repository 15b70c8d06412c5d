// Messages between the processor's main thread and its two worker threads (receiver, committer):
// one union per direction and thread, so a message no one sends or no one handles does not compile.
// Counters travel separately, through the shared Stats buffer (core/counters.ts).
import type { MessagePort } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import type { DeviceSeen } from './counters.js';
import type { LogLevel } from './log.js';

/** Ports actually bound, per transport (0 in the config asks the kernel for one). */
export interface Ports {
  udp: number[];
  tcp: number[];
  tls: number[];
  radius: number[];
}

/** An import job as the dashboard shows it (sources/import-jobs.ts). */
export interface ImportProgress {
  id: string;
  file: string;
  /** Size of the file. */
  bytes: number;
  /** Lines spooled so far. */
  lines: number;
  /** Bytes of the file read so far. */
  read_bytes: number;
  done: boolean;
  error?: string;
}

/** workerData of the committer thread; `handoff` is the thread's end of the receiver → committer channel. */
export interface CommitterData {
  config: Config;
  statsBuffer: SharedArrayBuffer;
  handoff: MessagePort;
  /** Also apply retention and seal the days that are over (the processor's committer; not an import's). */
  housekeeping?: boolean;
}

/** workerData of the receiver thread: it resumes the spool at `floor`, the committer's highest committed position. */
export interface ReceiverData extends CommitterData {
  floor: number;
}

export interface LogMessage {
  type: 'log';
  level: LogLevel;
  msg: string;
}

/** The thread could not start (bad certificate, port taken, unreadable store): the process exits. */
export interface FatalMessage {
  type: 'fatal';
  msg: string;
  code: string | null;
}

/** Main thread → either worker. */
export type ToWorker = { type: 'stop' } | { type: 'reload' };

/** Committer → main thread. */
export type FromCommitter = LogMessage | FatalMessage | { type: 'floor'; floor: number } | { type: 'stopped' };

/** Receiver → main thread. */
export type FromReceiver =
  | LogMessage
  | FatalMessage
  | { type: 'ready'; ports: Ports }
  | { type: 'devices'; devices: DeviceSeen[] }
  | { type: 'imports'; jobs: ImportProgress[] }
  | { type: 'stopped' };

export type FromWorker = FromCommitter | FromReceiver;

/**
 * Receiver → committer, on their own channel (spool/handoff.ts): a batch of spooled messages, parsed
 * and packed in one transferred buffer; spool records as written from position `start`, for the
 * committer to parse (import-job lines; every line while the receiver is busy); or a mark: what the committer has not got in memory below
 * `end` is in the spool.
 */
export type ToCommitter = { type: 'batch'; buffer: ArrayBuffer } | { type: 'spooled'; start: number; buffer: ArrayBuffer } | { type: 'mark'; end: number };
