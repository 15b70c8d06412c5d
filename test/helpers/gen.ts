// Realistic MikroTik CGNAT syslog lines with known mappings (tests and the benchmark).
const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

let lastMs = NaN;
let lastText = '';

/** BSD timestamp `Mmm dd HH:MM:SS` of `ms`, in UTC. */
export function bsdTime(ms: number): string {
  // Generated lines come in time order, hundreds a second: the last one is usually the answer.
  if (ms === lastMs) return lastText;
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  lastText = `${MON[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  lastMs = ms;
  return lastText;
}

export interface Mapping {
  time: number;
  srcIp: string;
  srcPort: number;
  natIp: string;
  natPort: number;
  dstIp: string;
  dstPort: number;
  proto: 'TCP' | 'UDP';
  user?: string;
  /** Free text put in the log prefix (used to number lines). */
  tag?: string;
}

/** A forward-chain line with the NAT annotation, as ISPs configure RouterOS to log. */
export function mikrotikLine(m: Mapping, host = 'bng1'): string {
  const flags = m.proto === 'TCP' ? ' (SYN)' : '';
  return `<134>${bsdTime(m.time)} ${host} firewall,info ${m.tag ?? 'nat'} forward: in:<pppoe-${m.user ?? 'cliente'}> out:sfp-sfpplus1, connection-state:new,snat proto ${m.proto}${flags}, ${m.srcIp}:${m.srcPort}->${m.dstIp}:${m.dstPort}, NAT (${m.srcIp}:${m.srcPort}->${m.natIp}:${m.natPort})->${m.dstIp}:${m.dstPort}, len 60`;
}

/** Deterministic pseudo-random mappings: `subscribers` inside addresses behind `publics` outside ones. */
export function* mappings(n: number, opts: { start: number; stepMs?: number; subscribers?: number; publics?: number; seed?: number }): Generator<Mapping> {
  let seed = opts.seed ?? 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const subs = opts.subscribers ?? 4000;
  const pubs = opts.publics ?? 64;
  for (let i = 0; i < n; i++) {
    const s = Math.floor(rnd() * subs);
    const pub = s % pubs;
    yield {
      time: opts.start + i * (opts.stepMs ?? 1),
      srcIp: `100.64.${(s >> 8) & 255}.${s & 255}`,
      srcPort: 1024 + Math.floor(rnd() * 64000),
      natIp: `203.0.113.${pub}`,
      natPort: 1024 + Math.floor(rnd() * 64000),
      dstIp: `${[8, 142, 157, 31, 104][i % 5]}.${Math.floor(rnd() * 255)}.${Math.floor(rnd() * 255)}.${1 + Math.floor(rnd() * 250)}`,
      dstPort: rnd() < 0.7 ? 443 : rnd() < 0.5 ? 80 : 53,
      proto: rnd() < 0.85 ? 'TCP' : 'UDP',
      user: `c${s}`,
    };
  }
}
