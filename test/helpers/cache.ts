// Slow artefacts the scenario lane makes (the .deb, a Debian root) kept between runs on the same
// machine, under ~/.cache/megalog-test/<kind>/<key>/. An entry appears whole (made beside it, then
// renamed) or not at all; each kind keeps its two most recently used entries.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const BASE = join(homedir(), '.cache', 'megalog-test');
const KEEP = 2;

/** The directory of entry `key` of `kind`, filled by `make(dir)` the first time it is asked for. */
export function cached(kind: string, key: string, make: (dir: string) => void): string {
  const parent = join(BASE, kind);
  const dir = join(parent, key);
  if (!existsSync(dir)) {
    const partial = `${dir}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    try {
      make(partial);
    } catch (err) {
      rmSync(partial, { recursive: true, force: true });
      throw err;
    }
    renameSync(partial, dir);
  }
  const now = new Date();
  utimesSync(dir, now, now);
  const entries = readdirSync(parent)
    .filter((n) => !n.includes('.partial-'))
    .map((n) => ({ path: join(parent, n), used: statSync(join(parent, n)).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const old of entries.slice(KEEP)) rmSync(old.path, { recursive: true, force: true });
  return dir;
}
