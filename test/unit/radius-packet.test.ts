// The RADIUS accounting codec (parse/radius.ts): authenticators as RFC 2866 §3 defines them, the
// session fields MegaLog keeps, and hostile packets: every length lies, nothing throws.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ATTRIBUTE as A, decodePacket, encodeRequest, encodeResponse, macOf, requestAuthenticatorOk, responseOk, sessionEventOf, type Packet } from '../../src/parse/radius.js';

const SECRET = Buffer.from('s3cret-nas');
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const str = (s: string) => Buffer.from(s, 'utf8');
const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));

function start(extra: { type: number; value: Buffer }[] = []): Buffer {
  return encodeRequest(
    7,
    [
      { type: A.STATUS_TYPE, value: u32(1) },
      { type: A.USER_NAME, value: str('cliente42@isp') },
      { type: A.FRAMED_IP, value: ip4('100.64.3.17') },
      { type: A.CALLING_STATION, value: str('AA-BB-CC-00-11-22') },
      { type: A.NAS_IP, value: ip4('192.0.2.1') },
      { type: A.NAS_IDENTIFIER, value: str('bng-sp-01') },
      { type: A.SESSION_ID, value: str('81a0001f') },
      { type: A.EVENT_TIMESTAMP, value: u32(Date.UTC(2026, 2, 5, 13, 0, 0) / 1000) },
      ...extra,
    ],
    SECRET,
  );
}

describe('RADIUS accounting packets', () => {
  it('checks the Request Authenticator with the NAS secret (RFC 2866 §3), and only with it', () => {
    const buf = start();
    const p = decodePacket(buf) as Packet;
    expect(p.code).toBe(4);
    expect(requestAuthenticatorOk(buf, p, SECRET)).toBe(true);
    expect(requestAuthenticatorOk(buf, p, Buffer.from('other'))).toBe(false);
    // the definition, spelled out: MD5(code | id | length | 16 zero octets | attributes | secret)
    const zeroed = Buffer.from(buf);
    zeroed.fill(0, 4, 20);
    expect(createHash('md5').update(zeroed).update(SECRET).digest()).toEqual(p.authenticator);
    // one changed attribute byte breaks it
    const tampered = Buffer.from(buf);
    tampered[tampered.length - 1]! ^= 1;
    expect(requestAuthenticatorOk(tampered, decodePacket(tampered) as Packet, SECRET)).toBe(false);
  });

  it('answers with an Accounting-Response whose authenticator covers the request authenticator', () => {
    const p = decodePacket(start()) as Packet;
    const resp = encodeResponse(p, SECRET);
    expect(resp.length).toBe(20);
    expect(resp[0]).toBe(5);
    expect(resp[1]).toBe(7);
    expect(responseOk(resp, p, SECRET)).toBe(true);
    expect(responseOk(resp, p, Buffer.from('other'))).toBe(false);
  });

  it('keeps login, framed address, MAC, NAS, session id and the event time of a start', () => {
    const ev = sessionEventOf(start(), Date.UTC(2026, 2, 5, 13, 0, 9));
    expect(ev).toEqual({
      status: 'start',
      time: Date.UTC(2026, 2, 5, 13, 0, 0),
      login: 'cliente42@isp',
      framed_ip: '100.64.3.17',
      framed_ipv6_prefix: null,
      mac: 'aa:bb:cc:00:11:22',
      nas: 'bng-sp-01',
      nas_ip: '192.0.2.1',
      session_id: '81a0001f',
      session_time: null,
    });
  });

  it('dates an event without Event-Timestamp by receive time − Acct-Delay-Time, and reads IPv6 prefixes', () => {
    const buf = encodeRequest(
      1,
      [
        { type: A.STATUS_TYPE, value: u32(3) },
        { type: A.SESSION_ID, value: str('s1') },
        { type: A.DELAY_TIME, value: u32(5) },
        { type: A.SESSION_TIME, value: u32(600) },
        { type: A.FRAMED_IPV6_PREFIX, value: Buffer.from([0, 56, 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56]) },
      ],
      SECRET,
    );
    const ev = sessionEventOf(buf, 1_000_000);
    expect(ev).toMatchObject({ status: 'interim', time: 995_000, session_time: 600, framed_ipv6_prefix: '2001:db8:1234:5600::/56', nas: null });
  });

  it('reads the usual MAC spellings as one', () => {
    for (const m of ['AA-BB-CC-00-11-22', 'aa:bb:cc:00:11:22', 'aabb.cc00.1122', 'AABBCC001122']) expect(macOf(m)).toBe('aa:bb:cc:00:11:22');
    expect(macOf('port 3 vlan 100')).toBe('port 3 vlan 100');
    expect(macOf('aa-bb:cc-00:11-22')).toBe('aa-bb:cc-00:11-22'); // mixed separators: not a MAC we can vouch for
  });

  it('shows control characters in text attributes as U+FFFD (no forged lines in a report)', () => {
    const ev = sessionEventOf(start([{ type: A.USER_NAME, value: str('evil\nuser\u0000') }]), 0);
    expect((ev as { login: string }).login).toBe('evil\ufffduser\ufffd');
  });

  it('calls malformed what does not hold: lengths, value sizes, missing or unknown status', () => {
    const good = start();
    const cases: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['short', good.subarray(0, 19)],
      ['length beyond the datagram', (() => { const b = Buffer.from(good); b.writeUInt16BE(good.length + 1, 2); return b; })()],
      ['length below 20', (() => { const b = Buffer.from(good); b.writeUInt16BE(19, 2); return b; })()],
      ['over 4096 bytes', Buffer.concat([good, Buffer.alloc(4097)])],
      ['attribute length 0', (() => { const b = Buffer.from(good); b[21] = 0; return b; })()],
      ['attribute length 1', (() => { const b = Buffer.from(good); b[21] = 1; return b; })()],
      ['attribute past the end', (() => { const b = Buffer.from(good); b[21] = 255; return b; })()],
      ['one stray byte after the attributes', (() => { const b = Buffer.concat([good, Buffer.from([1])]); b.writeUInt16BE(b.length, 2); return b; })()],
      ['Framed-IP-Address of 3 bytes', start([{ type: A.FRAMED_IP, value: Buffer.from([1, 2, 3]) }])],
      ['Acct-Status-Type of 2 bytes', start([{ type: A.STATUS_TYPE, value: Buffer.from([0, 1]) }])],
      ['unknown Acct-Status-Type', start([{ type: A.STATUS_TYPE, value: u32(99) }])],
      ['IPv6 prefix longer than 128', start([{ type: A.FRAMED_IPV6_PREFIX, value: Buffer.from([0, 129, 0x20]) }])],
      ['IPv6 prefix shorter than its length', start([{ type: A.FRAMED_IPV6_PREFIX, value: Buffer.from([0, 64, 0x20, 0x01]) }])],
      ['no Acct-Status-Type', encodeRequest(1, [{ type: A.SESSION_ID, value: str('x') }], SECRET)],
      ['no Acct-Session-Id', encodeRequest(1, [{ type: A.STATUS_TYPE, value: u32(1) }], SECRET)],
      ['an Access-Request', (() => { const b = Buffer.from(good); b[0] = 1; return b; })()],
    ];
    for (const [what, buf] of cases) expect(sessionEventOf(buf, 0), what).toHaveProperty('malformed');
    // bytes after the packet's own length are padding (RFC 2865 §3), not attributes
    expect(sessionEventOf(Buffer.concat([good, Buffer.from([0xff, 0xff, 0xff])]), 0)).not.toHaveProperty('malformed');
  });

  it('never throws on random datagrams', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (bytes) => {
        const buf = Buffer.from(bytes);
        const p = decodePacket(buf);
        if (!('malformed' in p)) requestAuthenticatorOk(buf, p, SECRET);
        sessionEventOf(buf, 0);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on a valid packet with random bytes overwritten', () => {
    const good = start([{ type: A.FRAMED_IPV6_PREFIX, value: Buffer.from([0, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1]) }]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
        const buf = Buffer.from(good);
        for (const [at, v] of edits) buf[at] = v;
        const ev = sessionEventOf(buf, 0);
        if (!('malformed' in ev)) expect(typeof ev.session_id).toBe('string');
      }),
      { numRuns: 3000 },
    );
  });
});
