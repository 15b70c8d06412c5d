// TCP (RFC 6587) and TLS (RFC 5425) syslog listeners. Both use the same per-connection Framer.
// Limits: tcp_max_connections, tcp_max_connections_per_source, tcp_idle_timeout_sec, tcp_max_frame_bytes.
// Connections held open and idle cost a sender nothing, so the listener must not be one pool that
// anyone can fill: each sender address (IPv6: its /64) gets at most maxPerSource, and the last
// reservedForDevices places go only to the configured devices. A refused connection is closed at
// accept and counted with the limit that refused it.
// Backpressure: while the sink is paused (spool behind), every socket stops reading, so senders block
// in their own buffers instead of MegaLog buffering without bound.
import { createServer as createNetServer, isIPv6, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, createSecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { addressKey, mappedIPv4, parseIP } from '../parse/ip.js';
import type { ConnectionRefusal } from '../core/counters.js';
import { Framer } from './framing.js';
import type { Sink, Source } from './sink.js';

export interface StreamOptions {
  host: string;
  port: number;
  maxFrame: number;
  maxConnections: number;
  /** Most connections from one sender address (IPv6: one /64). */
  maxPerSource: number;
  /** Places out of maxConnections that only `devices` may take. */
  reservedForDevices: number;
  /** Configured device addresses, canonical (canonicalAddress). */
  devices: ReadonlySet<string>;
  idleTimeoutSec: number;
  /** TLS only: PEM files (re-read by reload()). */
  tls?: { cert: string; key: string; ca: string };
}

export class StreamSource implements Source {
  readonly name: string;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** Open connections by addressKey of the sender. */
  private readonly perSource = new Map<string, number>();
  private readonly transport: 'tcp' | 'tls';

  constructor(private readonly opts: StreamOptions, private readonly sink: Sink) {
    this.transport = opts.tls ? 'tls' : 'tcp';
    this.name = `${this.transport}://${isIPv6(opts.host) ? `[${opts.host}]` : opts.host}:${opts.port}`;
    sink.onResume(() => {
      for (const s of this.sockets) s.resume();
    });
  }

  get connections(): number {
    return this.sockets.size;
  }

  get boundPort(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : this.opts.port;
  }

  start(): Promise<void> {
    const onConn = (sock: Socket) => this.onConnection(sock);
    const server = this.opts.tls
      ? createTlsServer({ ...this.secureOptions(), handshakeTimeout: 10_000 }, onConn)
      : createNetServer(onConn);
    server.on('error', () => {
      /* accept errors (EMFILE…) must not crash the daemon */
    });
    if (this.opts.tls) server.on('tlsClientError', () => this.sink.discard('framing_error', 0));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.opts.host, port: this.opts.port, backlog: 511 }, () => {
        server.off('error', reject);
        this.server = server;
        resolve();
      });
    });
  }

  /** Re-read the certificate and key (SIGHUP); new connections use them, open ones keep theirs. */
  reload(): void {
    if (this.opts.tls && this.server) (this.server as ReturnType<typeof createTlsServer>).setSecureContext(this.secureOptions());
  }

  private secureOptions(): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
    const t = this.opts.tls!;
    const o: SecureContextOptions = { cert: readFileSync(t.cert), key: readFileSync(t.key), minVersion: 'TLSv1.2' };
    if (t.ca) o.ca = readFileSync(t.ca);
    // validate now so a bad file fails the reload, not the next handshake
    createSecureContext(o);
    return { ...o, requestCert: !!t.ca, rejectUnauthorized: !!t.ca };
  }

  /** Which limit, if any, refuses a new connection from `origin`. */
  private refusal(origin: string, key: string): ConnectionRefusal | null {
    const o = this.opts;
    if ((this.perSource.get(key) ?? 0) >= o.maxPerSource) return 'per_source';
    if (this.sockets.size >= o.maxConnections) return 'max_connections';
    if (this.sockets.size >= o.maxConnections - o.reservedForDevices && !o.devices.has(origin)) return 'reserved_for_devices';
    return null;
  }

  private onConnection(sock: Socket): void {
    const origin = canonicalAddress(sock.remoteAddress ?? 'unknown');
    const key = addressKey(origin);
    const refused = this.refusal(origin, key);
    if (refused) {
      this.sink.refuseConnection(refused);
      sock.destroy();
      return;
    }
    this.sockets.add(sock);
    this.perSource.set(key, (this.perSource.get(key) ?? 0) + 1);
    const transport = this.transport;
    const sink = this.sink;
    const framer = new Framer(this.opts.maxFrame, {
      frame: (msg, truncated) => sink.accept(transport, origin, msg, truncated),
      discard: (reason, bytes) => sink.discard(reason, bytes),
    });
    if (this.opts.idleTimeoutSec > 0) {
      sock.setTimeout(this.opts.idleTimeoutSec * 1000, () => sock.destroy());
    }
    sock.on('data', (chunk: Buffer) => {
      framer.push(chunk);
      if (sink.paused) sock.pause();
    });
    sock.on('end', () => {
      framer.end();
      sock.end();
    });
    sock.on('error', () => {
      /* reset by peer and friends: the close handler cleans up */
    });
    sock.on('close', () => {
      if (!this.sockets.delete(sock)) return; // stop() already forgot it
      const n = (this.perSource.get(key) ?? 1) - 1;
      if (n > 0) this.perSource.set(key, n);
      else this.perSource.delete(key);
    });
    if (sink.paused) sock.pause();
    if (transport === 'tls') (sock as TLSSocket).setNoDelay?.(true);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
      this.perSource.clear();
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server = null;
    });
  }

  describe(): string {
    const o = this.opts;
    const reserve = o.reservedForDevices ? `, ${o.reservedForDevices} kept for configured devices` : '';
    return `${this.name} (max frame ${o.maxFrame} bytes, max ${o.maxConnections} connections, ${o.maxPerSource} per sender${reserve})`;
  }
}

/** A sender's address as devices are keyed: IPv4-mapped as IPv4, IPv6 in RFC 5952 form. */
export function canonicalAddress(addr: string): string {
  return mappedIPv4(addr) ?? parseIP(addr) ?? addr;
}
