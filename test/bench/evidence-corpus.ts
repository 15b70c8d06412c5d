// Corpora for the evidence bench (evidence.ts): realistic CGNAT syslog lines of four vendors, parsed by
// the real parser chain into the DayLines the committer would hand to the store.
//
// Traffic: test/bench/mix.ts's TrafficMix (30,000 subscribers paired with 256 public addresses, skewed
// destinations), one connection every ~1 ms (exponential gaps). Not gen.ts's mappings(): its LCG is
// computed in doubles and cycles after 6,310 mappings with only 1,321 distinct subscribers (measured),
// which flatters every scheme that learns from repetition; `--lcg` adds a corpus made with it, to show
// by how much.
//
// Lines:
//   mikrotik-asis  gen.ts mikrotikLine as it is (4 BNGs, each with its own 64 public addresses).
//   mikrotik       the same with what real RouterOS lines vary in besides the mapping: two uplinks
//                  per BNG (ECMP, by destination) and the packet length (SYN 60/52/64; UDP 40–1400);
//                  and 1 % PPPoE session lines (`pppoe,ppp,info` connected / disconnected, account
//                  logged in / out), which give no record: the chain ignores them, the store keeps them.
//   juniper-srx    RT_FLOW_SESSION_CREATE / _CLOSE (fixture text lines, with 0x0 tags) from 2 SRXs:
//                  service name by destination port, protocol number, growing session ids, close reason.
//   cisco-asa      %ASA-6-305011 Built / 305012 Teardown dynamic translation (fixture lines, PRI added
//                  as a network sender sends it) from 2 ASAs: TCP/UDP, duration on teardowns.
//   fortinet       FortiGate traffic close log (the fixture with eventtime in ns, duration and counters),
//                  PRI added: local date/time (UTC−7, as in the fixture), growing session ids, duration,
//                  byte and packet counts, service by port, a MAC per subscriber. Two records a line.
// Fixture lines are used as templates: each value replaced must occur exactly once (else this throws).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configureParsers, parseMessage } from '../../src/parse/chain.js';
import type { DayLine } from '../../src/store/sqlite/dayfile.js';
import { eventCode, ipToDb, protoCode } from '../../src/store/codes.js';
import type { LineRecord } from '../../src/store/line-codec.js';
import { bsdTime, mappings, mikrotikLine, type Mapping } from '../helpers/gen.js';
import { TrafficMix } from './mix.js';

/** Start of the generated lines: a busy morning hour of the bench's day. */
export const T0 = Date.parse('2026-01-15T08:00:00Z');
export const SUBSCRIBERS = 30_000;
export const PUBLICS = 256;

export interface Corpus {
  name: string;
  /** Every line, the day's first ones first (the warm-up share, then the measured share). */
  lines: DayLine[];
  /** Lines before the measured share: they train what a day file learns (dictionary, templates). */
  warm: number;
}

/** One generated message and the mapping it must parse back to (checked), or none (`other`: no record). */
interface Gen {
  text: string;
  device: string;
  m: Mapping;
  other?: boolean;
}

/** test/fixtures/vendors, from test/bench (tsx) or dist/test/bench (compiled), as parse.ts finds it. */
function fixturesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const dirs = [resolve(here, '../fixtures/vendors'), resolve(here, '../../../test/fixtures/vendors'), join(process.cwd(), 'test/fixtures/vendors')];
  const dir = dirs.find((d) => existsSync(d));
  if (!dir) throw new Error('evidence: test/fixtures/vendors not found');
  return dir;
}

/** The fixture line of `file` that contains every one of `marks`. */
function fixtureLine(file: string, ...marks: string[]): string {
  for (const row of readFileSync(join(fixturesDir(), file), 'utf8').split('\n')) {
    if (!row.trim()) continue;
    const line = (JSON.parse(row) as { line: string }).line;
    if (marks.every((m) => line.includes(m))) return line;
  }
  throw new Error(`evidence: no line of ${file} has ${marks.join(' + ')}`);
}

/** A fixture line turned into a template: each [literal, name] is replaced by {name}, exactly once. */
function template(line: string, subs: [string, string][]): (v: Record<string, string | number>) => string {
  let t = line;
  for (const [lit, name] of subs) {
    const at = t.indexOf(lit);
    if (at < 0 || t.indexOf(lit, at + 1) >= 0) throw new Error(`evidence: "${lit}" is not once in the template ${line.slice(0, 80)}…`);
    t = t.slice(0, at) + `{${name}}` + t.slice(at + lit.length);
  }
  const parts = t.split(/\{(\w+)\}/);
  return (v) => {
    let s = parts[0]!;
    for (let i = 1; i < parts.length; i += 2) {
      const x = v[parts[i]!];
      if (x === undefined) throw new Error(`evidence: template value ${parts[i]} missing`);
      s += x + parts[i + 1]!;
    }
    return s;
  };
}

/** mulberry32, for what the templates vary besides the mapping (and the bench's random reads). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The mapping stream: TrafficMix at ~1 ms steps (or gen.ts's mappings() for the `lcg` corpus). */
function* traffic(n: number, seed: number, lcg = false): Generator<Mapping & { sub: number }> {
  if (lcg) {
    for (const m of mappings(n, { start: T0, stepMs: 1, subscribers: SUBSCRIBERS, publics: PUBLICS, seed })) yield { ...m, sub: Number(m.user!.slice(1)) };
    return;
  }
  const mix = new TrafficMix({ subscribers: SUBSCRIBERS, publics: PUBLICS, seed });
  const r = rng(seed ^ 0x5bd1e995);
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += -Math.log(1 - r()); // exponential gaps of mean 1 ms; times in whole ms (some lines share one)
    const m = mix.next(T0 + Math.floor(t));
    yield { ...m, sub: Number(m.user!.slice(1)) };
  }
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

const MK_HOSTS = ['bng1', 'bng2', 'bng3', 'bng4'];
const MK_DEVICES = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];

function* mikrotik(n: number, seed: number, vary: boolean, lcg = false): Generator<Gen> {
  const r = rng(seed);
  for (const m of traffic(n, seed, lcg)) {
    const d = m.sub & 3; // a subscriber's PPPoE session ends on one BNG; each BNG has its own addresses
    let text = mikrotikLine(m, MK_HOSTS[d]);
    if (vary) {
      const up = `sfp-sfpplus${1 + (m.dstIp.charCodeAt(m.dstIp.length - 1) & 1)}`;
      const len = m.proto === 'TCP' ? [60, 60, 60, 52, 52, 64][Math.floor(r() * 6)]! : m.dstPort === 53 ? 40 + Math.floor(r() * 60) : 40 + Math.floor(r() ** 2 * 1360);
      text = text.replace(' out:sfp-sfpplus1,', ` out:${up},`).replace(/, len 60$/, `, len ${len}`);
      if (r() < 0.01) {
        const head = `<134>${bsdTime(m.time)} ${MK_HOSTS[d]} pppoe,ppp,info`;
        const u = r();
        const other = u < 0.25 ? `${head} <pppoe-${m.user}>: connected` : u < 0.5 ? `${head} <pppoe-${m.user}>: disconnected`
          : u < 0.75 ? `${head},account ${m.user} logged in, ${m.srcIp}` : `${head},account ${m.user} logged out, ${Math.floor(r() * 86_400)} ${Math.floor(r() * 1e9)} ${Math.floor(r() * 1e8)}`;
        yield { text: other, device: MK_DEVICES[d]!, m, other: true };
      }
    }
    yield { text, device: MK_DEVICES[d]!, m };
  }
}

function* juniperSrx(n: number, seed: number): Generator<Gen> {
  const subs: [string, string][] = [
    ['Dec 13 13:12:00', 'time'], ['srx-firewall', 'host'],
    ['172.16.0.1/23456->8.8.8.8/443', 'orig'], ['junos-https', 'svc'], ['172.16.0.2/12345->8.8.8.8/443', 'xlat'],
    [' 6 allow-any', 'proto'], ['123456 N/A', 'sid'], ['hu-1/0/0.0', 'ifc'],
  ];
  const create = template(fixtureLine('juniper-srx.jsonl', 'RT_FLOW_SESSION_CREATE: session created', '/443 0x0'), subs);
  const close = template(fixtureLine('juniper-srx.jsonl', 'RT_FLOW_SESSION_CLOSE: session closed idle Timeout', '/443 0x0'), [['idle Timeout', 'reason'], ...subs]);
  const r = rng(seed);
  const sid = [40_000_000, 70_000_000];
  for (const m of traffic(n, seed)) {
    const d = m.sub & 1;
    sid[d] += 1 + Math.floor(r() * 3);
    const udp = m.proto === 'UDP';
    const svc = m.dstPort === 443 ? (udp ? 'junos-udp-443' : 'junos-https') : m.dstPort === 80 ? 'junos-http' : m.dstPort === 53 ? 'junos-dns-udp' : udp ? 'junos-udp-any' : 'junos-tcp-any';
    const v = {
      time: bsdTime(m.time), host: `srx-cgn${d + 1}`,
      orig: `${m.srcIp}/${m.srcPort}->${m.dstIp}/${m.dstPort}`, svc, xlat: `${m.natIp}/${m.natPort}->${m.dstIp}/${m.dstPort}`,
      proto: ` ${udp ? 17 : 6} allow-any`, sid: `${sid[d]} N/A`, ifc: d ? 'reth1.0' : 'reth0.0',
      reason: udp ? 'idle Timeout' : r() < 0.8 ? 'TCP FIN' : 'TCP RST',
    };
    yield { text: r() < 0.55 ? create(v) : close(v), device: d ? '10.1.0.2' : '10.1.0.1', m };
  }
}

function* ciscoAsa(n: number, seed: number): Generator<Gen> {
  const built = template(fixtureLine('cisco-asa.jsonl', 'Apr  2 23:12:15 gateway %ASA-6-305011'), [
    ['Apr  2 23:12:15', 'time'], ['gateway', 'host'], ['TCP', 'proto'], ['management:192.168.1.102/35484', 'inside'], ['220.146.21.68/35484', 'outside'],
  ]);
  const teardown = template(fixtureLine('cisco-asa.jsonl', 'FROTHLY-FW1 %ASA-6-305012'), [
    ['Aug 20 15:18:00', 'time'], ['FROTHLY-FW1', 'host'], ['TCP', 'proto'], ['inside:192.168.9.30/59796', 'inside'], ['192.168.10.18/27952', 'outside'], ['0:00:30', 'duration'],
  ]);
  const r = rng(seed);
  for (const m of traffic(n, seed)) {
    const d = m.sub & 1;
    const secs = Math.floor(r() ** 3 * 3600);
    const v = {
      time: bsdTime(m.time), host: `asa-cgn${d + 1}`, proto: m.proto,
      inside: `inside:${m.srcIp}/${m.srcPort}`, outside: `${m.natIp}/${m.natPort}`,
      duration: `${Math.floor(secs / 3600)}:${pad2(Math.floor(secs / 60) % 60)}:${pad2(secs % 60)}`,
    };
    yield { text: `<166>${r() < 0.5 ? built(v) : teardown(v)}`, device: d ? '10.2.0.2' : '10.2.0.1', m };
  }
}

function* fortinet(n: number, seed: number): Generator<Gen> {
  const line = template(fixtureLine('fortinet.jsonl', 'eventtime=1557790190452146185'), [
    ['date=2019-05-13 time=16:29:50', 'datetime'], ['eventtime=1557790190452146185', 'eventtime'],
    ['srcip=10.1.100.11 srcport=44258', 'src'], ['dstip=185.244.31.158 dstport=80', 'dst'], ['sessionid=381780', 'sid'],
    ['proto=6', 'proto'], ['service="HTTP"', 'service'], ['transip=172.16.200.2 transport=44258', 'xlat'],
    ['duration=5 sentbyte=736 rcvdbyte=3138 sentpkt=14 rcvdpkt=5', 'counts'],
    ['mastersrcmac="a2:e9:00:ec:40:01" srcmac="a2:e9:00:ec:40:01"', 'mac'],
  ]);
  const r = rng(seed);
  let sid = 381_780;
  for (const m of traffic(n, seed)) {
    sid += 1 + Math.floor(r() * 4);
    const local = new Date(m.time - 7 * 3_600_000); // the fixture's device writes UTC−7
    const dur = Math.max(1, Math.floor(r() ** 3 * 600));
    const pkts = 2 + Math.floor(r() ** 2 * 400);
    const back = 1 + Math.floor(pkts * (0.3 + r()));
    const h = (m.sub * 2654435761) >>> 0;
    const mac = `a2:e9:${[h >>> 24, (h >>> 16) & 255, (h >>> 8) & 255, h & 255].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
    const udp = m.proto === 'UDP';
    const v = {
      datetime: `date=${local.getUTCFullYear()}-${pad2(local.getUTCMonth() + 1)}-${pad2(local.getUTCDate())} time=${pad2(local.getUTCHours())}:${pad2(local.getUTCMinutes())}:${pad2(local.getUTCSeconds())}`,
      eventtime: `eventtime=${m.time}${String(Math.floor(r() * 1e6)).padStart(6, '0')}`,
      src: `srcip=${m.srcIp} srcport=${m.srcPort}`, dst: `dstip=${m.dstIp} dstport=${m.dstPort}`, sid: `sessionid=${sid}`,
      proto: `proto=${udp ? 17 : 6}`, service: `service="${m.dstPort === 443 ? (udp ? 'udp/443' : 'HTTPS') : m.dstPort === 80 ? 'HTTP' : m.dstPort === 53 ? 'DNS' : udp ? 'udp/' + m.dstPort : 'tcp/' + m.dstPort}"`,
      xlat: `transip=${m.natIp} transport=${m.natPort}`,
      counts: `duration=${dur} sentbyte=${pkts * (40 + Math.floor(r() * 200))} rcvdbyte=${back * (40 + Math.floor(r() * 1400))} sentpkt=${pkts} rcvdpkt=${back}`,
      mac: `mastersrcmac="${mac}" srcmac="${mac}"`,
    };
    // The log is written at session end: its time is the close; the mapping's time is the close too.
    yield { text: `<189>${line(v)}`, device: '10.3.0.1', m };
  }
}

/**
 * A line's one record as the store keeps it (codes.ts forms, as dayfile.ts makes its nat rows), what
 * the line codec encodes against; null when the line has no record or several (stored whole).
 */
export function lineRecord(l: DayLine, vendor = 1): LineRecord | null {
  if (l.status !== 'records' || l.records.length !== 1) return null;
  const r = l.records[0]!;
  const block = r.nat_port_start != null;
  return {
    t: r.time ?? l.time,
    nat_ip: ipToDb(r.nat_ip),
    nat_port: block ? r.nat_port_start : r.nat_port ?? -1,
    port_end: block ? r.nat_port_end : null,
    src_ip: ipToDb(r.src_ip),
    src_port: r.src_port,
    dst_ip: ipToDb(r.dst_ip),
    dst_port: r.dst_port,
    code: vendor * 65536 + eventCode(r.event) * 1024 + protoCode(r.proto),
  };
}

export const CORPORA = ['mikrotik-asis', 'mikrotik', 'juniper-srx', 'cisco-asa', 'fortinet', 'mikrotik-lcg'] as const;
export type CorpusName = (typeof CORPORA)[number];

/**
 * `warm + n` lines of one corpus, parsed by the parser chain as the committer parses them (latin1 for
 * ASCII payloads, the device's address as the peer). Throws when a line does not parse back to its
 * mapping: the figures would then measure a generator bug.
 */
export function makeCorpus(name: CorpusName, warm: number, n: number, seed = 12345): Corpus {
  configureParsers({ nokia_flow_fields: [] });
  const total = warm + n;
  const gen =
    name === 'mikrotik-asis' ? mikrotik(total, seed, false)
    : name === 'mikrotik' ? mikrotik(total, seed, true)
    : name === 'mikrotik-lcg' ? mikrotik(total, seed, false, true)
    : name === 'juniper-srx' ? juniperSrx(total, seed)
    : name === 'cisco-asa' ? ciscoAsa(total, seed)
    : fortinet(total, seed);
  const lines: DayLine[] = [];
  let end = 0;
  for (const g of gen) {
    if (lines.length === total) break;
    const payload = Buffer.from(g.text, 'latin1');
    const res = parseMessage(g.text, { receivedAt: g.m.time + 500, peer: g.device, device: null, timezone: 'UTC' });
    end += payload.length + 8;
    if (g.other) {
      if (res.kind === 'records') throw new Error(`evidence: ${name} line gave a record: ${g.text}`);
      lines.push({ end, payload, device: g.device, time: res.time ?? g.m.time, status: res.kind, vendor: res.kind === 'ignored' ? res.vendor : null, reason: res.kind === 'ignored' ? res.reason : null, records: [] });
      continue;
    }
    if (res.kind !== 'records') throw new Error(`evidence: ${name} line not parsed (${res.kind}): ${g.text}`);
    const r0 = res.records[0]!;
    if (r0.nat_ip !== g.m.natIp || r0.nat_port !== g.m.natPort || r0.src_ip !== g.m.srcIp) throw new Error(`evidence: ${name} line parsed to another mapping: ${g.text}`);
    lines.push({ end, payload, device: g.device, time: r0.time ?? g.m.time, status: 'records', vendor: res.vendor, reason: null, records: res.records });
  }
  return { name, lines, warm };
}
