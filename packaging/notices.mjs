// Print the bundled npm modules of an installed app as copyright-file lines: name, version, licence
// (from each module's package.json) and where its licence text is. Used by build-deb.sh for
// /usr/share/doc/megalog/copyright. Usage: node packaging/notices.mjs APP_DIR INSTALLED_APP_DIR
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [app, installed] = process.argv.slice(2);
const top = join(app, 'node_modules');

/** Every module directory under node_modules (scoped ones and nested node_modules included), sorted. */
function modules(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    if (name.startsWith('@')) modules(path, out);
    else if (existsSync(join(path, 'package.json'))) {
      out.push(path);
      modules(join(path, 'node_modules'), out);
    }
  }
  return out;
}

for (const path of modules(top)) {
  const pkg = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8'));
  const license = typeof pkg.license === 'string' ? pkg.license : (pkg.license?.type ?? 'see its package.json');
  const text = readdirSync(path).find((f) => /^(licen[cs]e|copying)/i.test(f));
  const where = join(installed, path.slice(app.length + 1), text ?? 'package.json');
  console.log(` ${pkg.name} ${pkg.version}: ${license}, ${where}`);
}
