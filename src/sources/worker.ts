// Receiver thread entry: sources + spool writer. Talks to the main thread by messages only.
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config/index.js';
import { Stats } from '../stats.js';
import { Receiver } from './index.js';

const { config, statsBuffer, floor } = workerData as { config: Config; statsBuffer: SharedArrayBuffer; floor: number };
const stats = new Stats(statsBuffer);
const log = (level: string, msg: string) => parentPort!.postMessage({ type: 'log', level, msg });

let receiver: Receiver;
try {
  receiver = new Receiver(config, stats, floor, log);
  await receiver.start();
  parentPort!.postMessage({ type: 'ready', ports: receiver.ports(), recovery: receiver.writer.recovery });
} catch (err) {
  parentPort!.postMessage({ type: 'fatal', msg: (err as Error).message, code: (err as NodeJS.ErrnoException).code ?? null });
  process.exit(1);
}

const devices = setInterval(() => parentPort!.postMessage({ type: 'devices', devices: receiver.deviceSnapshot() }), 1000);

parentPort!.on('message', async (m: { type: string }) => {
  if (m.type === 'reload') receiver.reload();
  else if (m.type === 'flush') {
    receiver.flush();
    parentPort!.postMessage({ type: 'flushed' });
  } else if (m.type === 'stop') {
    clearInterval(devices);
    await receiver.stop();
    parentPort!.postMessage({ type: 'devices', devices: receiver.deviceSnapshot() });
    parentPort!.postMessage({ type: 'stopped' });
    parentPort!.close();
  }
});
