// FreeRADIUS detail files (parse/radius-detail.ts): blocks cut from lines, and each block read as the
// Accounting-Request it records, through the same validation as a received packet.
import { describe, expect, it } from 'vitest';
import { DetailSplitter, detailEventOf, detailInfo, isDetailBlock, MAX_BLOCK_BYTES } from '../../src/parse/radius-detail.js';

// As rlm_detail (FreeRADIUS 3.2) writes it.
const BLOCK = `Thu Mar  5 13:00:07 2026
\tAcct-Session-Id = "81a0001f"
\tAcct-Status-Type = Interim-Update
\tAcct-Authentic = RADIUS
\tUser-Name = "cliente42@provedor"
\tNAS-Port = 15728640
\tNAS-Port-Type = Ethernet
\tCalling-Station-Id = "AA:BB:CC:00:11:22"
\tFramed-IP-Address = 100.64.3.17
\tFramed-IPv6-Prefix = 2001:db8:1200:3400::/56
\tNAS-Identifier = "bng-sp-01"
\tNAS-IP-Address = 192.0.2.1
\tAcct-Session-Time = 3600
\tAcct-Delay-Time = 0
\tEvent-Timestamp = "Mar  5 2026 13:00:00 UTC"
\tTmp-String-9 = "ai:"
\tAcct-Unique-Session-Id = "9b3f5c0f2d1e"
\tClient-IP-Address = 192.0.2.1
\tTimestamp = 1772715607`;

function blocks(text: string): Buffer[] {
  const s = new DetailSplitter();
  const out: Buffer[] = [];
  for (const l of text.split('\n')) {
    const b = s.push(Buffer.from(l));
    if (b) out.push(b);
  }
  const last = s.end();
  if (last) out.push(last);
  return out;
}

describe('FreeRADIUS detail files', () => {
  it('reads a block as the session event its Accounting-Request carried', () => {
    const [b] = blocks(`${BLOCK}\n\n`);
    expect(detailInfo(b!)).toEqual({ time: 1772715607000, nas: '192.0.2.1' });
    expect(detailEventOf(b!, 1772715607000)).toEqual({
      status: 'interim',
      time: Date.UTC(2026, 2, 5, 13, 0, 0),
      login: 'cliente42@provedor',
      framed_ip: '100.64.3.17',
      framed_ipv6_prefix: '2001:db8:1200:3400::/56',
      mac: 'aa:bb:cc:00:11:22',
      nas: 'bng-sp-01',
      nas_ip: '192.0.2.1',
      session_id: '81a0001f',
      session_time: 3600,
    });
  });

  it('cuts blocks at blank lines, or at a header when the blank line is missing', () => {
    const got = blocks(`${BLOCK}\n\n${BLOCK.replace('81a0001f', 'second')}\n${BLOCK.replace('81a0001f', 'third')}`);
    expect(got.map((b) => (detailEventOf(b, 0) as { session_id: string }).session_id)).toEqual(['81a0001f', 'second', 'third']);
  });

  it('dates a block without Event-Timestamp by its receive time less Acct-Delay-Time, and unquotes escapes', () => {
    const b = Buffer.from('Thu Mar  5 13:00:07 2026\n\tAcct-Status-Type = Start\n\tAcct-Session-Id = "a\\"b\\101"\n\tAcct-Delay-Time = 7\n\tTimestamp = 1772715607');
    expect(detailEventOf(b, 1772715607000)).toMatchObject({ status: 'start', time: 1772715600000, session_id: 'a"bA' });
    // no Timestamp: the header, read as UTC
    expect(detailInfo(Buffer.from('Thu Mar  5 13:00:07 2026\n\tAcct-Status-Type = Start')).time).toBe(Date.UTC(2026, 2, 5, 13, 0, 7));
  });

  it('calls malformed a block that is no accounting record, or whose values do not parse', () => {
    for (const bad of [
      'Thu Mar  5 13:00:07 2026\n\tUser-Name = "x"',
      'Thu Mar  5 13:00:07 2026\n\tAcct-Status-Type = Start\n\tAcct-Session-Id = "x"\n\tFramed-IP-Address = 100.64.3',
      'Thu Mar  5 13:00:07 2026\n\tAcct-Status-Type = Start\n\tAcct-Session-Id = "x"\n\tFramed-IPv6-Prefix = 2001:db8::1::/64',
      'Thu Mar  5 13:00:07 2026\n\tAcct-Status-Type = Start\n\tAcct-Session-Id = "x"\n\tAcct-Session-Time = -1',
      'garbage without attributes',
    ]) expect(detailEventOf(Buffer.from(bad), 0), bad).toHaveProperty('malformed');
  });

  it('tells a spooled detail block from an imported syslog line (which never holds a LF)', () => {
    expect(isDetailBlock(blocks(BLOCK)[0]!)).toBe(true);
    expect(isDetailBlock(Buffer.from('<134>Mar  5 13:00:07 bng1 firewall,info NAT forward: in:<pppoe-x> out:ether1'))).toBe(false);
    expect(isDetailBlock(Buffer.from('first line\nsecond line = not indented'))).toBe(false);
  });

  it('bounds a block: a file without blank lines cannot grow one without end', () => {
    const s = new DetailSplitter();
    s.push(Buffer.from('Thu Mar  5 13:00:07 2026'));
    for (let i = 0; i < 100_000; i++) s.push(Buffer.from(`\tUser-Name = "${'x'.repeat(40)}"`));
    expect(s.end()!.length).toBeLessThanOrEqual(MAX_BLOCK_BYTES);
  });
});
