// A UDP socket for the sources that read their packets in JavaScript (RADIUS, IPFIX: a few thousand
// packets a second at most; syslog has the addon's reader, udp.ts). Errors after the bind (ICMP port
// unreachable from a sender that went away) are ignored: a receive-only socket never crashes.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';

/** Bound to host:port (0: any) with SO_RCVBUF `recvBuffer` asked (0: the default). */
export function bindUdp(host: string, port: number, recvBuffer: number, onMessage: (msg: Buffer, rinfo: RemoteInfo) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', recvBufferSize: recvBuffer || undefined });
    sock.once('error', reject);
    sock.on('message', onMessage);
    sock.bind(port, host, () => {
      sock.off('error', reject);
      sock.on('error', () => {
        /* see the header */
      });
      resolve(sock);
    });
  });
}

export function closeUdp(sock: Socket | null): Promise<void> {
  return new Promise((resolve) => (sock ? sock.close(() => resolve()) : resolve()));
}
