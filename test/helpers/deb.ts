// The .deb that packaging/build-deb.sh makes from this checkout, built once for every scenario file
// that needs it (packaging, deb-install) and across runs: the build takes 4–5 min, so it is cached by
// what goes into it, the checkout's files as they are now (committed or not) and the Node.js it bundles.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { cached } from './cache.js';
import { ROOT } from './daemon.js';

/** A hash of every file build-deb.sh may read (not the tests, nor the docs but the changelog) and of the runtime it bundles. */
function checkoutKey(): string {
  const h = createHash('sha256');
  h.update(`${process.version} ${process.arch}\n`);
  const listed = execFileSync('git', ['-C', ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '.', ':!test', ':!docs'], { encoding: 'utf8' });
  for (const path of [...new Set([...listed.split('\0').filter(Boolean), 'docs/CHANGELOG.md'])].sort()) {
    const abs = join(ROOT, path);
    if (!existsSync(abs)) continue; // deleted, not yet committed
    h.update(`\0${path}\0`);
    h.update(lstatSync(abs).isSymbolicLink() ? readlinkSync(abs) : readFileSync(abs));
  }
  return h.digest('hex').slice(0, 16);
}

/** The path of megalog_<version>_<arch>.deb built from this checkout. */
export function builtDeb(): string {
  const dir = cached('deb', checkoutKey(), (out) => {
    execFileSync('bash', [join(ROOT, 'packaging', 'build-deb.sh'), out], { stdio: ['ignore', 'ignore', 'inherit'] });
  });
  const name = readdirSync(dir).find((n) => n.endsWith('.deb'));
  if (!name) throw new Error(`no .deb in ${dir}`);
  return join(dir, name);
}
