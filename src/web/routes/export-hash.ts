// SHA-256 of the day files an answer read, for the court report. Streamed (a day file can be GBs) and
// cached by path, size and mtime: a sealed file never changes, and today's open file gets a new hash
// whenever it has grown. The report says which of the two each file is.
import { stat } from 'node:fs/promises';
import { sha256File } from '../../store/hash.js';

export interface DayHash {
  day: string;
  path: string;
  sha256: string | null;
  bytes: number | null;
  /** Read-only on disk: sealed (its hash is also in the manifest chain). */
  sealed: boolean;
  error: string | null;
}

const cache = new Map<string, string>();
const CACHE_MAX = 400;

export async function dayHashes(days: { day: string; path: string }[]): Promise<DayHash[]> {
  const out: DayHash[] = [];
  for (const d of days) {
    try {
      const st = await stat(d.path);
      const key = `${d.path}|${st.size}|${st.mtimeMs}`;
      let sha = cache.get(key);
      if (!sha) {
        sha = await sha256File(d.path);
        cache.set(key, sha);
        while (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value as string);
      }
      out.push({ day: d.day, path: d.path, sha256: sha, bytes: st.size, sealed: (st.mode & 0o222) === 0, error: null });
    } catch (e) {
      out.push({ day: d.day, path: d.path, sha256: null, bytes: null, sealed: false, error: (e as NodeJS.ErrnoException).code ?? 'error' });
    }
  }
  return out;
}
