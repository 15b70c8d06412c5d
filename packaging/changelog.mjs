// Print the Debian changelog of the package (native: /usr/share/doc/megalog/changelog.gz) from
// docs/CHANGELOG.md: one entry, for VERSION, with that version's bullets re-wrapped to 78 columns.
// Usage: node packaging/changelog.mjs CHANGELOG.md VERSION "NAME <EMAIL>" RFC2822-DATE
import { readFileSync } from 'node:fs';

const [file, version, maintainer, date] = process.argv.slice(2);
const lines = readFileSync(file, 'utf8').split('\n');
const start = lines.findIndex((l) => l.startsWith(`## ${version}`));
const bullets = [];
if (start >= 0) {
  for (const l of lines.slice(start + 1)) {
    if (l.startsWith('## ')) break;
    if (l.startsWith('- ')) bullets.push(l.slice(2));
    else if (l.trim() && bullets.length) bullets[bullets.length - 1] += ` ${l.trim()}`;
  }
}
// Markdown links keep their text only: their targets are files of the source, not of the package.
for (let i = 0; i < bullets.length; i++) bullets[i] = bullets[i].replace(/\[([^\]]+)\]\([^)]+\)/g, '$1');
if (!bullets.length) bullets.push(`Version ${version}.`);
bullets.push('Every version\'s changes: CHANGELOG.md in the source.');

/** Word-wrap `text` to 78 columns: "  * " before the first line, four spaces before the rest. */
function wrap(text) {
  const out = [];
  let line = '  *';
  for (const word of text.split(/\s+/)) {
    if (line.length + 1 + word.length > 78 && line.trim() !== '*') {
      out.push(line);
      line = '   ';
    }
    line += ` ${word}`;
  }
  return [...out, line].join('\n');
}

console.log(`megalog (${version}) stable; urgency=medium\n\n${bullets.map(wrap).join('\n')}\n\n -- ${maintainer}  ${date}`);
