// Header parser behaviours: every timestamp form in docs/vendors.md, relays, year rollover, zones, addresses.
import { describe, expect, it } from 'vitest';
import { parseHeader } from '../../src/parse/syslog.js';
import { inferYear, wallToUtc } from '../../src/parse/time.js';
import { parseIP, scanIPv4 } from '../../src/parse/ip.js';

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
const at = (s: string): number => Date.parse(s);

describe('syslog header', () => {
  it('reads RFC 3164 with a space-padded day and the year from the receive time', () => {
    const h = parseHeader('<30>Sep  5 01:37:18 MikroTik firewall,info x', 'UTC', at('2021-09-05T02:00:00Z'));
    expect([h.pri, iso(h.time), h.host, h.line.slice(h.msgStart)]).toEqual([30, '2021-09-05T01:37:18.000Z', 'MikroTik', 'firewall,info x']);
  });

  it('accepts a space after PRI and a missing PRI', () => {
    expect(parseHeader('<12> Jul  4 10:00:00 r1 msg', 'UTC', at('2024-07-04T10:00:00Z')).host).toBe('r1');
    const h = parseHeader('Sep 9 10:00:00 relay msg', 'UTC', at('2024-09-09T10:00:00Z'));
    expect([h.pri, iso(h.time), h.host]).toEqual([-1, '2024-09-09T10:00:00.000Z', 'relay']);
  });

  it('rolls a Dec 31 line received on Jan 1 back to the old year', () => {
    const h = parseHeader('<30>Dec 31 23:59:59 r msg', 'UTC', at('2026-01-01T00:00:02Z'));
    expect(iso(h.time)).toBe('2025-12-31T23:59:59.000Z');
  });

  it('puts a Jan 1 line received late on Dec 31 (device clock ahead) in the new year', () => {
    const h = parseHeader('<30>Jan  1 00:00:05 r msg', 'UTC', at('2025-12-31T23:59:58Z'));
    expect(iso(h.time)).toBe('2026-01-01T00:00:05.000Z');
  });

  it('keeps an old Jan line read back in December (import) in the same year', () => {
    const h = parseHeader('<30>Jan 15 08:00:00 r msg', 'UTC', at('2025-12-31T23:00:00Z'));
    expect(iso(h.time)).toBe('2025-01-15T08:00:00.000Z');
  });

  it('reads the rollover in the device zone, not UTC', () => {
    // 2026-01-01T01:00Z is still Dec 31 22:00 in São Paulo: a Dec 31 21:59 line is from 2025.
    const h = parseHeader('<30>Dec 31 21:59:00 r msg', 'America/Sao_Paulo', at('2026-01-01T01:00:00Z'));
    expect(iso(h.time)).toBe('2026-01-01T00:59:00.000Z');
  });

  it('handles Feb 29 by going back to a leap year', () => {
    const h = parseHeader('<30>Feb 29 12:00:00 r msg', 'UTC', at('2025-03-01T00:00:00Z'));
    expect(iso(h.time)).toBe('2024-02-29T12:00:00.000Z');
  });

  it('reads Cisco ASA `Mmm dd yyyy HH:MM:SS:` with no host', () => {
    const h = parseHeader('<166>Mar 27 2019 10:10:10: %ASA-6-305011: Built', 'UTC', at('2024-01-01T00:00:00Z'));
    expect([iso(h.time), h.host, h.line.slice(h.msgStart, h.msgStart + 5)]).toEqual(['2019-03-27T10:10:10.000Z', null, '%ASA-']);
  });

  it('reads IOS sequence numbers, host, clock mark and UTC zone', () => {
    const h = parseHeader('<189>12345: router1: *Mar  1 18:46:11.107 UTC: %IPNAT-6-CREATED: x', 'America/Sao_Paulo', at('2024-03-01T19:00:00Z'));
    expect([iso(h.time), h.host, h.line.slice(h.msgStart, h.msgStart + 6)]).toEqual(['2024-03-01T18:46:11.107Z', 'router1', '%IPNAT']);
  });

  it('reads IOS without host and with an unknown zone abbreviation in the device zone', () => {
    const h = parseHeader('<189>77: Mar  1 18:46:11.107 BRT: %NAT-6-LOG_TRANSLATION: x', 'America/Sao_Paulo', at('2024-03-01T22:00:00Z'));
    expect([iso(h.time), h.host]).toEqual(['2024-03-01T21:46:11.107Z', null]);
  });

  it('reads IOS buffer lines with no syslog header: sequence number and a `*` or `.` clock mark', () => {
    const a = parseHeader('000123: *Mar  1 00:01:02.345: %IPNAT-6-NAT_CREATED: x', 'UTC', at('2025-03-01T00:01:03Z'));
    expect([a.pri, iso(a.time), a.host, a.line.slice(a.msgStart, a.msgStart + 6)]).toEqual([-1, '2025-03-01T00:01:02.345Z', null, '%IPNAT']);
    const b = parseHeader('.Sep  8 14:53:43.301 UTC: %IPNAT-6-NAT_DELETED: x', 'America/Sao_Paulo', at('2025-09-08T14:53:44Z'));
    expect([iso(b.time), b.host, b.line.slice(b.msgStart, b.msgStart + 6)]).toEqual(['2025-09-08T14:53:43.301Z', null, '%IPNAT']);
  });

  it('leaves the time empty for IOS lines with only an uptime clock or no clock at all', () => {
    for (const l of ['12:17:12.503: %IPNAT-6-NAT_CREATED: x', '000045: 00:01:02: %IPNAT-6-NAT_CREATED: x', '1d02h: %IPNAT-6-NAT_CREATED: x', '%IPNAT-6-NAT_CREATED: x']) {
      const h = parseHeader(l, 'UTC', at('2025-03-01T00:00:00Z'));
      expect([h.time, h.host, h.line.indexOf('%IPNAT') >= h.restStart], l).toEqual([null, null, true]);
    }
  });

  it('reads `YYYY-MM-DD HH:MM:SS:` with a Juniper services-PIC host', () => {
    const h = parseHeader('<14>2012-11-15 10:47:01: mx480{ss1}[jservices-nat]: JSERVICES_NAT_PORT_BLOCK_ALLOC: x', 'UTC', 0);
    expect([iso(h.time), h.host]).toEqual(['2012-11-15T10:47:01.000Z', 'mx480']);
  });

  it('reads `YYYY Mmm D HH:MM:SS` and `YYYY Month D` inside RFC 5424', () => {
    const a = parseHeader('<134> 1 2016 Jan 5 10:10:10 ne40 NAT - NAT444:SessionbasedA [6 1.2.3.4 - 5.6.7.8 1 2 -]', 'UTC', 0);
    expect([iso(a.time), a.host]).toEqual(['2016-01-05T10:10:10.000Z', 'ne40']);
    const b = parseHeader('<134>1 2016 January 15 10:10:10 hs app - m', 'UTC', 0);
    expect(iso(b.time)).toBe('2016-01-15T10:10:10.000Z');
  });

  it('reads RFC 5424 with structured data and a BOM', () => {
    const line = '<14>1 2014-05-01T08:28:10.933Z fw01 RT_FLOW - RT_FLOW_SESSION_CLOSE [junos@2636.1.1.1.2.39 reason="unset \\"x\\" ]" a="b"] \uFEFFhello';
    const h = parseHeader(line, 'UTC', 0);
    expect([iso(h.time), h.host, h.app, h.msgid, h.sd, h.line.slice(h.msgStart)]).toEqual([
      '2014-05-01T08:28:10.933Z', 'fw01', 'RT_FLOW', 'RT_FLOW_SESSION_CLOSE', '[junos@2636.1.1.1.2.39 reason="unset \\"x\\" ]" a="b"]', 'hello',
    ]);
  });

  it('reads ISO 8601 offsets without a colon (MikroTik iso8601)', () => {
    const h = parseHeader('2025-11-01T01:10:54.868+0200 1MB CEF:0|MikroTik|x', 'UTC', 0);
    expect([iso(h.time), h.host]).toEqual(['2025-10-31T23:10:54.868Z', '1MB']);
  });

  it('unwraps a relay around an RFC 5424 line without PRI (Juniper stored by BSD relays)', () => {
    const h = parseHeader('Mar  1 10:00:00 relay1 1 2024-03-01T09:59:59.5-03:00 srx RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636 a="1"] m', 'UTC', at('2024-03-01T13:00:00Z'));
    expect([iso(h.time), h.host, h.msgid]).toEqual(['2024-03-01T12:59:59.500Z', 'srx', 'RT_FLOW_SESSION_CREATE']);
  });

  it('unwraps a relay around a BSD line with PRI', () => {
    const h = parseHeader('Mar  1 10:00:01 relay1 <30>Mar  1 10:00:00 BRAS firewall,info forward: in:x', 'UTC', at('2024-03-01T10:00:02Z'));
    expect([iso(h.time), h.host, h.line.slice(h.msgStart, h.msgStart + 8)]).toEqual(['2024-03-01T10:00:00.000Z', 'BRAS', 'firewall']);
  });

  it('reads MikroTik disk-file times', () => {
    const h = parseHeader('Oct/02/2026 16:49:36 firewall,info forward: x', 'UTC', 0);
    expect(iso(h.time)).toBe('2026-10-02T16:49:36.000Z');
  });

  it('leaves a header-less line whole', () => {
    const h = parseHeader('firewall,info forward: in:a out:b\r\n\u0000', 'UTC', 0);
    expect([h.time, h.host, h.msgStart, h.line]).toEqual([null, null, 0, 'firewall,info forward: in:a out:b']);
  });

  it('rejects impossible dates and never throws on junk', () => {
    expect(parseHeader('<30>Feb 30 10:00:00 r m', 'UTC', 0).time).toBe(null);
    for (const junk of ['', '<', '<999>', '<30>', '<30>Jan', '1 ', '1 2024-', '<30>Jan 1 99:99:99 x', '\uFEFF', '2024-13-01T00:00:00Z x']) {
      expect(() => parseHeader(junk, 'UTC', 0)).not.toThrow();
    }
  });

  it('treats an unknown zone as UTC rather than failing', () => {
    const h = parseHeader('<30>Jun 1 10:00:00 r m', 'Mars/Olympus', at('2024-06-01T10:00:00Z'));
    expect(iso(h.time)).toBe('2024-06-01T10:00:00.000Z');
  });
});

describe('time', () => {
  it('converts wall time across DST (New York spring forward gap and fall back overlap)', () => {
    expect(iso(wallToUtc('America/New_York', 2024, 2, 10, 1, 30, 0, 0))).toBe('2024-03-10T06:30:00.000Z');
    expect(iso(wallToUtc('America/New_York', 2024, 2, 10, 3, 30, 0, 0))).toBe('2024-03-10T07:30:00.000Z');
    expect(iso(wallToUtc('America/New_York', 2024, 10, 3, 1, 30, 0, 0))).toBe('2024-11-03T05:30:00.000Z');
  });

  it('handles half-hour transitions (St Johns)', () => {
    expect(iso(wallToUtc('America/St_Johns', 2024, 6, 1, 12, 0, 0, 0))).toBe('2024-07-01T14:30:00.000Z');
  });

  it('inferYear returns null for Feb 30', () => {
    expect(inferYear('UTC', at('2024-03-01T00:00:00Z'), 1, 30, 0, 0, 0, 0)).toBe(null);
  });
});

describe('addresses', () => {
  it('validates IPv4 dotted quads', () => {
    expect(parseIP('192.168.10.12')).toBe('192.168.10.12');
    expect(parseIP('1092.168.10.12')).toBe(null);
    expect(parseIP('256.1.1.1')).toBe(null);
    expect(parseIP('1.2.3')).toBe(null);
    expect(parseIP('1.2.3.4.5')).toBe(null);
    expect(parseIP('010.001.0.1')).toBe('10.1.0.1');
    expect(scanIPv4('1.2.3.4:80', 0)).toBe('1.2.3.4');
  });

  it('canonicalises IPv6 per RFC 5952', () => {
    expect(parseIP('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(parseIP('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(parseIP('::')).toBe('::');
    expect(parseIP('::1')).toBe('::1');
    expect(parseIP('fe80::1%eth0')).toBe('fe80::1');
    expect(parseIP('::ffff:192.0.2.1')).toBe('::ffff:192.0.2.1');
    expect(parseIP('64:ff9b::192.0.2.33')).toBe('64:ff9b::c000:221');
    expect(parseIP('2001:db8::1::2')).toBe(null);
    expect(parseIP('1:2:3:4:5:6:7:8:9')).toBe(null);
    expect(parseIP('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(parseIP('[2001:db8::1]')).toBe('2001:db8::1');
  });
});
