// The line codec's keyed words (the subscriber's word at a position of a shape), in memory.
import { MAX_KEYED_WORD_BYTES, type LineRecord } from './types.js';

/**
 * The subscriber's words: (src_ip, shape, word index) → the word, an open-addressing table in typed
 * arrays (a Map keyed by numbers beyond 2^30 hashes doubles and churns the heap). IPv6 sources get a
 * 32-bit id of their own.
 */
export class KeyedWords {
  private bits = 12;
  /**
   * Per slot, side by side (one cache line): src_ip (IPv4) or IPv6 id; shape·512 + index, + 2^21 for
   * an IPv6 id (0: empty; shape ids start at 1); offset of the word in `bytes`; its length.
   */
  private tab = new Uint32Array(4 << 12);
  private readonly v6 = new Map<string, number>();
  size = 0;
  bytes: Buffer = Buffer.allocUnsafe(1 << 16);
  private used = 0;

  /** A record's src_ip as a key: IPv4 value, 2^32 + id for IPv6 (created when `create`), −1 when none. */
  srcOf(src: LineRecord['src_ip'] | bigint, create: boolean): number {
    if (src == null) return -1;
    if (typeof src === 'number') return src >= 0 && src <= 0xffffffff && Number.isInteger(src) ? src : -1;
    if (typeof src === 'bigint') return this.srcOf(Number(src), create);
    if (src.length !== 16) return -1;
    const hex = Buffer.from(src.buffer, src.byteOffset, 16).toString('hex');
    let id = this.v6.get(hex);
    if (id === undefined) {
      if (!create) return -1;
      this.v6.set(hex, (id = this.v6.size));
    }
    return 4_294_967_296 + id;
  }

  /** Index in tab of the key's slot (its own, or the empty one where it would go). */
  private slot(a: number, b: number): number {
    const tab = this.tab;
    const mask = (1 << this.bits) - 1;
    let i = Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b) >>> (32 - this.bits);
    for (;;) {
      const k = tab[i * 4 + 1]!;
      if (k === 0 || (k === b && tab[i * 4] === a)) return i * 4;
      i = (i + 1) & mask;
    }
  }

  /** Where the word is: offset·64 + length in `bytes`, or −1. */
  get(src: number, shape: number, j: number): number {
    if (src < 0) return -1;
    const x = this.slot(src % 4_294_967_296 >>> 0, (src >= 4_294_967_296 ? 2_097_152 : 0) + shape * 512 + j);
    return this.tab[x + 1] === 0 ? -1 : this.tab[x + 2]! * 64 + this.tab[x + 3]!;
  }

  /** Keep buf[s, e) (≤ 63 bytes) as the word; a word already there stays. */
  put(src: number, shape: number, j: number, buf: Uint8Array, s: number, e: number): void {
    if (src < 0 || e - s > MAX_KEYED_WORD_BYTES) return;
    if ((this.size + 1) * 2 > 1 << this.bits) this.grow();
    const a = src % 4_294_967_296 >>> 0;
    const b = (src >= 4_294_967_296 ? 2_097_152 : 0) + shape * 512 + j;
    const x = this.slot(a, b);
    if (this.tab[x + 1] !== 0) return;
    if (this.used + (e - s) > this.bytes.length) {
      const bigger = Buffer.allocUnsafe(this.bytes.length * 2 + (e - s));
      this.bytes.copy(bigger, 0, 0, this.used);
      this.bytes = bigger;
    }
    for (let k = s; k < e; k++) this.bytes[this.used + k - s] = buf[k]!;
    this.tab[x] = a;
    this.tab[x + 1] = b;
    this.tab[x + 2] = this.used;
    this.tab[x + 3] = e - s;
    this.used += e - s;
    this.size++;
  }

  private grow(): void {
    const old = this.tab;
    this.bits++;
    this.tab = new Uint32Array(4 << this.bits);
    for (let x = 0; x < old.length; x += 4) {
      if (old[x + 1] === 0) continue;
      const y = this.slot(old[x]!, old[x + 1]!);
      this.tab[y] = old[x]!;
      this.tab[y + 1] = old[x + 1]!;
      this.tab[y + 2] = old[x + 2]!;
      this.tab[y + 3] = old[x + 3]!;
    }
  }
}
