// Bulk worker thread entry: one court order's list answered off the console's event loop (answer.ts),
// with this thread's own read-only day readers. One thread per bulk search; it sends one message
// (messages.ts) and exits. Its heap is capped by the console (jobs.ts), so a search that outgrows
// it ends this thread, not the process that receives the logs.
import { parentPort, workerData } from 'node:worker_threads';
import { parseBulk } from '../routes/bulk-parse.js';
import { answerBulk } from './answer.js';
import { SLOT, type BulkWorkerData, type BulkWorkerMessage } from './messages.js';

const data = workerData as BulkWorkerData;
const slots = new Int32Array(data.slots);
const post = (m: BulkWorkerMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);

try {
  const { list, windowSec, proto } = data.task;
  const parsed = parseBulk(list); // (checked whole by the console already: a refusal here is a bug)
  if (!parsed.ok) throw new Error(`bulk list refused in the worker: ${parsed.en}`);
  const answer = answerBulk({ items: parsed.requests, windowSec, proto }, data.cfg, {
    cancelled: () => Atomics.load(slots, SLOT.CANCEL) !== 0,
    progress: (n) => Atomics.store(slots, SLOT.DONE, n),
  });
  if (answer) post({ type: 'done', answer }, [answer.rawKeys.buffer as ArrayBuffer]);
  else post({ type: 'cancelled' });
} catch (err) {
  post({ type: 'failed', error: String((err as Error)?.stack ?? err) });
}
