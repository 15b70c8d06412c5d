// IPFIX (RFC 7011) and NetFlow v9 NAT event logging over UDP (`ipfix_listen`; RFC 8158). Each packet
// is spooled with the templates its data sets use (parse/ipfix.ts): the templates an exporter sent in
// earlier packets are learned here, per sender and observation domain, so that a spooled packet
// decodes alone — on replay after a crash, and as evidence. Every packet is kept, even one that is no
// IPFIX (then as an unparsed line); malformed sets and data of templates not yet seen are counted.
import type { Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { decodePacket, selfContained, TemplateCache } from '../parse/ipfix.js';
import type { Sink, Source } from './sink.js';
import { bindUdp, closeUdp } from './dgram.js';

export class IpfixSource implements Source {
  readonly name: string;
  private sock: Socket | null = null;
  private readonly templates = new TemplateCache();

  constructor(private readonly host: string, private port: number, private readonly recvBuffer: number, private readonly sink: Sink) {
    this.name = `ipfix://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  }

  async start(): Promise<void> {
    this.sock = await bindUdp(this.host, this.port, this.recvBuffer, (msg, rinfo) => this.packet(msg, rinfo.address));
    this.port = this.sock.address().port;
  }

  private packet(msg: Buffer, from: string): void {
    let spooled = msg;
    try {
      const d = decodePacket(msg, from, this.templates);
      if (!d || d.error) this.sink.note('ipfix_malformed', 1);
      if (d?.unknown) this.sink.note('ipfix_unknown_template_sets', d.unknown);
      // Not IPFIX at all: kept as sent, with an empty context so that it still reads as our format.
      spooled = d ? selfContained(msg, from, d, this.templates) : Buffer.concat([Buffer.from([1, 0, 0]), msg]);
    } catch {
      this.sink.note('ipfix_malformed', 1);
      spooled = Buffer.concat([Buffer.from([1, 0, 0]), msg]);
    }
    this.sink.accept('ipfix', from, spooled, false);
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
    return `${this.name} (IPFIX and NetFlow v9 NAT events)`;
  }
}
