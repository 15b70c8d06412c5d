// SHA-256 of the day files an answer read, for the court report. A sealed file (read-only, its size
// that of its latest manifest entry) is given the manifest's hash, no rehash: the first report is as
// fast as the next. A day still open has no hash: a file being written changes within seconds and its
// recent commits sit in the WAL beside it, so a hash of it cannot be checked by anyone later; the
// report says when it will be sealed instead. A read-only file that does not match its entry (or has
// none) is hashed and flagged, never given the manifest's hash.
import { stat } from 'node:fs/promises';
import type { Config } from '../../config/load.js';
import { sealDueAt } from '../../evidence/seal.js';
import { sha256File } from '../../core/hash.js';
import { manifestPath, readManifest, type ManifestEntry } from '../../evidence/manifest.js';

export interface DayHash {
  day: string;
  path: string;
  /** Null for a day still open (see the header) or unreadable. */
  sha256: string | null;
  bytes: number | null;
  /** Read-only on disk. */
  sealed: boolean;
  /** ISO time of the seal entry the hash comes from. */
  sealed_at: string | null;
  /** For a day still open: ISO time after which it is sealed. */
  seal_after: string | null;
  /** Where the hash comes from: the manifest, the file itself (flagged in `error`), or none. */
  source: 'manifest' | 'file' | null;
  /** ENOENT…, or seal_mismatch (read-only, differs from its entry), not_in_manifest (read-only, no entry). */
  error: string | null;
}

const cache = new Map<string, string>();
const CACHE_MAX = 400;
let manifestCache: { key: string; latest: Map<string, ManifestEntry>; reopens: Map<string, number> } | null = null;

/** Latest manifest entry per day, re-read only when the manifest grows or changes. */
async function manifestState(coldDir: string): Promise<NonNullable<typeof manifestCache>> {
  const path = manifestPath(coldDir);
  let key = `${path}|none`;
  try {
    const st = await stat(path);
    key = `${path}|${st.size}|${st.mtimeMs}`;
  } catch {
    /* no manifest yet: nothing sealed */
  }
  if (manifestCache?.key === key) return manifestCache;
  const latest = new Map<string, ManifestEntry>();
  const reopens = new Map<string, number>();
  for (const e of readManifest(path).entries) {
    if (!('day' in e)) continue;
    latest.set(e.day, e);
    if (e.event === 'reopen') reopens.set(e.day, (reopens.get(e.day) ?? 0) + 1);
  }
  return (manifestCache = { key, latest, reopens });
}

async function hashOf(path: string, size: number, mtimeMs: number): Promise<string> {
  const key = `${path}|${size}|${mtimeMs}`;
  let sha = cache.get(key);
  if (!sha) {
    sha = await sha256File(path);
    cache.set(key, sha);
    while (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value as string);
  }
  return sha;
}

export async function dayHashes(days: { day: string; path: string }[], coldDir: string, cfg: Pick<Config, 'seal_grace_sec' | 'seal_reopen_delay_sec'>): Promise<DayHash[]> {
  const out: DayHash[] = [];
  const m = await manifestState(coldDir);
  for (const d of days) {
    const base: DayHash = { day: d.day, path: d.path, sha256: null, bytes: null, sealed: false, sealed_at: null, seal_after: null, source: null, error: null };
    if (/^https?:\/\//.test(d.path)) {
      // A ClickHouse day (evidence/row-seal.ts): the hash of its rows from its seal entry; nothing to stat.
      const e = m.latest.get(d.day);
      if (e?.event === 'seal') out.push({ ...base, sha256: e.sha256, bytes: e.bytes, sealed: true, sealed_at: e.sealed_at, source: 'manifest' });
      else out.push({ ...base, seal_after: new Date(sealDueAt(d.day, cfg, e, m.reopens.get(d.day) ?? 0)).toISOString() });
      continue;
    }
    try {
      const st = await stat(d.path);
      const readonly = (st.mode & 0o222) === 0;
      const e = m.latest.get(d.day);
      base.bytes = st.size;
      base.sealed = readonly;
      if (readonly && e?.event === 'seal' && e.bytes === st.size) {
        out.push({ ...base, sha256: e.sha256, sealed_at: e.sealed_at, source: 'manifest' });
      } else if (readonly) {
        out.push({ ...base, sha256: await hashOf(d.path, st.size, st.mtimeMs), source: 'file', error: e?.event === 'seal' ? 'seal_mismatch' : 'not_in_manifest' });
      } else {
        out.push({ ...base, seal_after: new Date(sealDueAt(d.day, cfg, e, m.reopens.get(d.day) ?? 0)).toISOString() });
      }
    } catch (err) {
      out.push({ ...base, error: (err as NodeJS.ErrnoException).code ?? 'error' });
    }
  }
  return out;
}
