// UDP syslog (RFC 5426): one datagram, one message. The socket is the addon's (native/udp-native.c):
// a thread reads it with recvmmsg(2), 64 datagrams a call, and hands this thread's event loop each
// batch as ready spool records, which the receiver appends to the spool as they are. Node's dgram
// cost ~5 µs of this loop a datagram (a libuv read, a Buffer and an rinfo object each); this costs
// ~0.3 µs. The kernel can still drop datagrams before they are read when the receive buffer fills: we
// ask for `udp_recv_buffer_bytes`, report what the kernel granted, and read the socket's own drop
// counter from /proc/net/udp(6) so it shows in /metrics.
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { nativeAddon, type NativeAddon, type UdpHandle } from '../core/native.js';
import { TRANSPORT_CODE } from '../spool/format.js';
import type { Sink, Source } from './sink.js';

export class UdpSource implements Source {
  readonly name: string;
  private readonly addon: NativeAddon;
  private handle: UdpHandle | null = null;
  private stopped: (() => void) | null = null;
  private granted = 0;

  constructor(private readonly host: string, private port: number, private readonly recvBuffer: number, private readonly sink: Sink) {
    this.name = `udp://${isIPv6(host) ? `[${host}]` : host}:${port}`;
    this.addon = nativeAddon('the UDP syslog source');
  }

  start(): Promise<void> {
    const { handle, port, granted } = this.addon.udpOpen(this.host, this.port, this.recvBuffer);
    this.handle = handle;
    this.port = port;
    this.granted = granted;
    this.addon.udpStart(handle, TRANSPORT_CODE.udp, (chunk, records, empties, truncated, payloadBytes, origins, counts) => {
      if (chunk === null) {
        this.stopped?.();
        return;
      }
      // Called from the addon: nothing may throw out of here.
      try {
        if (empties) this.sink.discard('empty', empties);
        if (records) this.sink.acceptSpooled('udp', chunk, records, payloadBytes, origins, counts, truncated);
      } catch {
        /* the sink counts its own failures */
      }
    });
    return Promise.resolve();
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

  /** Stop reading; resolves once what the socket held is handed to the sink and the socket is closed. */
  stop(): Promise<void> {
    const handle = this.handle;
    if (!handle) return Promise.resolve();
    this.handle = null;
    return new Promise((resolve) => {
      this.stopped = resolve;
      this.addon.udpStop(handle);
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
