// The bulk worker's channel (jobs.ts ⇄ worker.ts), all of it: what a worker is started with, the one
// message it sends back, and the shared slots through which the console cancels it and reads its
// progress (the worker's loop is synchronous: it cannot take a message until it is done).
import type { PackedBulk } from './answer.js';
import type { StoreReadConfig } from '../../store/index.js';

/** A bulk search as the console hands it over: the list as text, already checked whole (checkBulk), read line by line by the worker. */
export interface BulkTask {
  list: string;
  windowSec: number;
  proto: string | null;
}

export interface BulkWorkerData {
  /** Day files are read from here, in this zone (the worker opens its own read-only readers). */
  cfg: StoreReadConfig & { timezone: string; radius_session_lookback_days?: number };
  task: BulkTask;
  /** Int32Array slots, indexed by SLOT. */
  slots: SharedArrayBuffer;
}

export const SLOT = {
  /** Set to 1 by the console: stop before the next line. */
  CANCEL: 0,
  /** Lines answered so far, stored by the worker after each. */
  DONE: 1,
} as const;
export const SLOT_COUNT = 2;

/** The worker's one message before it exits. */
export type BulkWorkerMessage =
  | { type: 'done'; answer: PackedBulk }
  | { type: 'cancelled' }
  /** An unexpected error (a bug, or a damaged store the engine did not turn into a line error). */
  | { type: 'failed'; error: string };
