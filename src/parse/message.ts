// One spooled message as the pipeline parses it: bytes to text, noise filter, the vendor chain, and
// the sender named only in the syslog header. The receiver runs it on live traffic and the committer
// on what it reads back from the spool: one code path, so both give the same result.
import { isAscii } from 'node:buffer';
import type { Config } from '../config/load.js';
import type { Transport } from '../core/counters.js';
import { configureParsers, parseMessage } from './chain.js';
import type { ParseResult } from './types.js';
import { detailInfo, isDetailBlock } from './radius-detail.js';
import { parseSpooledIpfix } from './ipfix.js';

/** What the pipeline made of one message, before it is filed by day. */
export interface ParsedMessage {
  /** A noise filter matched: counted, not stored (`res` is then an empty unparsed verdict). */
  noise: boolean;
  /** The bytes were not valid UTF-8 (parsed with replacement characters, kept byte for byte). */
  invalidUtf8: boolean;
  /** The sender: the peer address, else the device the header names, else the transport. */
  device: string;
  res: ParseResult;
  /** A RADIUS accounting packet (transport radius), kept as a session event, not as a line. */
  session?: boolean;
}

const NOISE: ParseResult = Object.freeze({ kind: 'unparsed', time: null, host: null });

export class MessageParser {
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });
  private readonly strict = new TextDecoder('utf-8', { fatal: true });
  /** Configured devices by name (lower case), for lines whose sender is only in the header. */
  private readonly deviceByName: Map<string, string>;

  constructor(private readonly cfg: Config) {
    configureParsers(cfg);
    this.deviceByName = new Map(Object.entries(cfg.devices).map(([addr, d]) => [d.name.toLowerCase(), addr]));
  }

  parse(payload: Buffer, recvMs: number, transport: Transport, origin: string): ParsedMessage {
    // The committer decodes the packet (it was checked when received); the NAS is the sender. An
    // imported FreeRADIUS detail block is a session event too, from the NAS it names.
    if (transport === 'radius') return { noise: false, invalidUtf8: false, device: origin, res: NOISE, session: true };
    if (transport === 'import' && isDetailBlock(payload)) return { noise: false, invalidUtf8: false, device: detailInfo(payload).nas ?? 'import', res: NOISE, session: true };
    // An IPFIX / NetFlow v9 packet, spooled with its templates (parse/ipfix.ts): binary, no text.
    if (transport === 'ipfix') return { noise: false, invalidUtf8: false, device: origin, res: parseSpooledIpfix(payload) };
    let text: string;
    let invalidUtf8 = false;
    if (isAscii(payload)) text = payload.toString('latin1');
    else {
      try {
        text = this.strict.decode(payload);
      } catch {
        invalidUtf8 = true;
        text = this.decoder.decode(payload);
      }
    }
    const filters = this.cfg.noise_filters;
    if (filters.length && filters.some((f) => text.includes(f))) return { noise: true, invalidUtf8, device: origin, res: NOISE };
    const peer = transport === 'udp' || transport === 'tcp' || transport === 'tls' ? origin : null;
    let res = this.chain(text, recvMs, peer);
    let device = peer ?? transport;
    if (!peer) {
      // Imported and tailed lines name their router only in the syslog header: take it from there,
      // and when it is a configured device, parse again with its settings (zone, vendor pin).
      const sender = this.senderOf(res.host);
      if (sender) {
        device = sender;
        if (this.cfg.devices[sender]) res = this.chain(text, recvMs, sender);
      }
    }
    return { noise: false, invalidUtf8, device, res };
  }

  private chain(text: string, recvMs: number, peer: string | null): ParseResult {
    try {
      return parseMessage(text, { receivedAt: recvMs, peer, device: peer ? this.cfg.devices[peer] ?? null : null, timezone: this.cfg.timezone });
    } catch {
      return { kind: 'unparsed', time: null, host: null };
    }
  }

  /**
   * The device a header's host names: a configured device's address when the host is that address
   * or that device's name, else the host as written (at most 64 characters); null without a host.
   */
  private senderOf(host: string | null): string | null {
    if (!host) return null;
    if (this.cfg.devices[host]) return host;
    return this.deviceByName.get(host.toLowerCase()) ?? host.slice(0, 64);
  }
}
