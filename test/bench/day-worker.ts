// Worker thread of day.ts's DaySource: each message asks for one more chunk of the day's lines.
import { parentPort, workerData } from 'node:worker_threads';
import { DayGen, type DaySpec } from './day.js';

const gen = new DayGen(workerData as DaySpec);
parentPort!.on('message', (n: number) => {
  const c = gen.chunk(n);
  parentPort!.postMessage(c, [c.bytes, c.ends.buffer, c.num.buffer]);
});
