// ClickHouse's HTTP interface, called synchronously. The store and the query engine are synchronous
// (a commit is one call, a walk a loop of reads), so each request is made by a helper thread with
// node:http/https and the caller waits for its answer on a shared flag (Atomics.wait), like a
// better-sqlite3 statement waits for the disk. Callers are threads that may block: the committer
// thread, the console's request handler (as with SQLite), the bulk worker; never a socket reader.
//
// - The password travels only in the Authorization header (Basic), never in a URL, a log line or an
//   error message; errors name the server by origin (scheme, host, port).
// - An answer is held in memory up to `maxBytes`; a larger one is cut off and the request fails
//   (MEGALOG_ERR_CLICKHOUSE_TOO_BIG), so no query can make this process buffer without bound.
// - Keep-alive sockets may be closed by the server between requests (EPIPE/ECONNRESET): a request
//   that failed before any byte of its answer came is retried once on a fresh socket by the caller
//   (ChClient), which alone knows whether the statement is safe to repeat.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

export interface ChRequest {
  /** Origin and path, e.g. https://db.example:8443/ (no credentials). */
  url: string;
  /** URL query parameters (query=…, settings, param_*). */
  params: Record<string, string>;
  body: Buffer | null;
  /** `Basic …`, or '' for none. */
  auth: string;
  /** PEM CA bundle for https (else the system's). */
  ca: string;
  timeoutMs: number;
  maxBytes: number;
}

export interface ChResponse {
  status: number;
  body: Buffer;
  /** A network error (code and message), when no HTTP answer came. */
  error?: { code: string; message: string };
}

// The helper thread's code. Plain JavaScript (eval worker, CommonJS): it must run the same from the
// TypeScript sources under the test runner and from dist/.
const WORKER_JS = String.raw`
const { workerData } = require('node:worker_threads');
const http = require('node:http');
const https = require('node:https');
const { port, flag } = workerData;
const agents = new Map();
function agentFor(u, ca) {
  const key = u.protocol + (ca ? '|' + ca.length : '');
  let a = agents.get(key);
  if (!a) {
    a = u.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: 4, ca: ca || undefined }) : new http.Agent({ keepAlive: true, maxSockets: 4 });
    agents.set(key, a);
  }
  return a;
}
function done(res) {
  port.postMessage(res);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}
port.on('message', (req) => {
  let u;
  try {
    u = new URL(req.url);
    for (const [k, v] of Object.entries(req.params)) u.searchParams.set(k, v);
  } catch (e) {
    return done({ status: 0, body: Buffer.alloc(0), error: { code: 'EINVAL', message: 'bad URL' } });
  }
  const mod = u.protocol === 'https:' ? https : http;
  const headers = { 'content-type': 'application/octet-stream' };
  if (req.auth) headers.authorization = req.auth;
  if (req.body) headers['content-length'] = String(req.body.length);
  let finished = false;
  const finish = (res) => { if (!finished) { finished = true; done(res); } };
  const r = mod.request(u, { method: 'POST', headers, agent: agentFor(u, req.ca), timeout: req.timeoutMs }, (res) => {
    const chunks = [];
    let n = 0;
    res.on('data', (c) => {
      n += c.length;
      if (n > req.maxBytes) {
        res.destroy();
        finish({ status: res.statusCode, body: Buffer.alloc(0), error: { code: 'TOO_BIG', message: 'answer larger than ' + req.maxBytes + ' bytes' } });
        return;
      }
      chunks.push(c);
    });
    res.on('end', () => finish({ status: res.statusCode, body: Buffer.concat(chunks) }));
    res.on('error', (e) => finish({ status: 0, body: Buffer.alloc(0), error: { code: e.code || 'ERR', message: String(e.message) } }));
  });
  r.on('timeout', () => r.destroy(Object.assign(new Error('timed out after ' + req.timeoutMs + ' ms'), { code: 'ETIMEDOUT' })));
  r.on('error', (e) => finish({ status: 0, body: Buffer.alloc(0), error: { code: e.code || 'ERR', message: String(e.message) } }));
  r.end(req.body || undefined);
});
`;

let bridge: { worker: Worker; port: MessagePort; flag: Int32Array } | null = null;

function getBridge(): NonNullable<typeof bridge> {
  if (!bridge) {
    const { port1, port2 } = new MessageChannel();
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(WORKER_JS, { eval: true, workerData: { port: port2, flag }, transferList: [port2] });
    worker.unref();
    port1.unref();
    worker.on('error', () => {
      bridge = null; // a new helper on the next request
    });
    bridge = { worker, port: port1, flag };
  }
  return bridge;
}

/** One HTTP request, waited for synchronously (see the header). */
export function requestSync(req: ChRequest): ChResponse {
  const b = getBridge();
  Atomics.store(b.flag, 0, 0);
  b.port.postMessage(req);
  const waited = Atomics.wait(b.flag, 0, 0, req.timeoutMs + 5000);
  const m = receiveMessageOnPort(b.port);
  if (waited === 'timed-out' || !m) {
    // The helper is stuck: drop it, so a late answer is never taken for the next request's.
    void b.worker.terminate();
    bridge = null;
    return { status: 0, body: Buffer.alloc(0), error: { code: 'ETIMEDOUT', message: `no answer in ${req.timeoutMs} ms` } };
  }
  const res = m.message as ChResponse;
  return { ...res, body: Buffer.from(res.body.buffer, res.body.byteOffset, res.body.byteLength) };
}
