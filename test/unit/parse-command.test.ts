// `megalog parse` (runParse): one JSON value per input line, in order, with backpressure and a closed reader.
import { PassThrough, Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runParse } from '../../src/commands/parse.js';

const NAT = '<134>Aug 30 18:33:17 LHE-BRAS-01 firewall,info forward: in:<pppoe-P2-musa> out:vlan2436, connection-state:new,snat proto TCP (SYN), 100.68.180.230:35420->99.124.164.160:22, NAT (100.68.180.230:35420->103.125.177.119:35420)->99.124.164.160:22, len 60';
const TWO = '<134>1 2013 Jan 1 00:00:01 192.0.2.1 - - NAT44 - [UserbasedA - 10.0.0.1 Broadband - 100.1.1.1 - 2048 3071][UserbasedW - 10.0.0.2 Broadband - 100.1.1.1 - 3072 4095]';
const ctx = { peer: null, device: null, timezone: 'UTC', now: () => Date.parse('2025-08-30T18:40:00Z') };

async function collect(input: string): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await runParse(Readable.from([input]), out, ctx);
  return Buffer.concat(chunks).toString('utf8');
}

describe('megalog parse', () => {
  it('with --explain says on the side why a line gave null, and stdout stays one value a line', async () => {
    const IGNORED = NAT.replace('connection-state:new,snat', 'connection-state:new').replace(/, NAT \([^)]*\)->[^,]*/, '');
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const why: string[] = [];
    await runParse(Readable.from([`${NAT}\nnot a log\n${IGNORED}\n`]), out, { ...ctx, explain: (m) => why.push(m) });
    expect(Buffer.concat(chunks).toString('utf8').split('\n').slice(0, 3).map((l) => JSON.parse(l) === null)).toEqual([false, true, true]);
    expect(why[0]).toBe('line 2: unparsed: no parser recognised it (it is kept as an unparsed line)');
    expect(why[1]).toMatch(/^line 3: ignored by mikrotik: \w+/);
    expect(why).toHaveLength(2);
  });

  it('writes one JSON value per input line: object, array or null', async () => {
    const text = await collect(`${NAT}\r\n\nnot a log\n${TWO}\n`);
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[0])).toEqual({
      vendor: 'mikrotik', event: 'session_create', proto: 'tcp', src_ip: '100.68.180.230', src_port: 35420,
      nat_ip: '103.125.177.119', nat_port: 35420, dst_ip: '99.124.164.160', dst_port: 22, time: '2025-08-30T18:33:17.000Z', host: 'LHE-BRAS-01', login: 'P2-musa',
    });
    expect(JSON.parse(lines[1])).toBeNull();
    expect(JSON.parse(lines[2])).toBeNull();
    const arr = JSON.parse(lines[3]) as Record<string, unknown>[];
    expect(arr).toHaveLength(2);
    expect(arr[0]).toMatchObject({ nat_port_start: 2048, nat_port_end: 3071, src_port: null, dst_ip: null, login: null });
    expect(arr[0]).not.toHaveProperty('nat_port');
  });

  it('keeps order under backpressure from a slow reader', async () => {
    const n = 2000;
    const input = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? NAT : i % 3 === 1 ? 'junk' : TWO)).join('\n') + '\n';
    const got: string[] = [];
    let pending = '';
    const slow = new Writable({
      highWaterMark: 64,
      write(chunk: Buffer, _enc, cb) {
        pending += chunk.toString('utf8');
        setImmediate(cb);
      },
    });
    await runParse(Readable.from([input]), slow, ctx);
    await new Promise<void>((r) => slow.end(r));
    got.push(...pending.split('\n').filter((l) => l !== ''));
    expect(got).toHaveLength(n);
    got.forEach((l, i) => {
      const v = JSON.parse(l) as unknown;
      if (i % 3 === 0) expect(v).toMatchObject({ vendor: 'mikrotik' });
      else if (i % 3 === 1) expect(v).toBeNull();
      else expect(Array.isArray(v)).toBe(true);
    });
  });

  it('ends quietly when the reader goes away (EPIPE)', async () => {
    let writes = 0;
    const closing = new Writable({
      write(_chunk, _enc, cb) {
        writes++;
        if (writes === 3) {
          const err = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
          cb(err);
          return;
        }
        cb();
      },
    });
    const many = Array.from({ length: 10_000 }, () => NAT).join('\n');
    await expect(runParse(Readable.from([many]), closing, ctx)).resolves.toBeUndefined();
    expect(writes).toBeLessThan(10_000);
  });
});
