// The addon's UDP reader (native/udp-native.c): real datagrams on loopback come out as spool records
// that the spool's own decoder accepts, byte for byte, with the sender, trimmed like framing.ts's
// trimEnd, empties counted, and nothing the socket held lost at stop.
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { nativeAddon, type UdpHandle } from '../../src/core/native.js';
import { decodeAt, TRANSPORT_CODE } from '../../src/spool/format.js';

const addon = nativeAddon('the UDP reader test');

interface Got {
  records: { origin: string; payload: string; recvMs: number; transport: string }[];
  empties: number;
  origins: Map<string, number>;
  payloadBytes: number;
  done: boolean;
}

function listen(host: string): { handle: UdpHandle; port: number; got: Got; stopped: Promise<void> } {
  const { handle, port, granted } = addon.udpOpen(host, 0, 1 << 20);
  expect(port).toBeGreaterThan(0);
  expect(granted).toBeGreaterThan(0);
  const got: Got = { records: [], empties: 0, origins: new Map(), payloadBytes: 0, done: false };
  let done!: () => void;
  const stopped = new Promise<void>((r) => (done = r));
  addon.udpStart(handle, TRANSPORT_CODE.udp, (chunk, records, empties, _truncated, payloadBytes, origins, counts) => {
    if (chunk === null) {
      got.done = true;
      return done();
    }
    let at = 0;
    for (let i = 0; i < records; i++) {
      const step = decodeAt(chunk, at, chunk.length);
      if (step.kind !== 'record') throw new Error(`record ${i} of ${records}: ${step.kind}`);
      got.records.push({ origin: step.record.origin, payload: step.record.payload.toString('latin1'), recvMs: step.record.recvMs, transport: step.record.transport });
      at = step.next;
    }
    expect(at).toBe(chunk.length);
    got.empties += empties;
    got.payloadBytes += payloadBytes;
    origins.forEach((o, i) => got.origins.set(o, (got.origins.get(o) ?? 0) + counts[i]!));
  });
  return { handle, port, got, stopped };
}

async function send(host: string, port: number, msgs: Buffer[]): Promise<void> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  for (const m of msgs) await new Promise<void>((res, rej) => s.send(m, port, host, (err) => (err ? rej(err) : res())));
  await new Promise<void>((res) => s.close(() => res()));
}

const open: UdpHandle[] = [];
afterEach(() => {
  for (const h of open.splice(0)) addon.udpStop(h);
});

describe('native UDP reader', () => {
  it('turns datagrams into valid spool records: payload trimmed, sender kept, empties counted, nothing lost at stop', async () => {
    const l = listen('127.0.0.1');
    const big = Buffer.alloc(60_000, 'x');
    const msgs = [
      Buffer.from('<134>first line\n'),
      Buffer.from('<134>crlf and nul\r\n\0'),
      Buffer.from('\n\r\0'), // empty once trimmed
      Buffer.from(' keeps leading and inner\nbytes\xff', 'latin1'),
      big,
      ...Array.from({ length: 300 }, (_, i) => Buffer.from(`<134>burst ${i}`)),
    ];
    const before = Date.now();
    await send('127.0.0.1', l.port, msgs);
    addon.udpStop(l.handle); // at once: what the socket holds is still read
    await l.stopped;
    expect(l.got.done).toBe(true);
    expect(l.got.empties).toBe(1);
    expect(l.got.records.map((r) => r.payload)).toEqual([
      '<134>first line',
      '<134>crlf and nul',
      ' keeps leading and inner\nbytes\xff',
      big.toString('latin1'),
      ...Array.from({ length: 300 }, (_, i) => `<134>burst ${i}`),
    ]);
    expect(l.got.payloadBytes).toBe(l.got.records.reduce((n, r) => n + r.payload.length, 0));
    for (const r of l.got.records) {
      expect(r.origin).toBe('127.0.0.1');
      expect(r.transport).toBe('udp');
      expect(r.recvMs).toBeGreaterThanOrEqual(before - 1);
      expect(r.recvMs).toBeLessThanOrEqual(Date.now());
    }
    expect(l.got.origins.get('127.0.0.1')).toBe(304);
  });

  it('listens on IPv6 and names the sender as Node does', async () => {
    const l = listen('::1');
    open.push(l.handle);
    await send('::1', l.port, [Buffer.from('<13>v6 line')]);
    for (let i = 0; i < 100 && l.got.records.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(l.got.records).toMatchObject([{ origin: '::1', payload: '<13>v6 line' }]);
  });

  it('reports a taken port as EADDRINUSE and a bad host as a type error', () => {
    const a = addon.udpOpen('127.0.0.1', 0, 0);
    open.push(a.handle);
    expect(() => addon.udpOpen('127.0.0.1', a.port, 0)).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
    expect(() => addon.udpOpen('not-an-address', 0, 0)).toThrow(TypeError);
    expect(() => addon.udpOpen('127.0.0.1', 70_000, 0)).toThrow(TypeError);
  });
});
