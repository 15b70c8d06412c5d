// Lists kept as JSON text, a chunk of items a string: what a kept answer holds (search-store.ts) is
// then a few large strings, counted in bytes, not thousands of objects for the garbage collector to
// trace. Built item by item (ChunkWriter: the bulk worker packs its answer as it goes) or from a list.

/** UTF-8 size of a kept string. */
export const byteSize = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Builds JSON-array chunks of `per` items from each item's JSON text (the bulk worker packs its answer with it). */
export class ChunkWriter {
  readonly chunks: string[] = [];
  count = 0;
  private part: string[] = [];
  constructor(private readonly per: number) {}
  push(json: string): void {
    this.part.push(json);
    this.count++;
    if (this.part.length === this.per) this.flush();
  }
  finish(): string[] {
    if (this.part.length) this.flush();
    return this.chunks;
  }
  private flush(): void {
    this.chunks.push(`[${this.part.join(',')}]`);
    this.part = [];
  }
}

/** Items kept as JSON-array chunks of `per` items each; read back as new objects, a chunk at a time. */
export class JsonChunks<T> {
  private chunkBytes: number[];
  private total: number;
  constructor(
    private readonly chunks: string[],
    readonly length: number,
    readonly per: number,
  ) {
    this.chunkBytes = chunks.map(byteSize);
    this.total = this.chunkBytes.reduce((a, b) => a + b, 0);
  }
  static of<T>(list: readonly T[], per: number): JsonChunks<T> {
    const w = new ChunkWriter(per);
    for (const x of list) w.push(JSON.stringify(x));
    return new JsonChunks<T>(w.finish(), list.length, per);
  }
  get bytes(): number {
    return this.total;
  }
  get chunkCount(): number {
    return this.chunks.length;
  }
  /** The items of chunk `k`. */
  chunk(k: number): T[] {
    return k >= 0 && k < this.chunks.length ? (JSON.parse(this.chunks[k]!) as T[]) : [];
  }
  /** Items [from, to). */
  slice(from: number, to: number): T[] {
    const lo = Math.max(0, Math.floor(from));
    const hi = Math.min(this.length, Math.floor(to));
    const out: T[] = [];
    for (let k = Math.floor(lo / this.per); k * this.per < hi; k++) {
      this.chunk(k).forEach((x, j) => {
        const i = k * this.per + j;
        if (i >= lo && i < hi) out.push(x);
      });
    }
    return out;
  }
  /** Replace chunk `k`'s items. */
  replace(k: number, items: readonly T[]): void {
    const s = JSON.stringify(items);
    const size = byteSize(s);
    this.total += size - this.chunkBytes[k]!;
    this.chunkBytes[k] = size;
    this.chunks[k] = s;
  }
}
