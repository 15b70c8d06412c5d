// Where templates/ and static/ live: the package root, found by walking up from this file
// (src/web/ under vitest, dist/src/web/ once compiled, /usr/lib/megalog/... when packaged).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'templates', 'base.njk')) && existsSync(join(dir, 'static'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the templates/ and static/ folders above src/web');
}

export const PACKAGE_ROOT = findRoot();
export const TEMPLATES_DIR = join(PACKAGE_ROOT, 'templates');
export const STATIC_DIR = join(PACKAGE_ROOT, 'static');
