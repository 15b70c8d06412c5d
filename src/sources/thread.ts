// Receiver thread entry: sources + spool writer. Talks to the main thread by messages only, and hands
// what it spooled to the committer thread on their own channel.
import { parentPort, workerData } from 'node:worker_threads';
import { Stats } from '../core/counters.js';
import type { LogLevel } from '../core/log.js';
import type { FromReceiver, ReceiverData, ToWorker } from '../core/messages.js';
import { Receiver } from './receiver.js';
import { nameThread } from '../core/threads.js';

const { config, statsBuffer, floor, handoff } = workerData as ReceiverData;
const send = (m: FromReceiver) => parentPort!.postMessage(m);
const stats = new Stats(statsBuffer);
const log = (level: LogLevel, msg: string) => send({ type: 'log', level, msg });

nameThread('receiver');
let receiver: Receiver;
try {
  receiver = new Receiver(config, stats, floor, log, handoff);
  await receiver.start();
  send({ type: 'ready', ports: receiver.ports() });
} catch (err) {
  send({ type: 'fatal', msg: (err as Error).message, code: (err as NodeJS.ErrnoException).code ?? null });
  process.exit(1);
}

const devices = setInterval(() => {
  send({ type: 'devices', devices: receiver.deviceSnapshot() });
  send({ type: 'imports', jobs: receiver.importProgress() });
}, 1000);

parentPort!.on('message', async (m: ToWorker) => {
  if (m.type === 'reload') receiver.reload();
  else if (m.type === 'stop') {
    clearInterval(devices);
    await receiver.stop();
    send({ type: 'devices', devices: receiver.deviceSnapshot() });
    send({ type: 'stopped' });
    parentPort!.close();
  }
});
