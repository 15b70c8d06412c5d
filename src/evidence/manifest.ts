// The seal manifest: a hash-chained, append-only log of what happened to each day file as evidence
// (sealed with this SHA-256, reopened for late lines, removed by retention). Written by the processor
// only (one writer per hot directory); read by `megalog verify`, the court report and backup.
//
// Format: <cold_storage_dir>/seals.jsonl, UTF-8, one JSON object per line, keys in this order:
//   { seq: 1, 2, 3 …              consecutive
//     event: "seal" | "reopen" | "removed" | "repair"
//     day?: "YYYY-MM-DD"           (not on repair)
//     … event fields: seal    → sha256, bytes, records, lines, sealed_at (ISO 8601 UTC)
//                     reopen  → reason ("late_lines" | "changed_unsealed" | "readonly_unlisted"), lines, at
//                     removed → reason ("retention"), at
//                     repair  → torn_bytes, torn_sha256, kept_in, at
//     prev: hash of the line before ("0" × 64 for the first)
//     hash: SHA-256 (hex) of this line's text up to `,"hash"` closed with `}` }
// Hashing the exact bytes written (not a re-serialisation) means an edited, removed or reordered line
// breaks `hash` or the next line's `prev`. Removing the LAST lines leaves a valid shorter chain: only a
// head recorded elsewhere (verify prints it; backups carry it) shows that.
//
// Durability: a line is appended with one write(2) on an O_APPEND descriptor, then fsynced; the
// manifest is durable when `append` returns. A crash mid-append leaves a last line without its newline
// or its hash: readers report it as torn (never as an entry); the next writer moves those bytes to
// seals.jsonl.torn-<ms>, cuts them off, and appends a `repair` entry naming them, so the cut is itself
// on the chain.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fsyncDir } from '../core/fs.js';

export const MANIFEST_FILE = 'seals.jsonl';
export const GENESIS = '0'.repeat(64);

export interface SealEntry {
  seq: number;
  event: 'seal';
  day: string;
  sha256: string;
  bytes: number;
  records: number;
  lines: number;
  sealed_at: string;
  prev: string;
  hash: string;
}
export interface ReopenEntry {
  seq: number;
  event: 'reopen';
  day: string;
  reason: 'late_lines' | 'changed_unsealed' | 'readonly_unlisted';
  lines: number;
  at: string;
  prev: string;
  hash: string;
}
export interface RemovedEntry {
  seq: number;
  event: 'removed';
  day: string;
  reason: 'retention';
  at: string;
  prev: string;
  hash: string;
}
export interface RepairEntry {
  seq: number;
  event: 'repair';
  torn_bytes: number;
  torn_sha256: string;
  kept_in: string;
  at: string;
  prev: string;
  hash: string;
}
export type ManifestEntry = SealEntry | ReopenEntry | RemovedEntry | RepairEntry;
/** An entry as given to `append`: the writer adds seq, prev and hash. */
export type NewEntry = Omit<SealEntry, 'seq' | 'prev' | 'hash'> | Omit<ReopenEntry, 'seq' | 'prev' | 'hash'> | Omit<RemovedEntry, 'seq' | 'prev' | 'hash'> | Omit<RepairEntry, 'seq' | 'prev' | 'hash'>;

export interface ManifestRead {
  entries: ManifestEntry[];
  /** Chain breaks (edited, removed, reordered or unreadable lines), one sentence each. */
  problems: string[];
  /** Bytes after the last whole line that do not form an entry (a crash mid-append). */
  torn: { offset: number; bytes: number } | null;
  /** Hash of the last entry (GENESIS when empty). */
  head: string;
  /** Byte length of the whole lines. */
  goodBytes: number;
}

const HASH_TAIL = /,"hash":"([0-9a-f]{64})"\}$/;

export function manifestPath(coldDir: string): string {
  return join(coldDir, MANIFEST_FILE);
}

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

/** Read and check the chain; never throws for bad content (a missing file is an empty chain). */
export function readManifest(path: string): ManifestRead {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], problems: [], torn: null, head: GENESIS, goodBytes: 0 };
    throw err;
  }
  return parseManifest(buf);
}

export function parseManifest(buf: Buffer): ManifestRead {
  const entries: ManifestEntry[] = [];
  const problems: string[] = [];
  let prev = GENESIS;
  let offset = 0;
  let lineNo = 0;
  let torn: ManifestRead['torn'] = null;
  while (offset < buf.length) {
    const nl = buf.indexOf(0x0a, offset);
    const end = nl < 0 ? buf.length : nl;
    const text = buf.subarray(offset, end).toString('utf8');
    lineNo++;
    const m = HASH_TAIL.exec(text);
    let e: ManifestEntry | null = null;
    if (m) {
      try {
        e = JSON.parse(text) as ManifestEntry;
      } catch {
        e = null;
      }
    }
    if (nl < 0 || !e || !m) {
      if (nl < 0) {
        // Only the last line can be torn; it is not an entry.
        torn = { offset, bytes: buf.length - offset };
        break;
      }
      problems.push(`line ${lineNo}: not a manifest entry (edited or damaged)`);
      offset = nl + 1;
      continue;
    }
    const body = text.slice(0, m.index) + '}';
    if (sha256(body) !== m[1]) problems.push(`line ${lineNo} (seq ${e.seq}, ${e.event}${'day' in e ? ` ${e.day}` : ''}): hash does not match its content (edited)`);
    if (e.prev !== prev) problems.push(`line ${lineNo} (seq ${e.seq}): prev does not match the line before (a line was removed, inserted or reordered)`);
    if (e.seq !== entries.length + 1 && problems.length === 0) problems.push(`line ${lineNo}: seq ${e.seq} where ${entries.length + 1} was expected`);
    entries.push(e);
    prev = m[1]!;
    offset = nl + 1;
  }
  return { entries, problems, torn, head: prev, goodBytes: torn ? torn.offset : buf.length };
}

/** The latest entry of each day (what the day file must match now). */
export function latestByDay(entries: ManifestEntry[]): Map<string, ManifestEntry> {
  const out = new Map<string, ManifestEntry>();
  for (const e of entries) if ('day' in e) out.set(e.day, e);
  return out;
}

/** The one appender of a manifest. Opening it repairs a torn tail (see the header). */
export class ManifestWriter {
  private readonly fd: number;
  private seq: number;
  head: string;
  readonly entries: ManifestEntry[];
  /** Chain problems found when opening (reported, never rewritten). */
  readonly problems: string[];
  /** Set when opening cut a torn tail: where its bytes were kept. */
  readonly repaired: string | null = null;

  constructor(readonly path: string) {
    const fresh = !existsSync(path);
    const r = readManifest(path);
    this.fd = openSync(path, 'a+', 0o644);
    if (fresh) fsyncDir(join(path, '..'));
    this.entries = r.entries;
    this.problems = r.problems;
    this.head = r.head;
    this.seq = r.entries.length ? r.entries[r.entries.length - 1]!.seq : 0;
    if (r.torn) {
      const buf = readFileSync(path).subarray(r.torn.offset);
      const kept = `${path}.torn-${Date.now()}`;
      writeFileSync(kept, buf);
      const kfd = openSync(kept, 'r');
      fsyncSync(kfd);
      closeSync(kfd);
      ftruncateSync(this.fd, r.torn.offset);
      fsyncSync(this.fd);
      fsyncDir(join(path, '..'));
      this.repaired = kept;
      this.append({ event: 'repair', torn_bytes: buf.length, torn_sha256: sha256(buf), kept_in: basename(kept), at: new Date().toISOString() });
    }
  }

  /** Append one entry, durable on return. On a failed write the file is cut back and the error thrown. */
  append(fields: NewEntry): ManifestEntry {
    const seq = this.seq + 1;
    const body = JSON.stringify({ seq, ...fields, prev: this.head });
    const hash = sha256(body);
    const line = `${body.slice(0, -1)},"hash":"${hash}"}\n`;
    const size = fstatSync(this.fd).size;
    try {
      const buf = Buffer.from(line);
      if (writeSync(this.fd, buf) !== buf.length) throw Object.assign(new Error('short write'), { code: 'EIO' });
      fsyncSync(this.fd);
    } catch (err) {
      try {
        ftruncateSync(this.fd, size);
      } catch {
        /* the reader reports the torn line; the next writer repairs it */
      }
      throw err;
    }
    this.seq = seq;
    this.head = hash;
    const e = JSON.parse(line) as ManifestEntry;
    this.entries.push(e);
    return e;
  }

  close(): void {
    closeSync(this.fd);
  }
}
