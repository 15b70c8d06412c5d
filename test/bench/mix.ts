// The bench's traffic mix, fed to test/helpers/gen.ts's mikrotikLine. Not gen.ts's mappings(): its
// LCG is computed in doubles (seed·1103515245 passes 2^53 and loses bits) and cycles after ~6,300
// mappings, which would make every storage and compression figure look far better than real traffic.
// Here: a 32-bit PRNG (mulberry32), subscribers paired with public addresses (as CGNAT pools do),
// popular destinations drawn from a skewed (Zipf-like) set plus a long random tail.
import type { Mapping } from '../helpers/gen.js';

export interface MixOptions {
  subscribers: number;
  publics: number;
  seed: number;
}

export class TrafficMix {
  private s: number;
  private readonly popular: string[];

  constructor(private readonly o: MixOptions) {
    this.s = o.seed >>> 0;
    this.popular = Array.from({ length: 2000 }, () => this.ip(this.pick([8, 13, 20, 31, 34, 52, 104, 142, 151, 157, 172, 185, 216])));
  }

  /** mulberry32: uniform in [0, 1). */
  rnd(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  private int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  private pick<T>(xs: T[]): T {
    return xs[this.int(xs.length)]!;
  }

  private ip(first: number): string {
    return `${first}.${this.int(256)}.${this.int(256)}.${1 + this.int(254)}`;
  }

  /** One new connection at `time`. */
  next(time: number): Mapping {
    const s = this.int(this.o.subscribers);
    const pub = s % this.o.publics;
    const u = this.rnd();
    // 80 % of connections go to a small popular set (skewed towards its head), 20 % anywhere.
    const dstIp = u < 0.8 ? this.popular[Math.floor(this.popular.length * this.rnd() ** 3)]! : this.ip(1 + this.int(223));
    const p = this.rnd();
    const proto = p < 0.8 ? 'TCP' : 'UDP';
    const dstPort = proto === 'UDP' ? (this.rnd() < 0.6 ? 443 : this.rnd() < 0.5 ? 53 : 1024 + this.int(64000)) : this.rnd() < 0.85 ? 443 : this.rnd() < 0.7 ? 80 : 1024 + this.int(64000);
    return {
      time,
      srcIp: `100.${64 + (s >> 16)}.${(s >> 8) & 255}.${s & 255}`,
      srcPort: 1024 + this.int(64512),
      natIp: `203.0.${112 + (pub >> 8)}.${pub & 255}`,
      natPort: 1024 + this.int(64512),
      dstIp,
      dstPort,
      proto,
      user: `c${s}`,
    };
  }
}
