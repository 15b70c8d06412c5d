// The line codec thread (thread.ts): one LineWriter a day file, each block of lines encoded as it
// comes and answered in order; an error is answered too, and the day file then opens its writer again.
import { workerData, type MessagePort } from 'node:worker_threads';
import { nameThread } from '../../core/threads.js';
import { REC_FIELDS, type BlockMessage, type FromLineWorker, type ToLineWorker } from './thread.js';
import type { LineRecord } from './types.js';
import { LineWriter } from './writer.js';

const { port, done } = workerData as { port: MessagePort; done: SharedArrayBuffer };
const counter = new Int32Array(done);
const writers = new Map<string, LineWriter>();
/** The record a line is encoded against, reused (the writer keeps nothing of it). */
const rec: LineRecord = { t: 0, nat_ip: null, nat_port: null, port_end: null, src_ip: null, src_port: null, dst_ip: null, dst_port: null, code: 0 };

nameThread('lines');

function reply(m: FromLineWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
}

const ipOf = (v: number, v6: Uint8Array): number | Uint8Array | null => (v >= 0 ? v : v === -1 ? null : v6.subarray((-2 - v) * 16, (-1 - v) * 16));
const orNull = (v: number): number | null => (v === v ? v : null);

function encode(w: LineWriter, m: BlockMessage): FromLineWorker {
  const bytes = Buffer.from(m.bytes);
  const r = m.recs;
  let start = 0;
  for (let i = 0; i < m.n; i++) {
    const payload = bytes.subarray(start, m.ends[i]);
    start = m.ends[i]!;
    const device = m.devices[m.dev[i]!]!;
    if (m.has[i] === 0) {
      w.add(payload, device, null);
      continue;
    }
    const o = i * REC_FIELDS;
    rec.t = r[o]!;
    rec.nat_ip = ipOf(r[o + 1]!, m.v6);
    rec.nat_port = orNull(r[o + 2]!);
    rec.port_end = orNull(r[o + 3]!);
    rec.src_ip = ipOf(r[o + 4]!, m.v6);
    rec.src_port = orNull(r[o + 5]!);
    rec.dst_ip = ipOf(r[o + 6]!, m.v6);
    rec.dst_port = orNull(r[o + 7]!);
    rec.code = r[o + 8]!;
    w.add(payload, device, rec);
  }
  const block = w.finishBlock();
  const learned = w.takeNew();
  return { block, shapes: learned.shapes, words: learned.words };
}

port.on('message', (m: ToLineWorker) => {
  if (m.type === 'open') {
    const shapes = m.shapes.map((s) => Buffer.from(s.buffer, s.byteOffset, s.byteLength));
    const words = m.words.map((s) => Buffer.from(s.buffer, s.byteOffset, s.byteLength));
    try {
      writers.set(m.key, new LineWriter({ shapes, words }, { timeBase: m.timeBase }));
    } catch {
      writers.delete(m.key); // its blocks are answered with the error below
    }
  } else if (m.type === 'drop') writers.delete(m.key);
  else {
    const w = writers.get(m.key);
    if (!w) return reply({ error: `no writer open for ${m.key}` });
    let out: FromLineWorker;
    try {
      out = encode(w, m);
    } catch (err) {
      writers.delete(m.key); // ahead of the file now: the day file opens it again
      out = { error: (err as Error).message };
    }
    reply(out);
  }
});
