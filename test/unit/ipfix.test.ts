// IPFIX / NetFlow v9 NAT event logging (src/parse/ipfix.ts), on packets built from RFC 8158's
// templates: templates learned from one packet decode the next; the spooled form decodes alone and
// keeps the packet byte for byte; the code points that differ between exporters; hostile bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePacket, decodeSpooled, selfContained, TemplateCache, unspool } from '../../src/parse/ipfix.js';
import { block, ip4, ipfix, netflow9, session, set, SESSION, BLOCK, T0, template, u16, u64, type Spec } from '../helpers/ipfix.js';

describe('IPFIX NAT events', () => {
  it('learns templates from one packet and decodes the next; the spooled form decodes alone, the packet kept byte for byte', () => {
    const cache = new TemplateCache();
    const templates = ipfix([set(2, Buffer.concat([template(256, SESSION), template(257, BLOCK)]))]);
    expect(decodePacket(templates, '192.0.2.1', cache)).toMatchObject({ version: 10, records: [], unknown: 0, error: null });
    const data = ipfix([
      set(256, Buffer.concat([session(1, T0, '100.64.0.10', 51000, '203.0.113.7', 40312, '198.51.100.80', 443), session(2, T0 + 60_000, '100.64.0.10', 51000, '203.0.113.7', 40312, '198.51.100.80', 443)])),
      set(257, block(16, T0, '100.64.0.11', '203.0.113.7', 2048, 2559)),
    ]);
    const d = decodePacket(data, '192.0.2.1', cache)!;
    expect(d.error).toBeNull();
    expect(d.records).toEqual([
      { vendor: 'ipfix', event: 'session_create', proto: 'tcp', src_ip: '100.64.0.10', src_port: 51000, nat_ip: '203.0.113.7', nat_port: 40312, nat_port_start: null, nat_port_end: null, dst_ip: '198.51.100.80', dst_port: 443, time: T0, host: null, login: null },
      expect.objectContaining({ event: 'session_close', time: T0 + 60_000 }),
      { vendor: 'ipfix', event: 'block_alloc', proto: null, src_ip: '100.64.0.11', src_port: null, nat_ip: '203.0.113.7', nat_port: null, nat_port_start: 2048, nat_port_end: 2559, dst_ip: null, dst_port: null, time: T0, host: null, login: null },
    ]);
    // Another exporter, or another observation domain, has not defined these templates.
    expect(decodePacket(data, '192.0.2.2', cache)).toMatchObject({ records: [], unknown: 2 });
    expect(decodePacket(ipfix([set(256, session(1, T0, '100.64.0.10', 1, '203.0.113.7', 2, '198.51.100.80', 3))], 8), '192.0.2.1', cache)).toMatchObject({ records: [], unknown: 1 });

    const spooled = selfContained(data, '192.0.2.1', d, cache);
    expect(unspool(spooled)!.packet.equals(data)).toBe(true);
    expect(decodeSpooled(spooled)!.records).toEqual(d.records);
    // A packet that carries its own templates needs no context.
    const both = ipfix([set(2, template(258, BLOCK)), set(258, block(17, T0, '100.64.0.12', '203.0.113.8', 1024, 1535))]);
    const own = decodePacket(both, '192.0.2.1', cache)!;
    expect(own.records).toMatchObject([{ event: 'block_release', nat_port_start: 1024, nat_port_end: 1535 }]);
    expect(unspool(selfContained(both, '192.0.2.1', own, cache))!.context.length).toBe(0);
  });

  it('reads NetFlow v9, a variable-length and an enterprise field, and Cisco NSEL events', () => {
    const cache = new TemplateCache();
    const tpl: Spec[] = [[233, 1], [323, 8], [8, 4], [225, 4], [4, 1], [7, 2], [227, 2]];
    const rec = (fw: number) => Buffer.concat([Buffer.from([fw]), u64(T0), ip4('100.64.1.1'), ip4('203.0.113.9'), Buffer.from([17]), u16(5353), u16(61000)]);
    decodePacket(netflow9([set(0, template(300, tpl, true))]), '192.0.2.9', cache);
    const d = decodePacket(netflow9([set(300, Buffer.concat([rec(1), rec(3), rec(2)]))]), '192.0.2.9', cache)!;
    expect(d.records.map((r) => [r.event, r.proto, r.src_ip, r.src_port, r.nat_ip, r.nat_port])).toEqual([
      ['session_create', 'udp', '100.64.1.1', 5353, '203.0.113.9', 61000],
      ['session_close', 'udp', '100.64.1.1', 5353, '203.0.113.9', 61000],
    ]);
    expect(d.ignored).toBe(1); // a denied flow maps nothing
    expect(decodeSpooled(selfContained(netflow9([set(300, rec(1))]), '192.0.2.9', decodePacket(netflow9([set(300, rec(1))]), '192.0.2.9', cache)!, cache))!.records).toHaveLength(1);

    // IPFIX: an enterprise element and a variable-length string between the NAT fields
    const vt: Spec[] = [[230, 1], [8, 4], [1234, 65535, 9], [225, 4], [7, 2], [227, 2], [96, 65535]];
    const vrec = Buffer.concat([Buffer.from([1]), ip4('100.64.2.2'), Buffer.from([3]), Buffer.from('abc'), ip4('203.0.113.10'), u16(1000), u16(2000), Buffer.from([255]), u16(300), Buffer.alloc(300, 65)]);
    const v = decodePacket(ipfix([set(2, template(400, vt)), set(400, vrec)], 7, 1_772_700_000), '192.0.2.3', new TemplateCache())!;
    expect(v.records).toMatchObject([{ event: 'session_create', src_ip: '100.64.2.2', src_port: 1000, nat_ip: '203.0.113.10', nat_port: 2000, time: 1_772_700_000_000 }]);
  });

  it('tells NAT64 create (IPv6 source) from the draft\'s "pool exhausted" (IPv4), and maps nothing for quota events', () => {
    const t6: Spec[] = [[230, 1], [27, 16], [225, 4], [7, 2], [227, 2]];
    const six = Buffer.concat([Buffer.from([3]), Buffer.from('20010db8000000000000000000000001', 'hex'), ip4('203.0.113.11'), u16(40000), u16(3000)]);
    expect(decodePacket(ipfix([set(2, template(500, t6)), set(500, six)]), 'x', new TemplateCache())!.records).toMatchObject([{ event: 'session_create', src_ip: '2001:db8::1', nat_ip: '203.0.113.11' }]);
    const t4: Spec[] = [[230, 1], [8, 4], [225, 4]];
    for (const e of [3, 9, 10, 20]) {
      const d = decodePacket(ipfix([set(2, template(501, t4)), set(501, Buffer.concat([Buffer.from([e]), ip4('100.64.0.1'), ip4('203.0.113.11')]))]), 'x', new TemplateCache())!;
      expect([d.records.length, d.ignored], `natEvent ${e}`).toEqual([0, 1]);
    }
  });

  it('never throws on hostile bytes, and stops at a set that runs past the packet', () => {
    const cache = new TemplateCache();
    const good = ipfix([set(2, template(256, SESSION)), set(256, session(1, T0, '100.64.0.10', 1, '203.0.113.7', 2, '198.51.100.1', 3))]);
    const bad = Buffer.from(good);
    bad.writeUInt16BE(2000, 16 + 2); // the template set claims 2000 bytes
    expect(decodePacket(bad, 'x', cache)!.error).toMatch(/runs past the packet/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(good.length), (noise, cut) => {
        const mixed = Buffer.concat([good.subarray(0, cut), Buffer.from(noise)]);
        for (const b of [Buffer.from(noise), mixed, Buffer.concat([Buffer.from([0, 10]), Buffer.from(noise)])]) {
          decodePacket(b, 'x', cache);
          decodeSpooled(Buffer.concat([Buffer.from([1, 0, 4]), b]));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
