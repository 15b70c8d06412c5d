// UDP syslog (RFC 5426): one datagram, one message. The kernel can drop datagrams before we read them
// when the receive buffer fills; we ask for `udp_recv_buffer_bytes`, report what the kernel granted,
// and read the socket's own drop counter from /proc/net/udp(6) so it shows in /metrics.
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { trimEnd } from './framing.js';
import type { Sink, Source } from './sink.js';

export class UdpSource implements Source {
  readonly name: string;
  private sock: Socket | null = null;
  private granted = 0;

  constructor(private readonly host: string, private port: number, private readonly recvBuffer: number, private readonly sink: Sink) {
    this.name = `udp://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const sock = createSocket({ type: isIPv6(this.host) ? 'udp6' : 'udp4', recvBufferSize: this.recvBuffer || undefined });
      sock.once('error', reject);
      sock.on('message', (msg, rinfo) => {
        const end = trimEnd(msg, 0, msg.length);
        if (end === 0) return this.sink.discard('empty', 1);
        this.sink.accept('udp', rinfo.address, end === msg.length ? msg : msg.subarray(0, end), false);
      });
      sock.bind(this.port, this.host, () => {
        sock.off('error', reject);
        sock.on('error', () => {
          /* ICMP errors etc. on a receive-only socket: nothing to do, never crash */
        });
        this.sock = sock;
        this.port = sock.address().port;
        try {
          this.granted = sock.getRecvBufferSize();
        } catch {
          this.granted = 0;
        }
        resolve();
      });
    });
  }

  get boundPort(): number {
    return this.port;
  }

  /** Receive buffer the kernel granted (Linux reports twice the usable size). */
  get recvBufferGranted(): number {
    return this.granted;
  }

  /** The kernel's drop counter for this socket, from /proc/net/udp or udp6; null when unreadable. */
  kernelDrops(): number | null {
    return readProcUdpDrops(isIPv6(this.host) ? '/proc/net/udp6' : '/proc/net/udp', this.port);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.sock) return resolve();
      this.sock.close(() => resolve());
      this.sock = null;
    });
  }

  describe(): string {
    const asked = this.recvBuffer;
    return `${this.name} receive buffer asked ${asked} bytes, kernel granted ${this.granted} (raise net.core.rmem_max if lower)`;
  }
}

/** Sum the `drops` column of the /proc/net/udp rows bound to `port`. */
export function readProcUdpDrops(file: string, port: number): number | null {
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    return null;
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let drops = 0;
  let found = false;
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 13) continue;
    const local = f[1]!;
    if (local.slice(local.indexOf(':') + 1) !== hexPort) continue;
    found = true;
    drops += Number(f[f.length - 1]) || 0;
  }
  return found ? drops : null;
}
