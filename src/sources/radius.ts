// RADIUS accounting (RFC 2866) over UDP: each Accounting-Request from a configured NAS, whose Request
// Authenticator holds under that NAS's secret, is spooled as received (the packet's bytes, transport
// `radius`, origin = the NAS's address) and answered with an Accounting-Response only once the spool
// write is on disk.
//
// Contract
// - MUST answer only after the request is durable: the response waits for the receiver's next
//   flush, which writes and fsyncs the spool when a response is waiting (whatever spool_fsync says).
//   A NAS that gets no answer retransmits; a crash before the answer therefore loses nothing.
// - MUST NOT answer what it did not keep: unknown sender, bad authenticator, malformed packet,
//   another packet code, a full or failing spool. Each is counted by reason and dropped.
// - A retransmission that arrives after the first copy was spooled is spooled again; the day file
//   keeps one event per (NAS, session, status, time) (store/sqlite/sessions.ts).
// - Secrets never reach a log line or a message.
import type { Socket } from 'node:dgram';
import { BlockList, isIPv6 } from 'node:net';
import type { RadiusClient } from '../config/load.js';
import { CODE_ACCOUNTING_REQUEST, decodePacket, encodeResponse, eventOfAttrs, MAX_PACKET_BYTES, requestAuthenticatorOk } from '../parse/radius.js';
import type { Sink, Source } from './sink.js';
import { bindUdp, closeUdp } from './dgram.js';

export class RadiusSource implements Source {
  readonly name: string;
  private sock: Socket | null = null;
  /** One BlockList per client: the first whose address or prefix holds the sender is its NAS. */
  private readonly clients: { match: BlockList; client: RadiusClient }[];

  /** `recvBuffer`: SO_RCVBUF asked (udp_recv_buffer_bytes): a BNG that restarts sends thousands of starts at once. */
  constructor(private readonly host: string, private port: number, clients: readonly RadiusClient[], private readonly sink: Sink, private readonly recvBuffer = 0) {
    this.name = `radius://${isIPv6(host) ? `[${host}]` : host}:${port}`;
    this.clients = clients.map((client) => {
      const match = new BlockList();
      match.addSubnet(client.address, client.prefix, isIPv6(client.address) ? 'ipv6' : 'ipv4');
      return { match, client };
    });
  }

  async start(): Promise<void> {
    this.sock = await bindUdp(this.host, this.port, this.recvBuffer, (msg, rinfo) => this.onPacket(msg, rinfo.address, rinfo.port));
    this.port = this.sock.address().port;
  }

  /** The NAS client whose address or prefix holds `address`, or null. */
  clientOf(address: string): RadiusClient | null {
    const family = isIPv6(address) ? 'ipv6' : 'ipv4';
    let addr = address;
    if (family === 'ipv6' && /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address)) addr = address.slice(7);
    for (const c of this.clients) if (c.match.check(addr, isIPv6(addr) ? 'ipv6' : 'ipv4')) return c.client;
    return null;
  }

  private onPacket(msg: Buffer, address: string, port: number): void {
    const client = this.clientOf(address);
    if (!client) return this.sink.reject('unknown_nas');
    if (msg.length > MAX_PACKET_BYTES) return this.sink.reject('malformed');
    const p = decodePacket(msg);
    if ('malformed' in p) return this.sink.reject('malformed');
    if (p.code !== CODE_ACCOUNTING_REQUEST) return this.sink.reject('not_accounting');
    if (!requestAuthenticatorOk(msg, p, client.secret)) return this.sink.reject('bad_authenticator');
    if ('malformed' in eventOfAttrs(p.attrs, Date.now())) return this.sink.reject('malformed');
    // Keep the packet as it came (its own length: padding after it is not ours to keep).
    const packet = Buffer.from(msg.subarray(0, p.length));
    // Like UDP syslog, refused while the spool is over spool_max_bytes: unanswered, the NAS retries later.
    if (this.sink.paused || !this.sink.accept('radius', address, packet, false)) return this.sink.reject('spool');
    const response = encodeResponse(p, client.secret);
    this.sink.whenDurable((ok) => {
      if (!ok) return this.sink.reject('spool');
      this.sock?.send(response, port, address);
      this.sink.answered();
    });
  }

  get boundPort(): number {
    return this.port;
  }

  stop(): Promise<void> {
    const sock = this.sock;
    this.sock = null;
    return closeUdp(sock);
  }

  describe(): string {
    return `${this.name} RADIUS accounting, ${this.clients.length} NAS client(s)`;
  }
}
