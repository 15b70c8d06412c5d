import { describe, expect, it } from 'vitest';
import { Framer } from '../../src/sources/framing.js';

function frames(chunks: (string | Buffer)[], maxFrame = 1024) {
  const out: { msg: string; truncated: boolean }[] = [];
  const discarded: Record<string, number> = {};
  const f = new Framer(maxFrame, {
    frame: (m, truncated) => out.push({ msg: m.toString('latin1'), truncated }),
    discard: (r, n) => (discarded[r] = (discarded[r] ?? 0) + n),
  });
  for (const c of chunks) f.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
  f.end();
  return { out, discarded };
}

describe('Framer (RFC 6587)', () => {
  it('splits octet-counted frames, counting the trailing LF inside the length like rsyslog', () => {
    const { out } = frames(['10 <13>hello\n\n', '5 <13>a7 <13>b\nc']);
    expect(out.map((o) => o.msg)).toEqual(['<13>hello', '<13>a', '<13>b\nc']);
  });

  it('detects the framing per frame: octet counting and LF framing mixed on one connection', () => {
    const { out } = frames(['<13>one\n8 <13>two\n<13>three\n']);
    expect(out.map((o) => o.msg)).toEqual(['<13>one', '<13>two', '<13>three']);
  });

  it('reassembles frames split across reads at every byte boundary', () => {
    const data = '9 <13>hello<14>line two\n3 <1>';
    for (let cut = 1; cut < data.length; cut++) {
      const { out } = frames([data.slice(0, cut), data.slice(cut)]);
      expect(out.map((o) => o.msg)).toEqual(['<13>hello', '<14>line two', '<1>']);
    }
  });

  it("splits MikroTik's undelimited stream before each <PRI>", () => {
    const { out } = frames(['<134>Nov 25 10:00:00 r1 a in:<pppoe-x> b<134>Nov 25 10:00:01 r1 c<134>Nov 25 10:00:02 r1 d']);
    expect(out.map((o) => o.msg)).toEqual(['<134>Nov 25 10:00:00 r1 a in:<pppoe-x> b', '<134>Nov 25 10:00:01 r1 c', '<134>Nov 25 10:00:02 r1 d']);
  });

  it('never splits a LF-framed sender at an embedded <PRI>-like text', () => {
    const { out } = frames(['<13>first\n<13>text with <13> inside\n']);
    expect(out.map((o) => o.msg)).toEqual(['<13>first', '<13>text with <13> inside']);
  });

  it('keeps the head of an oversized octet-counted frame and counts the rest', () => {
    const big = 'x'.repeat(5000);
    const { out, discarded } = frames([`${big.length} ${big}`, '4 <1>y'], 1000);
    expect(out[0]).toEqual({ msg: 'x'.repeat(1000), truncated: true });
    expect(out[1]!.msg).toBe('<1>y');
    expect(discarded.oversize_tail).toBe(4000);
  });

  it('keeps the head of an oversized LF frame and resumes at the next line', () => {
    const { out, discarded } = frames(['<1>' + 'y'.repeat(3000), 'z'.repeat(100) + '\n<2>next\n'], 1000);
    expect(out[0]!.truncated).toBe(true);
    expect(out[0]!.msg.length).toBe(1000);
    expect(out[1]!.msg).toBe('<2>next');
    expect(discarded.oversize_tail).toBe(3103 - 1000 + 1);
  });

  it('survives random bytes and lying octet counts without throwing and without unbounded buffering', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256);
    const f = new Framer(512, { frame: () => {}, discard: () => {} });
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(1 + (rnd() % 200));
      for (let j = 0; j < b.length; j++) b[j] = rnd();
      f.push(b);
      expect(f.buffered).toBeLessThanOrEqual(512 + 256);
    }
    f.push(Buffer.from('999999 <13>lies about its length'));
    expect(f.buffered).toBeLessThanOrEqual(512 + 256);
  });
});
